"""A restart keeps votes and old buttons working; twenty users at once all get their albums."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.app import build_application, running
from bot.emulator import BotApiEmulator
from bot.emulator.media import store_photo
from bot.services import services
from engine.search import Engine
from tests.bot.conftest import TOP_K, button_texts, keyboard, queue_message, search_results
from tests.factories import SHAPES, COLOURS, jpeg_bytes

pytestmark = pytest.mark.timeout(90)


async def test_restart_keeps_votes_and_old_keyboards_work(emu: BotApiEmulator, settings, engine: Engine) -> None:
    alice = emu.user(1001, first_name="Alice")
    first = build_application(settings, engine=engine)  # owns its VoteStore on settings.votes_path
    async with running(first, timeout=5):
        _, board = await search_results(alice, jpeg_bytes("disc", "purple", 90, 11))
        await (await alice.press(board, "#1 👍")).answered()
        await alice.wait_for(lambda m: m["message_id"] == board["message_id"] and "#1 ✅👍" in button_texts(m))
    assert services_gone(first)

    second = build_application(settings, engine=engine)
    async with running(second, timeout=5):
        board_now = alice.state.message(alice.chat_id, board["message_id"])
        press = await alice.press(board_now, "#1 👎")  # a button sent by the previous process
        assert (await press.answered())["text"] == "Vote changed."
        await alice.wait_for(lambda m: m["message_id"] == board["message_id"] and "#1 ✅👎" in button_texts(m))
        await (await alice.press(board_now, "#2 👍")).answered()
    with sqlite3.connect(settings.votes_path) as db:
        values = db.execute("SELECT s.rank, v.value FROM votes v JOIN shown s USING (shown_id) ORDER BY s.rank")
        assert values.fetchall() == [(1, -1), (2, 1)]


def services_gone(app) -> bool:  # type: ignore[no-untyped-def]
    return "services" not in app.bot_data


async def test_twenty_users_at_once_all_get_albums(emu: BotApiEmulator, app, engine: Engine) -> None:
    users = [emu.user(5000 + i, first_name=f"User{i}") for i in range(20)]
    colours = list(COLOURS)
    photos = [await store_photo(emu.state, jpeg_bytes(SHAPES[i % 4], colours[i % 8], 96, i)) for i in range(20)]
    for user, photo in zip(users, photos):
        queue_message(user, {"photo": photo})  # all twenty in the same getUpdates
    await emu.state.notify()
    results = await asyncio.gather(*(user.wait_for_messages(TOP_K + 1, timeout=60) for user in users))
    for replies in results:
        assert sum(1 for m in replies if "photo" in m) == TOP_K and keyboard(replies[-1])
    assert max(services(app).searcher.batch_sizes) > 1  # their photos shared forward passes
