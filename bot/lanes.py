"""Per-user lanes: one search at a time per user, the next few wait their turn in order.

A user's photos are searched one after another (FIFO: asyncio.Lock wakes waiters in order), so
a second photo waits instead of being refused. A flood beyond `max_queued` photos (running
plus waiting) is refused: the first refused photo of a flood gets one polite "slow down", the
rest are dropped silently, and other users never wait behind it.
"""
from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class Admission(enum.Enum):
    ADMITTED = "admitted"
    REFUSED_WARN = "refused, say slow down"
    REFUSED_SILENT = "refused, already warned"


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0  # running + waiting
    warned: bool = False


class UserLanes:
    """`admit` (no await in between!) then `async with turn(user_id)`."""

    def __init__(self, max_queued: int = 3) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self.max_queued = max_queued
        self._lanes: dict[int, _Lane] = {}

    def admit(self, user_id: int) -> Admission:
        """Reserve a place in the user's lane, or say how to refuse."""
        lane = self._lanes.setdefault(user_id, _Lane())
        if lane.queued >= self.max_queued:
            if lane.warned:
                return Admission.REFUSED_SILENT
            lane.warned = True
            return Admission.REFUSED_WARN
        lane.queued += 1
        return Admission.ADMITTED

    def queued(self, user_id: int) -> int:
        lane = self._lanes.get(user_id)
        return lane.queued if lane else 0

    @asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        """Wait for the user's earlier admitted photos, then run; frees the place on exit."""
        lane = self._lanes[user_id]
        try:
            async with lane.lock:
                yield
        finally:
            lane.queued -= 1
            if lane.queued == 0:
                del self._lanes[user_id]  # an empty lane: the next flood gets a fresh warning
