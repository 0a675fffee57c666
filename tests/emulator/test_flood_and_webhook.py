"""Telegram's flood control (429 + retry_after) and webhook delivery, as the emulator plays them."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict, RetryAfter

from bot.emulator import BotApiEmulator
from bot.emulator.flood import FloodControl, FloodLimits
from bot.emulator.limits import ApiError
from bot.emulator.webhook import SECRET_HEADER
from tests.emulator.conftest import TOKEN

pytestmark = pytest.mark.timeout(30)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_gets_its_burst_then_one_message_a_second() -> None:
    clock = FakeClock()
    flood = FloodControl(FloodLimits(chat_rate=1, chat_burst=3, global_rate=30, global_burst=30), clock)
    for _ in range(3):
        flood.check("sendMessage", 42)
    with pytest.raises(ApiError) as refused:
        flood.check("editMessageReplyMarkup", 42)
    assert refused.value.error_code == 429 and refused.value.parameters == {"retry_after": 1}
    assert refused.value.description == "Too Many Requests: retry after 1"
    flood.check("sendMessage", 43)  # another chat is not affected
    flood.check("answerCallbackQuery", 42)  # not a message: free
    clock.now += 1.0
    flood.check("sendPhoto", 42)  # refilled one token
    with pytest.raises(ApiError):
        flood.check("sendPhoto", 42)
    assert [(m, c) for m, c, _ in flood.rejected] == [("editmessagereplymarkup", "42"), ("sendphoto", "42")]


def test_the_bot_gets_thirty_a_second_over_all_chats_and_chat_actions_count() -> None:
    clock = FakeClock()
    flood = FloodControl(FloodLimits(chat_rate=1, chat_burst=5, global_rate=30, global_burst=30), clock)
    for chat in range(20):
        flood.check("sendMessage", chat)
    for chat in range(10):
        flood.check("sendChatAction", 7)  # per chat, chat actions are free; globally they count
    with pytest.raises(ApiError) as refused:
        flood.check("sendMessage", 99)
    assert refused.value.parameters == {"retry_after": 1}
    clock.now += 0.5  # 15 tokens back
    for chat in range(100, 115):
        flood.check("sendMessage", chat)
    with pytest.raises(ApiError):
        flood.check("sendMediaGroup", 200)


async def test_a_real_bot_sees_retry_after_over_http() -> None:
    async with BotApiEmulator(token=TOKEN, flood_limits=FloodLimits(chat_burst=2)) as emu:
        alice = emu.user(1001)
        async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
            await bot.send_message(alice.chat_id, "one")
            await bot.send_message(alice.chat_id, "two")
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(alice.chat_id, "three")
        assert refused.value._retry_after.total_seconds() == 1
        assert [m["text"] for m in alice.messages] == ["one", "two"]  # the refused one was not sent
        assert len(emu.flood_rejections) == 1


class Receiver:
    """A webhook endpoint: records what it got; answers 500 to the first `fail_first` requests."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        self.received.append((await request.json(), request.headers.get(SECRET_HEADER)))
        self.arrived.set()
        return web.Response(text="ok")


@pytest.fixture
async def receiver_url() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver(fail_first=2)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield receiver, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


async def test_webhook_delivers_with_the_secret_and_retries_failures(emu: BotApiEmulator, bot: Bot,
                                                                    receiver_url: tuple[Receiver, str]) -> None:
    receiver, url = receiver_url
    alice = emu.user(1001)
    assert await bot.set_webhook(url, secret_token="s3cret-TOKEN_1", allowed_updates=["message"])
    with pytest.raises(Conflict):
        await bot.get_updates()
    await alice.send_text("first")
    await alice.send_text("second")
    assert await emu.state.wait_until(lambda: len(receiver.received) == 2, timeout=10)
    texts = sorted(update["message"]["text"] for update, _ in receiver.received)
    assert texts == ["first", "second"] and {secret for _, secret in receiver.received} == {"s3cret-TOKEN_1"}
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert info.last_error_message and "500" in info.last_error_message  # the two refused attempts
    assert emu.state.updates == []


async def test_webhook_parameters_are_checked(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces allowed")
    with pytest.raises(BadRequest, match="(?i)https url"):
        await bot.set_webhook("ftp://127.0.0.1/hook")
    assert (await bot.get_webhook_info()).url == ""


async def test_an_unreachable_webhook_keeps_the_update(emu: BotApiEmulator) -> None:
    alice = emu.user(1001)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}{TOKEN}/setWebhook", json={"url": "http://127.0.0.1:9/none"}) as r:
            assert (await r.json())["result"] is True
    await alice.send_text("kept")
    assert await emu.state.wait_until(lambda: emu.state.webhook is not None
                                      and emu.state.webhook.last_error_message is not None, timeout=10)
    assert [u["message"]["text"] for u in emu.state.updates] == ["kept"]
