"""Pacing outgoing Bot API calls under Telegram's flood limits, so that 429s do not happen.

Telegram allows about 1 message per second in one chat (short bursts tolerated) and about 30
per second over all chats. `TelegramPacer` (a python-telegram-bot rate limiter) schedules every
call that sends or edits a message through two GCRA buckets: first its chat's, then (once that
slot has come) the bot's, in the order the calls became due, so a busy chat delays only itself. Chat
actions ("sending photo…") are cosmetic: they go out only if the bot-wide budget has room now,
and are dropped otherwise. Keyboard edits yield to replies waiting for a bot-wide slot. Answers to
button presses are not messages and are never delayed.
If Telegram still answers 429, the call waits `retry_after` and is retried.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

MESSAGE_ENDPOINTS = frozenset({
    "sendmessage", "sendphoto", "senddocument", "sendmediagroup", "sendanimation", "sendvideo",
    "sendaudio", "sendvoice", "sendsticker", "copymessage", "forwardmessage",
    "editmessagetext", "editmessagecaption", "editmessagereplymarkup", "editmessagemedia",
})
COSMETIC_ENDPOINTS = frozenset({"sendchataction"})
# Keyboard ticks can wait: while replies (albums, keyboards, texts) wait for a bot-wide slot, these
# yield to them, so a flood of vote presses never delays anyone's search results.
DEFERRABLE_ENDPOINTS = frozenset({"editmessagereplymarkup"})
_MAX_RETRIES = 3
_MAX_CHATS = 10_000  # idle chat buckets are forgotten beyond this many


@dataclass(frozen=True)
class PacerLimits:
    """Kept a little under Telegram's numbers: requests reach Telegram a bit after they leave."""

    chat_rate: float = 0.9
    chat_burst: int = 6
    global_rate: float = 27.0
    global_burst: int = 25


class Gcra:
    """Generic cell rate algorithm: a token bucket kept as one "theoretical arrival time"."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.tat = 0.0

    def earliest(self, now: float) -> float:
        """When the next call may go (now or later)."""
        return max(now, self.tat - self.tolerance)

    def reserve(self, at: float) -> None:
        """Book a call at time `at` (never earlier than `earliest`)."""
        self.tat = max(self.tat, at) + self.interval


class TelegramPacer(BaseRateLimiter[None]):
    """Per-chat and global pacing of message calls; see the module docstring."""

    def __init__(self, limits: PacerLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or PacerLimits()
        self.clock = clock
        self._global = Gcra(self.limits.global_rate, self.limits.global_burst)
        self._chats: dict[str, Gcra] = {}
        self.skipped_actions = 0
        self.retries = 0
        self._urgent_waiting = 0  # replies sleeping for a bot-wide slot

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def reserve_chat(self, endpoint: str, chat_id: object | None) -> float:
        """Book the chat's slot for a message call: seconds to wait first (0 for other calls)."""
        if endpoint.lower() not in MESSAGE_ENDPOINTS or chat_id is None:
            return 0.0
        now = self.clock()
        bucket = self._chat(str(chat_id))
        at = bucket.earliest(now)
        bucket.reserve(at)
        return at - now

    def reserve_global(self, endpoint: str) -> float | None:
        """Book the bot-wide slot, once the chat's slot has come; None: drop this chat action."""
        endpoint = endpoint.lower()
        now = self.clock()
        at = self._global.earliest(now)
        if endpoint in COSMETIC_ENDPOINTS:
            if at > now:
                self.skipped_actions += 1
                return None
        elif endpoint not in MESSAGE_ENDPOINTS:
            return 0.0
        self._global.reserve(at)
        return at - now

    async def _deferred_global_slot(self) -> None:
        """Take a bot-wide slot only when it is free now and no reply is waiting for one."""
        while True:
            now = self.clock()
            if not self._urgent_waiting and self._global.earliest(now) <= now:
                self._global.reserve(now)
                return
            await asyncio.sleep(self._global.interval)

    def _chat(self, key: str) -> Gcra:
        bucket = self._chats.get(key)
        if bucket is None:
            if len(self._chats) >= _MAX_CHATS:
                now = self.clock()
                self._chats = {k: b for k, b in self._chats.items() if b.tat > now}
            bucket = self._chats[key] = Gcra(self.limits.chat_rate, self.limits.chat_burst)
        return bucket

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the call's slot, make it, and retry after a 429 (at most a few times)."""
        # The chat's slot first, then the bot's: a busy chat must not book bot-wide slots ahead.
        chat_delay = self.reserve_chat(endpoint, data.get("chat_id"))
        if chat_delay > 0:
            await asyncio.sleep(chat_delay)
        if endpoint.lower() in DEFERRABLE_ENDPOINTS:
            await self._deferred_global_slot()
        else:
            global_delay = self.reserve_global(endpoint)
            if global_delay is None:
                return True  # a dropped chat action: Telegram would have answered True
            if global_delay > 0:
                self._urgent_waiting += 1
                try:
                    await asyncio.sleep(global_delay)
                finally:
                    self._urgent_waiting -= 1
        for attempt in range(_MAX_RETRIES + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == _MAX_RETRIES:
                    raise
                self.retries += 1
                wait = error._retry_after.total_seconds()  # the public attribute warns (int → timedelta)
                logger.warning("Telegram asked to wait %.0f s before %s; retrying", wait, endpoint)
                await asyncio.sleep(wait + 0.05)
        raise AssertionError("unreachable")
