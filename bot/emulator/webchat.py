"""JSON endpoints behind the web chat page: a browser acting as a Telegram user.

Every endpoint goes through the same FakeUser the tests use, so the demo exercises the exact
code path of the test suite. Endpoints (all under ``/webchat/api/``):

- ``GET  info``                               bot identity and command menu
- ``POST send_text``   {user_id, first_name?, text}
- ``POST send_photo``  multipart: user_id, first_name?, caption?, one or more ``photo`` parts
- ``POST press``       {user_id, message_id, callback_data}
- ``GET  messages?chat_id=&after=&timeout=`` long poll: the whole chat once its version > after
- ``GET  file/{file_id}``                     the stored bytes of any file
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bot.emulator.limits import ApiError

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

logger = logging.getLogger(__name__)

PAGE = Path(__file__).parent / "static" / "webchat.html"
MAX_POLL_SECONDS = 25


def add_routes(app: web.Application, emu: "BotApiEmulator") -> None:
    """Mount the page and its API on the emulator's aiohttp app."""
    api = _WebChatApi(emu)
    app.router.add_get("/", api.page)
    app.router.add_get("/webchat/api/info", api.info)
    app.router.add_post("/webchat/api/send_text", api.send_text)
    app.router.add_post("/webchat/api/send_photo", api.send_photo)
    app.router.add_post("/webchat/api/press", api.press)
    app.router.add_get("/webchat/api/messages", api.messages)
    app.router.add_get("/webchat/api/file/{file_id}", api.file)


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


class _WebChatApi:
    """Handlers; each turns browser input into a FakeUser call."""

    def __init__(self, emu: "BotApiEmulator"):
        self.emu = emu

    def _user(self, values: Any) -> Any:
        user_id = int(values["user_id"])
        return self.emu.user(user_id, first_name=str(values.get("first_name") or "Web user"))

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGE)

    async def info(self, request: web.Request) -> web.Response:
        commands = next(iter(self.emu.state.commands.values()), [])
        return web.json_response({"bot": self.emu.state.bot_user, "commands": commands})

    async def send_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            message = await self._user(body).send_text(str(body.get("text", "")))
        except (KeyError, ValueError, ApiError) as error:
            return _error(str(error))
        return web.json_response({"ok": True, "message": message})

    async def send_photo(self, request: web.Request) -> web.Response:
        fields, photos = await _read_form(request)
        if not photos:
            return _error("no photo in the request")
        try:
            user = self._user(fields)
            caption = fields.get("caption") or None
            if len(photos) == 1:
                sent = [await user.send_photo(photos[0], caption=caption)]
            else:
                sent = await user.send_album(photos[:10], caption=caption)
        except (KeyError, ValueError, ApiError) as error:
            return _error(getattr(error, "description", str(error)))
        return web.json_response({"ok": True, "messages": sent})

    async def press(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            pressed = await self._user(body).press(int(body["message_id"]), str(body["callback_data"]))
        except (KeyError, ValueError, LookupError) as error:
            return _error(str(error))
        return web.json_response({"ok": True, "callback_query_id": pressed.id})

    async def messages(self, request: web.Request) -> web.Response:
        try:
            chat_id = int(request.query["chat_id"])
            after = int(request.query.get("after", -1))
            timeout = min(float(request.query.get("timeout", 0)), MAX_POLL_SECONDS)
        except (KeyError, ValueError):
            return _error("chat_id (int), after (int) and timeout (seconds) expected")
        record = self.emu.state.chats.get(chat_id)
        if record is None:
            return web.json_response({"version": 0, "messages": [], "callback_answer": None})
        if record.version <= after and timeout > 0:
            await self.emu.state.wait_until(lambda: record.version > after, timeout)
        user = self.emu.user(chat_id)
        messages = [{**m, "from_bot": self.emu.state.is_from_bot(m), "deleted": m["message_id"] in record.deleted}
                    for m in record.messages]
        return web.json_response({"version": record.version, "messages": messages,
                                  "callback_answer": user.last_callback_answer}, dumps=_dumps)

    async def file(self, request: web.Request) -> web.Response:
        try:
            record = self.emu.state.file(request.match_info["file_id"])
        except ApiError:
            return _error("unknown file_id", 404)
        return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[bytes]]:
    """Text fields and the bytes of every ``photo`` part of a multipart form."""
    fields: dict[str, str] = {}
    photos: list[bytes] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read(decode=True)
        if part.name == "photo" and part.filename is not None:
            photos.append(bytes(data))
        elif part.name:
            fields[part.name] = data.decode("utf-8")
    return fields, photos
