"""The web chat page and its JSON API drive the same FakeUser path as the tests."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.emulator import BotApiEmulator

pytestmark = pytest.mark.timeout(30)

WEB_USER = 777000111


@pytest.fixture
async def http(emu: BotApiEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.url) as session:
        yield session


async def test_page_and_assets_are_served(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as response:
        page = await response.text()
    for marker in ('id="photo-input"', 'id="text-input"', 'id="send-button"', "/static/webchat.js"):
        assert marker in page
    async with http.get("/static/webchat.js") as response:
        script = await response.text()
    for marker in ("bot-message", "bot-photo", "inline-button", "dataset.callback"):
        assert marker in script


async def test_text_photo_press_round_trip(emu: BotApiEmulator, bot: Bot, http: aiohttp.ClientSession, jpeg) -> None:
    async with http.post("/webchat/api/send_text", json={"user_id": WEB_USER, "text": "/play"}) as response:
        assert (await response.json())["ok"]
    form = aiohttp.FormData()
    form.add_field("user_id", str(WEB_USER))
    form.add_field("caption", "this one")
    form.add_field("photo", jpeg(), filename="shoe.jpg", content_type="image/jpeg")
    async with http.post("/webchat/api/send_photo", data=form) as response:
        assert (await response.json())["ok"]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message.text == "/play" and updates[1].message.caption == "this one"

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("🔥 Dope", callback_data="v:9:+")]])
    sent = await bot.send_photo(WEB_USER, jpeg(), reply_markup=markup)
    async with http.get("/webchat/api/messages", params={"chat_id": WEB_USER, "after": 0, "timeout": 1}) as r:
        chat = await r.json()
    mine = [m for m in chat["messages"] if m["from_bot"]]
    assert mine[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "v:9:+"
    async with http.get(f"/webchat/api/file/{mine[-1]['photo'][-1]['file_id']}") as r:
        assert r.content_type == "image/jpeg" and len(await r.read()) > 1000

    press = {"user_id": WEB_USER, "message_id": sent.message_id, "callback_data": "v:9:+"}
    async with http.post("/webchat/api/press", json=press) as response:
        assert (await response.json())["ok"]
    [update] = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert update.callback_query.data == "v:9:+" and update.callback_query.message.message_id == sent.message_id


async def test_messages_long_poll_wakes_on_edit(emu: BotApiEmulator, bot: Bot, http: aiohttp.ClientSession) -> None:
    emu.user(WEB_USER)
    sent = await bot.send_message(WEB_USER, "hi")
    async with http.get("/webchat/api/messages", params={"chat_id": WEB_USER}) as r:
        version = (await r.json())["version"]

    async def next_version() -> dict:
        params = {"chat_id": WEB_USER, "after": version, "timeout": 10}
        async with http.get("/webchat/api/messages", params=params) as r:
            return await r.json()

    poll = asyncio.create_task(next_version())
    await asyncio.sleep(0.05)
    assert not poll.done()  # held until something changes
    await bot.edit_message_text("hi again", WEB_USER, sent.message_id)
    chat = await asyncio.wait_for(poll, 2)
    assert chat["version"] > version and chat["messages"][-1]["text"] == "hi again"
