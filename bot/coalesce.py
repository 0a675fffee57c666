"""Coalesced keyboard edits: at most one edit in flight per message.

Five quick presses on one vote keyboard become one edit instead of five: an edit waits until no
press came for `delay` seconds (at most `max_wait` after the first; each press itself is answered
at once, so nobody waits for the tick), and presses meanwhile fold into it. While an edit is in
flight, later requests only mark the message dirty, and one more edit follows that renders the
newest state (the edit function reads it from the database when it runs).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from telegram.error import TelegramError

logger = logging.getLogger(__name__)

Edit = Callable[[], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None]], Any]


class EditCoalescer:
    """`request(key, edit, spawn)`: run `edit` soon, folding requests that arrive meanwhile."""

    def __init__(self, delay: float = 0.0, max_wait: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.max_wait = max_wait
        self.clock = clock
        self._last_request: dict[Hashable, float] = {}
        self._latest: dict[Hashable, Edit] = {}
        self._dirty: dict[Hashable, bool] = {}
        self.edits_run = 0
        self.requests = 0

    def request(self, key: Hashable, edit: Edit, spawn: Spawn) -> None:
        """Schedule `edit` for `key` (a message); spawn starts a task (e.g. Application.create_task)."""
        self.requests += 1
        self._latest[key] = edit
        self._last_request[key] = self.clock()
        if key in self._dirty:
            self._dirty[key] = True
            return
        self._dirty[key] = False
        spawn(self._run(key))

    def pending(self) -> int:
        return len(self._dirty)

    async def _run(self, key: Hashable) -> None:
        try:
            while True:
                await self._quiet(key)
                self._dirty[key] = False
                self.edits_run += 1
                try:
                    await self._latest[key]()
                except TelegramError:  # cosmetic: the vote is stored; the next press redraws it
                    logger.warning("keyboard edit for %s failed", key, exc_info=True)
                if not self._dirty[key]:
                    return
        finally:
            self._dirty.pop(key, None)
            self._latest.pop(key, None)
            self._last_request.pop(key, None)

    async def _quiet(self, key: Hashable) -> None:
        """Wait until `delay` passed since the last request for `key` (or `max_wait` since now)."""
        give_up = self.clock() + self.max_wait
        while self.delay > 0:
            wake = min(self._last_request[key] + self.delay, give_up)
            if wake <= self.clock():
                return
            await asyncio.sleep(wake - self.clock())
