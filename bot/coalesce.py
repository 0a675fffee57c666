"""Coalesced keyboard edits: at most one edit in flight per message.

Five quick presses on one vote keyboard become one or two edits instead of five: while an edit
is in flight, later requests only mark the message dirty, and one more edit follows that renders
the newest state (the edit function reads it from the database when it runs).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from telegram.error import TelegramError

logger = logging.getLogger(__name__)

Edit = Callable[[], Awaitable[None]]
Spawn = Callable[[Coroutine[Any, Any, None]], Any]


class EditCoalescer:
    """`request(key, edit, spawn)`: run `edit` soon, folding requests that arrive meanwhile."""

    def __init__(self) -> None:
        self._latest: dict[Hashable, Edit] = {}
        self._dirty: dict[Hashable, bool] = {}
        self.edits_run = 0
        self.requests = 0

    def request(self, key: Hashable, edit: Edit, spawn: Spawn) -> None:
        """Schedule `edit` for `key` (a message); spawn starts a task (e.g. Application.create_task)."""
        self.requests += 1
        self._latest[key] = edit
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
