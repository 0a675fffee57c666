"""The HTTP face of the emulator: an aiohttp server speaking the Bot API on 127.0.0.1.

It runs inside the caller's event loop::

    async with BotApiEmulator(token=TOKEN) as emu:
        app = ApplicationBuilder().token(TOKEN).base_url(emu.base_url).base_file_url(emu.base_file_url)...
        alice = emu.user(1001, first_name="Alice")

Routes: ``/bot{token}/{method}`` (GET or POST), file downloads at ``/file/bot{token}/{file_path}``,
and the web chat (``/``, ``/static/``, ``/webchat/api/...``).
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.emulator.client import FakeUser
from bot.emulator.flood import GLOBAL_ONLY_METHODS, MESSAGE_METHODS, FloodControl, FloodLimits
from bot.emulator.limits import ApiError
from bot.emulator import methods_bot, methods_media, methods_messages, webchat
from bot.emulator.params import read_params
from bot.emulator.state import EmulatorState
from bot.emulator.webhook import WebhookDelivery

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:EMULATOR-TOKEN"
STATIC_DIR = Path(__file__).parent / "static"
# Uploads up to Telegram's 50 MB bot limit plus multipart overhead.
MAX_REQUEST_BYTES = 60 * 1024 * 1024

METHODS: dict[str, methods_bot.Method] = {
    **methods_bot.METHODS, **methods_messages.METHODS, **methods_media.METHODS,
}


class BotApiEmulator:
    """A local Telegram Bot API for one bot token, plus the users who talk to it."""

    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 bot_first_name: str = "Dope or Nope", bot_username: str | None = None,
                 flood_limits: FloodLimits | None = FloodLimits()):
        """``flood_limits=None`` turns Telegram's flood control off (for tests of other limits)."""
        self.token = token
        self.host = host
        self.port = port
        self.state = EmulatorState(token, bot_first_name, bot_username)
        self._users: dict[int, FakeUser] = {}
        self.flood = FloodControl(flood_limits) if flood_limits is not None else None
        self.webhook = WebhookDelivery(self.state)
        self.calls: Counter[str] = Counter()  # Bot API calls by lower-case method name (benchmarks)
        self.outage = False  # True: every Bot API call answers 502, as during a Telegram outage
        self.outage_refusals = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; with port 0 the OS picks a free port (read it from ``base_url``)."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_download)
        webchat.add_routes(app, self)
        app.router.add_static("/static/", STATIC_DIR)
        # Short shutdown: a bot's pending long poll is released by ``closing`` anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.webhook.start()
        logger.info("Bot API emulator listening on http://%s:%s/", self.host, self.port)

    async def stop(self) -> None:
        """Release long polls and waiters, then close the server."""
        self.state.closing = True
        await self.state.notify()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "BotApiEmulator":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- what tests use --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Root URL (the web chat page)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url()``; PTB appends the token."""
        return f"{self.url}/file/bot"

    @property
    def unknown_methods(self) -> list[str]:
        """Methods the bot called that the emulator lacks; a test should assert this is empty."""
        return self.state.unknown_methods

    @property
    def flood_rejections(self) -> list[tuple[str, str | None, int]]:
        """Every 429 the emulator answered: (method, chat_id, retry_after); tests assert it stays empty."""
        return self.flood.rejected if self.flood is not None else []

    def user(self, user_id: int, first_name: str = "Test", username: str | None = None,
             language_code: str = "en") -> FakeUser:
        """The user with this id (created with a private chat on first use)."""
        if user_id not in self._users:
            self.state.register_user(user_id, first_name, username, language_code)
            self._users[user_id] = FakeUser(self.state, self.state.users[user_id])
        return self._users[user_id]

    def file_bytes(self, file_id: str) -> bytes:
        """The stored bytes behind a file_id (any PhotoSize, document, ...)."""
        return self.state.file(file_id).data

    def add_file(self, data: bytes = b"", *, declared_size: int | None = None, file_name: str = "big.bin",
                 mime_type: str = "application/octet-stream") -> str:
        """Store a document without sending it; ``declared_size`` fakes e.g. a >20 MB file cheaply."""
        record = self.state.add_file(data, "document", file_name.rsplit(".", 1)[-1], mime_type,
                                     file_name, declared_size)
        return record.file_id

    # -- HTTP handlers ---------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json(ApiError("Unauthorized", 401).to_json(), 401)
        if self.outage:
            self.outage_refusals += 1
            await self.state.notify()
            return _json(ApiError("Bad Gateway", 502).to_json(), 502)
        name = request.match_info["method"]
        method = METHODS.get(name.lower())
        if method is None:
            self.state.unknown_methods.append(name)
            logger.warning("Bot called %s, which the emulator does not implement", name)
            error = ApiError(f"Bad Request: method {name} is not implemented by the emulator")
            return _json(error.to_json(), 400)
        self.calls[name.lower()] += 1
        try:
            params = await read_params(request)
            self._check_blocked(name.lower(), params.values.get("chat_id"))
            if self.flood is not None:
                self.flood.check(name, params.values.get("chat_id"))
            result = await method(self.state, params)
        except ApiError as error:
            logger.info("%s -> %s %s", name, error.error_code, error.description)
            return _json(error.to_json(), error.error_code)
        except Exception as error:  # an emulator bug: answer in Bot API shape so the bot logs it
            logger.exception("Emulator failed on %s", name)
            return _json(ApiError(f"Internal Server Error: {error!r}", 500).to_json(), 500)
        finally:
            await self.state.notify()
        return _json({"ok": True, "result": result})

    def _check_blocked(self, method: str, chat_id: object) -> None:
        if method not in MESSAGE_METHODS and method not in GLOBAL_ONLY_METHODS:
            return
        try:
            blocked = int(str(chat_id)) in self.state.blocked
        except ValueError:
            return
        if blocked:
            raise ApiError("Forbidden: bot was blocked by the user", 403)

    async def _handle_download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json(ApiError("Unauthorized", 401).to_json(), 401)
        record = self.state.file_by_path(request.match_info["file_path"])
        if record is None:
            return _json(ApiError("Not Found", 404).to_json(), 404)
        return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json")
