"""End to end over real HTTP: FakeUsers talk to the real Application through the emulator."""
from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

import numpy as np
import pytest
from telegram.ext import Application

from bot import captions
from bot.chat_action import keep_chat_action
from bot.commands import BOT_COMMANDS
from bot.emulator import BotApiEmulator, FakeUser
from bot.services import Services
from votes.store import VoteStore
from tests.bot.conftest import TOP_K, button_texts, keyboard, search_results
from tests.factories import encode, draw_product, jpeg_bytes

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every end-to-end flow here runs with long polling and with webhook delivery."""
    return str(request.param)


def votes_in_db(settings_path: str) -> list[tuple[int, int | None, int | None, int]]:
    """Votes read straight from the SQLite file (a second connection, as the scripts would)."""
    with sqlite3.connect(settings_path) as db:
        return db.execute("SELECT user_id, shown_id, pair_id, value FROM votes ORDER BY vote_id").fetchall()


async def test_start_and_help_send_two_messages_and_set_the_menu(emu: BotApiEmulator, app: Application,
                                                                 alice: FakeUser) -> None:
    for command in ("/start", "/help"):
        await alice.send_command(command)
        first, second = await alice.wait_for_messages(2)
        assert first["text"] == captions.START and "/play" in second["text"]
    menu = next(iter(emu.state.commands.values()))
    assert [c["command"] for c in menu] == [name for name, _ in BOT_COMMANDS]


async def test_photo_gets_album_captions_and_vote_keyboard(app: Application, alice: FakeUser, svc: Services,
                                                            store: VoteStore) -> None:
    album, board = await search_results(alice, jpeg_bytes("disc", "red", 120, seed=3))
    assert len(album) == TOP_K and len({m["media_group_id"] for m in album}) == 1
    assert [m["caption"].split()[0] for m in album] == [f"#{r}" for r in range(1, TOP_K + 1)]
    assert "distance" in album[0]["caption"] and "https://shop.example/item/" in album[0]["caption"]
    assert len(keyboard(board)) == TOP_K and button_texts(board)[:2] == ["#1 👍", "#1 👎"]
    assert "upload_photo" in alice.chat_actions
    counts = await store.table_counts()
    assert counts["queries"] == 1 and counts["shown"] == TOP_K
    sent = next(m for m in alice.all_messages if "photo" in m and m["from"]["id"] == alice.id)
    async with store.db.execute("SELECT file_id, photo_sha256 FROM queries") as cursor:
        file_id, sha = await cursor.fetchone()
    assert file_id == sent["photo"][-1]["file_id"] and len(sha) == 64  # the largest size was used


async def test_vote_press_change_and_repeat(app: Application, alice: FakeUser, settings, store: VoteStore) -> None:
    _, board = await search_results(alice, jpeg_bytes("square", "blue", 100, seed=1))
    first_up = keyboard(board)[0][0]["callback_data"]
    shown_id = int(first_up.split(":")[1])

    press = await alice.press(board, first_up)
    assert (await press.answered())["text"] == "Thanks, vote saved!"
    edited = await alice.wait_for(lambda m: m["message_id"] == board["message_id"] and "#1 ✅👍" in button_texts(m))
    assert votes_in_db(str(settings.votes_path)) == [(alice.id, shown_id, None, 1)]

    press = await alice.press(edited, "#1 👎")
    assert (await press.answered())["text"] == "Vote changed."
    edited = await alice.wait_for(lambda m: m["message_id"] == board["message_id"] and "#1 ✅👎" in button_texts(m))
    assert "#1 👍" in button_texts(edited)
    assert votes_in_db(str(settings.votes_path)) == [(alice.id, shown_id, None, -1)]

    press = await alice.press(edited, "#1 ✅👎")  # the same choice again: no double count
    assert (await press.answered())["text"] == "Already counted."
    assert votes_in_db(str(settings.votes_path)) == [(alice.id, shown_id, None, -1)]


async def test_repeated_results_reuse_telegram_file_ids(app: Application, alice: FakeUser, svc: Services) -> None:
    photo = jpeg_bytes("bar", "teal", 100, seed=2)
    first, _ = await search_results(alice, photo)
    assert len(svc.photo_file_ids) >= TOP_K
    second, _ = await search_results(alice, photo)
    first_ids = [m["photo"][-1]["file_id"] for m in first]
    assert [m["photo"][-1]["file_id"] for m in second] == first_ids  # sent by file_id, not re-uploaded


async def test_image_sent_as_document_is_searched(app: Application, alice: FakeUser) -> None:
    png = encode(draw_product("triangle", (30, 160, 60), 100), "PNG")
    await alice.send_document(png, file_name="thing.png", mime_type="image/png")
    replies = await alice.wait_for_messages(TOP_K + 1, timeout=20)
    assert all("photo" in m for m in replies[:TOP_K]) and keyboard(replies[-1])


async def test_variant_pick_is_stored_and_used(app: Application, alice: FakeUser, svc: Services,
                                               store: VoteStore) -> None:
    await alice.send_command("/variant")
    [menu] = await alice.wait_for_messages(1)
    variants = svc.engine.variants()
    assert [b.lstrip("✅") for b in button_texts(menu)] == variants
    assert button_texts(menu)[0] == f"✅{variants[0]}"  # the default
    press = await alice.press(menu, variants[2])
    assert variants[2] in (await press.answered())["text"]
    await alice.wait_for(lambda m: m["message_id"] == menu["message_id"] and f"✅{variants[2]}" in button_texts(m))
    assert await store.get_variant(alice.id) == variants[2]
    _, board = await search_results(alice, jpeg_bytes("disc", "green", 90, 5))
    assert variants[2] in board["text"]


async def test_play_vote_reveal_and_next(app: Application, alice: FakeUser, store: VoteStore, settings) -> None:
    await alice.send_command("/play")
    a, b, prompt = await alice.wait_for_messages(3, timeout=20)
    assert a["caption"].startswith("A: ") and b["caption"].startswith("B: ")
    assert "random-init" not in prompt["text"] + a["caption"] + b["caption"]  # blind
    press = await alice.press(prompt, "👍 dope")
    await press.answered()
    revealed = await alice.wait_for(lambda m: m["message_id"] == prompt["message_id"] and "came from" in m.get("text", ""))
    pair_id = int(keyboard(prompt)[0][0]["callback_data"].split(":")[1])
    pair = await store.game_pair(pair_id)
    assert pair is not None and pair.variant in revealed["text"] and pair.value == 1
    assert "✅👍 dope" in button_texts(revealed) and "▶️ Next pair" in button_texts(revealed)
    assert votes_in_db(str(settings.votes_path)) == [(alice.id, None, pair_id, 1)]
    await alice.press(revealed, "▶️ Next pair")
    *_, prompt2 = await alice.wait_for_messages(3, timeout=20)
    assert prompt2["text"] == captions.GAME_PROMPT and prompt2["message_id"] != prompt["message_id"]


async def test_play_balances_variants(app: Application, alice: FakeUser, store: VoteStore, svc: Services) -> None:
    for _ in range(len(svc.engine.variants())):
        await alice.send_command("/play")
        await alice.wait_for_messages(3, timeout=20)
    assert await store.game_pair_counts() == {v: 1 for v in svc.engine.variants()}


async def test_leaderboard_lists_variants_with_intervals_and_chart(app: Application, alice: FakeUser,
                                                                   store: VoteStore, svc: Services) -> None:
    variant = svc.engine.variants()[1]
    _, shown = await store.record_query(alice.id, variant, "random-init", [(1, 0.1), (2, 0.2), (3, 0.3)])
    for shown_id, value in zip(shown, (1, 1, -1)):
        await store.record_vote(alice.id, value, shown_id=shown_id)
    await alice.send_command("/leaderboard")
    table, chart = await alice.wait_for_messages(2, timeout=20)
    assert "Search votes" in table["text"] and "Game votes" in table["text"] and "All votes" in table["text"]
    assert f"1. {variant}: 67% of 3" in table["text"] and "95% CI" in table["text"]
    assert "photo" in chart


async def test_stats_export_and_forget(app: Application, alice: FakeUser, store: VoteStore) -> None:
    _, board = await search_results(alice, jpeg_bytes("square", "yellow", 90, 7))
    await (await alice.press(board, "#1 👍")).answered()
    await (await alice.press(board, "#2 👎")).answered()
    await alice.send_command("/stats")
    stats = await alice.wait_for(lambda m: m.get("text", "").startswith("Your stats"))
    assert "Photos searched: 1" in stats["text"] and "👍 1 · 👎 1" in stats["text"]

    await alice.send_command("/export")
    document = await alice.wait_for(lambda m: "document" in m)
    rows = list(csv.DictReader(io.StringIO(alice.state.file(document["document"]["file_id"]).data.decode())))
    assert [(r["kind"], r["rank"], r["value"]) for r in rows] == [("search", "1", "1"), ("search", "2", "-1")]
    assert document["document"]["file_name"] == "votes.csv"

    await alice.send_command("/forget")
    confirm = await alice.wait_for(lambda m: "cannot be undone" in m.get("text", ""))
    await (await alice.press(confirm, "🗑 Yes, delete my data")).answered()
    await alice.wait_for(lambda m: m["message_id"] == confirm["message_id"] and "deleted" in m.get("text", ""))
    assert await store.table_counts() == {"users": 0, "queries": 0, "shown": 0, "game_pairs": 0, "votes": 0}


async def test_forget_cancel_keeps_data(app: Application, alice: FakeUser, store: VoteStore) -> None:
    await store.ensure_user(alice.id)
    await alice.send_command("/forget")
    [confirm] = await alice.wait_for_messages(1)
    await (await alice.press(confirm, "Cancel")).answered()
    await alice.wait_for(lambda m: m["message_id"] == confirm["message_id"] and "nothing" in m.get("text", ""))
    assert (await store.table_counts())["users"] == 1


async def test_chat_action_repeats_while_work_is_slow(emu: BotApiEmulator, app: Application,
                                                      alice: FakeUser) -> None:
    async with keep_chat_action(app.bot, alice.chat_id, "typing", every=0.05):
        await asyncio.sleep(0.3)
    count = alice.chat_actions.count("typing")
    assert count >= 3
    await asyncio.sleep(0.15)
    assert alice.chat_actions.count("typing") == count  # stopped with the block


async def test_query_vector_is_stored_with_the_query(app: Application, alice: FakeUser, store: VoteStore,
                                                     svc: Services) -> None:
    """The photo's feature comes from the search's own forward pass (no second embedding)."""
    photo = jpeg_bytes("disc", "black", 90, 12)
    await search_results(alice, photo)
    vector = await store.query_vector(1)
    assert vector is not None
    expected = svc.engine.embed([svc.engine.decode(photo)], "random-init")[0]
    np.testing.assert_allclose(vector, expected, rtol=1e-4, atol=1e-5)
