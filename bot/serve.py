"""Running the bot by long polling or by webhook: as the process (`run`, for `python -m bot`)
or inside an existing event loop (`running`, for tests, the demo and the benchmark).

Both keep python-telegram-bot's Updater (it feeds the DurableUpdateQueue, bot/intake.py) and its
shutdown order: on SIGTERM the Updater stops taking updates, then `Application.stop()` waits for
every queued update and every handler task (searches in flight) before the process exits.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlparse

from telegram import Update
from telegram.error import TelegramError

from engine.settings import Settings
from bot.ptb import BotApplication

logger = logging.getLogger(__name__)

Mode = Literal["polling", "webhook"]
WEBHOOK_PATH = "telegram"


class WebhookConfigError(ValueError):
    """Webhook mode is asked for without what it needs (the message says what to set)."""


class QuietNetworkErrors:
    """Polling's error callback: one WARNING line when Telegram becomes unreachable, no tracebacks;
    repeats of the same outage go to DEBUG until `quiet_after` seconds pass without errors."""

    def __init__(self, quiet_after: float = 60.0) -> None:
        self.quiet_after = quiet_after
        self._last_error = -float("inf")
        self.warnings = 0

    def __call__(self, error: TelegramError) -> None:
        now = time.monotonic()
        if now - self._last_error > self.quiet_after:
            self.warnings += 1
            logger.warning("Telegram is unreachable (%s); retrying quietly", error)
        else:
            logger.debug("still unreachable: %s", error)
        self._last_error = now


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (for local webhook tests)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def webhook_path(url: str) -> str:
    """The URL's path without the leading slash (what PTB's webhook server routes)."""
    return urlparse(url).path.lstrip("/")


def run(app: BotApplication, settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM: webhook mode when DOPE_WEBHOOK_URL is set, else long polling."""
    if not settings.webhook_url:
        # Not run_polling: it has no error callback, and PTB's default logs a traceback per failed poll.
        asyncio.run(serve_until_signalled(app))
        return
    if settings.webhook_secret is None:
        raise WebhookConfigError("DOPE_WEBHOOK_SECRET must be set in webhook mode (A-Z a-z 0-9 _ -, up to 256)")
    app.run_webhook(
        listen=settings.webhook_listen, port=settings.webhook_port, url_path=webhook_path(settings.webhook_url),
        webhook_url=settings.webhook_url, secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=Update.ALL_TYPES,
    )


async def serve_until_signalled(app: BotApplication, **options: Any) -> None:
    """Poll (or `running`'s other options) until SIGINT or SIGTERM, then drain and return."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(app, **options):
        await stop.wait()
        logger.info("stopping: no new updates; finishing the ones in flight")
    logger.info("stopped")


@asynccontextmanager
async def running(app: BotApplication, *, mode: Mode = "polling", poll_interval: float = 0.0,
                  timeout: int = 10, webhook_secret: str = "local-webhook-secret",
                  listen: str = "127.0.0.1") -> AsyncIterator[BotApplication]:
    """Run the application inside an existing event loop, polling or receiving webhooks on `listen`.

    Mirrors `run_polling`/`run_webhook`'s order, including post_init/post_shutdown.
    """
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        if mode == "webhook":
            port = free_port(listen)
            await app.updater.start_webhook(
                listen=listen, port=port, url_path=WEBHOOK_PATH, webhook_url=f"http://{listen}:{port}/{WEBHOOK_PATH}",
                secret_token=webhook_secret, allowed_updates=Update.ALL_TYPES)
        else:
            await app.updater.start_polling(poll_interval=poll_interval, timeout=timeout,
                                            allowed_updates=Update.ALL_TYPES, error_callback=QuietNetworkErrors())
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()  # drains: queued updates and handler tasks finish first
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
