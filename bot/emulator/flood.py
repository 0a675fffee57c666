"""Flood control like Telegram's: about 1 message/s per chat (short bursts tolerated) and about
30 messages/s over all chats; beyond that a method answers HTTP 429 with ``retry_after``.

Telegram documents the rates, not the burst sizes, so both limits are token buckets: a chat
holds ``chat_burst`` tokens refilled at ``chat_rate``/s, the bot holds ``global_burst`` refilled
at ``global_rate``/s. A call that creates or edits a message takes one token from its chat and
one from the bot; a chat action takes one from the bot only; everything else (getUpdates,
getFile, answerCallbackQuery...) is free. A refused call takes nothing. ``retry_after`` is whole
seconds, at least 1, as in Telegram's answers.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.emulator.limits import ApiError

# Lower-case Bot API method names.
MESSAGE_METHODS = frozenset({
    "sendmessage", "sendphoto", "senddocument", "sendmediagroup", "sendanimation", "sendvideo",
    "sendaudio", "sendvoice", "sendsticker", "copymessage", "forwardmessage",
    "editmessagetext", "editmessagecaption", "editmessagereplymarkup", "editmessagemedia",
})
GLOBAL_ONLY_METHODS = frozenset({"sendchataction"})


@dataclass(frozen=True)
class FloodLimits:
    """Rates in messages per second and bucket sizes in messages."""

    chat_rate: float = 1.0
    chat_burst: float = 8.0
    global_rate: float = 30.0
    global_burst: float = 30.0


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled continuously at `rate` per second."""

    rate: float
    capacity: float
    tokens: float = field(default=-1.0)
    stamp: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for_one(self, now: float) -> float:
        """Seconds until one token is available (0 if one is there now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def retry_after(wait: float) -> int:
    """The whole seconds Telegram tells a client to wait (at least 1)."""
    return max(1, math.ceil(wait))


def too_many_requests(wait: float) -> ApiError:
    """Telegram's 429 answer: whole seconds in the text and in ``parameters.retry_after``."""
    seconds = retry_after(wait)
    return ApiError(f"Too Many Requests: retry after {seconds}", 429, {"retry_after": seconds})


class FloodControl:
    """Per-chat and global buckets; `check` raises a 429 ApiError or takes the tokens."""

    def __init__(self, limits: FloodLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or FloodLimits()
        self.clock = clock
        self._global = TokenBucket(self.limits.global_rate, self.limits.global_burst, stamp=clock())
        self._chats: dict[str, TokenBucket] = {}
        self.rejected: list[tuple[str, str | None, int]] = []  # (method, chat_id, retry_after)

    def check(self, method: str, chat_id: object | None) -> None:
        """Take the tokens `method` costs, or raise Telegram's 429 without taking any."""
        method = method.lower()
        if method not in MESSAGE_METHODS and method not in GLOBAL_ONLY_METHODS:
            return
        now = self.clock()
        buckets = [self._global]
        chat_key = None if chat_id is None else str(chat_id)
        if method in MESSAGE_METHODS and chat_key is not None:
            buckets.append(self._chat(chat_key, now))
        wait = max(bucket.wait_for_one(now) for bucket in buckets)
        if wait > 0:
            error, seconds = too_many_requests(wait), retry_after(wait)
            self.rejected.append((method, chat_key, seconds))
            raise error
        for bucket in buckets:
            bucket.tokens -= 1

    def _chat(self, chat_key: str, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_key)
        if bucket is None:
            bucket = self._chats[chat_key] = TokenBucket(self.limits.chat_rate, self.limits.chat_burst, stamp=now)
        return bucket
