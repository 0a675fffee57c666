"""Webhook delivery like Telegram's: after setWebhook, every update is POSTed as JSON to the URL.

Each request carries ``X-Telegram-Bot-Api-Secret-Token`` when the bot set a secret_token. An
update counts as delivered (and is dropped) only on a 2xx answer; otherwise it stays queued and
is retried after a short back-off, and getWebhookInfo reports ``last_error_message``. At most
``max_connections`` requests are in flight at once. Unlike Telegram, plain ``http://`` URLs are
accepted, since the emulator only ever talks to 127.0.0.1 (in production a reverse proxy
terminates HTTPS, see README).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from bot.emulator.state import EmulatorState, WebhookConfig

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_SECONDS = (0.05, 0.2, 0.5, 1.0)  # back-off after consecutive failures (Telegram's is longer)


class WebhookDelivery:
    """Runs while a webhook is set: pushes queued updates to it, oldest first."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: set[int] = set()

    def start(self) -> None:
        """Start the delivery loop (it idles while no webhook is set)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="emulator-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _pending(self, config: WebhookConfig) -> list[dict[str, Any]]:
        allowed = config.allowed_updates
        return [u for u in self.state.updates if u["update_id"] not in self._in_flight
                and (not allowed or set(u) & set(allowed))]

    def _ready(self) -> bool:
        config = self.state.webhook
        return (config is not None and len(self._in_flight) < config.max_connections
                and bool(self._pending(config)))

    async def _run(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self.state.closing:
                await self.state.wait_until(self._ready, timeout=1.0)
                config = self.state.webhook
                if config is None or self.state.closing:
                    continue
                for update in self._pending(config)[: max(0, config.max_connections - len(self._in_flight))]:
                    self._in_flight.add(update["update_id"])
                    task = asyncio.create_task(self._deliver(config, update))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if config.failures:
                    await asyncio.sleep(RETRY_SECONDS[min(config.failures, len(RETRY_SECONDS)) - 1])
        finally:
            for task in tasks:
                task.cancel()

    async def _deliver(self, config: WebhookConfig, update: dict[str, Any]) -> None:
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        assert self._session is not None
        try:
            async with self._session.post(config.url, json=update, headers=headers) as response:
                ok, error = 200 <= response.status < 300, f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            ok, error = False, f"Connection failed: {exc.__class__.__name__}"
        finally:
            self._in_flight.discard(update["update_id"])
        if ok:
            config.delivered += 1
            config.failures = 0
            self.state.updates = [u for u in self.state.updates if u["update_id"] != update["update_id"]]
        else:
            config.failures += 1
            config.last_error_date, config.last_error_message = int(time.time()), error
            logger.info("webhook delivery of update %s failed: %s", update["update_id"], error)
        await self.state.notify()
