"""GET /healthz for a load balancer or orchestrator: 200 while the bot serves, 503 otherwise.

A small aiohttp server on its own port (python-telegram-bot's webhook server has no room for
extra routes). The body says why: `starting`, `ok`, or `draining` (SIGTERM: no new updates are
taken, searches in flight finish), with the number of updates still pending in the inbox.
"""
from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.intake import DurableUpdateQueue
from bot.ptb import BotApplication

logger = logging.getLogger(__name__)


class HealthServer:
    """Serves /healthz about one Application."""

    def __init__(self, app: BotApplication, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_get("/healthz", self.healthz)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        logger.info("health check on http://%s:%s/healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def state(self) -> dict[str, Any]:
        """What /healthz reports."""
        queue = self.app.update_queue
        status = "ok" if self.app.running else ("draining" if self.app.bot_data.get("started") else "starting")
        body: dict[str, Any] = {"status": status, "queued_updates": queue.qsize()}
        if isinstance(queue, DurableUpdateQueue) and queue.inbox is not None:
            body["inbox"] = await queue.inbox.counts()
        return body

    async def healthz(self, request: web.Request) -> web.Response:
        body = await self.state()
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)
