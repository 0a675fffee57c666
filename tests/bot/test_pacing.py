"""TelegramPacer: message calls are scheduled under per-chat and global limits; no 429 reaches the bot."""
from __future__ import annotations

import asyncio

import pytest
from telegram.ext import ExtBot as Bot

from bot.emulator import BotApiEmulator
from bot.emulator.flood import FloodLimits
from bot.pacing import PacerLimits, TelegramPacer

pytestmark = pytest.mark.timeout(30)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_chat_gets_its_burst_then_its_rate() -> None:
    pacer = TelegramPacer(PacerLimits(chat_rate=1, chat_burst=3, global_rate=100, global_burst=100), FakeClock())
    delays = [pacer.reserve_chat("sendMessage", 7) for _ in range(5)]
    assert delays == [0, 0, 0, 1, 2]
    assert pacer.reserve_chat("sendPhoto", 8) == 0  # another chat is not held up by chat 7
    assert pacer.reserve_global("sendPhoto") == 0  # nor is the bot-wide budget booked ahead
    assert pacer.reserve_chat("answerCallbackQuery", 7) == 0  # not a message: never delayed
    assert pacer.reserve_global("answerCallbackQuery") == 0


def test_global_rate_orders_all_chats_and_drops_chat_actions_when_busy() -> None:
    clock = FakeClock()
    pacer = TelegramPacer(PacerLimits(chat_rate=1, chat_burst=5, global_rate=10, global_burst=2), clock)
    assert pacer.reserve_chat("sendChatAction", 1) == 0  # no per-chat cost
    assert pacer.reserve_global("sendChatAction") == 0
    assert pacer.reserve_global("sendMessage") == 0
    assert pacer.reserve_global("sendMessage") == pytest.approx(0.1)
    assert pacer.reserve_global("sendChatAction") is None and pacer.skipped_actions == 1
    clock.now += 1
    assert pacer.reserve_global("sendChatAction") == 0


async def test_a_paced_bot_never_meets_flood_control() -> None:
    limits = FloodLimits(chat_rate=20, chat_burst=3, global_rate=60, global_burst=5)
    async with BotApiEmulator(token="1:T", flood_limits=limits) as emu:
        users = [emu.user(i) for i in (1, 2, 3)]
        pacer = TelegramPacer(PacerLimits(chat_rate=10, chat_burst=1, global_rate=30, global_burst=2))  # wide margins: a loaded CPU delays requests unevenly
        async with Bot("1:T", base_url=emu.base_url, rate_limiter=pacer) as bot:
            await asyncio.gather(*(bot.send_message(u.chat_id, f"m{n}") for u in users for n in range(8)))
        assert emu.flood_rejections == [] and pacer.retries == 0
        assert all(len(u.messages) == 8 for u in users)


async def test_a_429_is_waited_out_and_retried() -> None:
    async with BotApiEmulator(token="1:T", flood_limits=FloodLimits(chat_burst=1)) as emu:
        alice = emu.user(1)
        # A pacer that believes in a bigger burst than Telegram allows: the second call meets a 429.
        pacer = TelegramPacer(PacerLimits(chat_rate=100, chat_burst=10, global_rate=100, global_burst=10))
        async with Bot("1:T", base_url=emu.base_url, rate_limiter=pacer) as bot:
            await bot.send_message(alice.chat_id, "one")
            await bot.send_message(alice.chat_id, "two")
        assert [m["text"] for m in alice.messages] == ["one", "two"]
        assert pacer.retries == 1 and len(emu.flood_rejections) == 1
