"""Durable updates: stored before they are acknowledged, replayed once after a crash, handled
idempotently; webhook mode; /healthz; shutdown drains searches in flight."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_application, running
from bot.emulator import BotApiEmulator, FakeUser
from bot.emulator.media import store_photo
from engine.search import Engine
from engine.settings import Settings
from tests.bot.conftest import TOP_K, keyboard, queue_message, search_results
from tests.factories import jpeg_bytes
from votes.inbox import UpdateInbox
from votes.store import VoteStore

pytestmark = pytest.mark.timeout(60)


async def photo_update(user: FakeUser, update_id: int, seed: int) -> dict:  # type: ignore[type-arg]
    """An update Telegram delivered before a crash: the message exists, the update is not queued."""
    photo = await store_photo(user.state, jpeg_bytes("disc", "red", 90, seed))
    message = user.state.add_message(user.chat_id, user.user, {"photo": photo})
    return {"update_id": update_id, "message": message}


async def test_every_update_is_stored_then_marked_done(app, alice: FakeUser, store: VoteStore) -> None:
    _, board = await search_results(alice, jpeg_bytes("disc", "red", 90, 1))
    await (await alice.press(board, "#1 👍")).answered()
    await alice.send_text("hi")
    await alice.wait_for_messages(1)
    inbox = UpdateInbox(store)
    for _ in range(100):  # the last update is marked done just after its reply went out
        if (await inbox.counts())["done"] == 3:
            break
        await asyncio.sleep(0.05)
    assert await inbox.counts() == {"pending": 0, "done": 3, "failed": 0}


async def test_a_crash_left_updates_are_replayed_once(emu: BotApiEmulator, settings: Settings, engine: Engine,
                                                      store: VoteStore) -> None:
    alice = emu.user(1001, first_name="Alice")
    inbox = UpdateInbox(store)
    # Three updates a crashed run had stored but not finished:
    fresh = await photo_update(alice, 501, seed=1)  # received, never handled
    half_done = await photo_update(alice, 502, seed=2)  # its album went out and the search was recorded
    poison = await photo_update(alice, 503, seed=3)  # already replayed once and crashed again
    for update in (fresh, half_done, poison):
        assert await inbox.add(update["update_id"], json.dumps(update))
    await store.db.execute("UPDATE inbox SET attempts = 2 WHERE update_id = 503")
    _, shown = await store.record_query(alice.id, "random-init/l2", "random-init", [(1, 0.1), (2, 0.2)],
                                        update_id=502)

    app = build_application(settings, engine=engine, vote_store=store)
    async with running(app, timeout=5):
        replies = await alice.wait_for_messages(TOP_K + 2, timeout=30)
    albums = [m for m in replies if "photo" in m]
    boards = [m for m in replies if keyboard(m)]
    assert len(albums) == TOP_K and len(boards) == 2  # 501: album + keyboard; 502: its keyboard only
    assert any(b["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"v:{shown[0]}:+" for b in boards)
    assert await inbox.counts() == {"pending": 0, "done": 2, "failed": 1}
    assert (await store.table_counts())["queries"] == 2  # 502 was not recorded twice


async def test_a_redelivered_update_is_answered_once(app, alice: FakeUser, store: VoteStore) -> None:
    queue_message(alice, {"text": "hello"})
    again = dict(alice.state.updates[-1])
    await alice.state.notify()
    await alice.wait_for_messages(1)
    alice.state.updates.append(again)  # Telegram sends it again (it never saw the confirmation)
    await alice.state.notify()
    await alice.send_text("next")
    [reply] = await alice.wait_for_messages(1)
    assert reply["text"]  # "next" answered; "hello" not a second time
    with pytest.raises(TimeoutError):
        await alice.wait_for_messages(1, timeout=0.5)
    assert app.update_queue.duplicates == 1


async def test_webhook_mode_receives_updates_by_webhook(emu: BotApiEmulator, settings: Settings, engine: Engine,
                                                        store: VoteStore) -> None:
    alice = emu.user(1001)
    app = build_application(settings, engine=engine, vote_store=store)
    async with running(app, mode="webhook"):
        assert emu.state.webhook is not None and emu.state.webhook.secret_token
        _, board = await search_results(alice, jpeg_bytes("disc", "red", 90, 1))
        await (await alice.press(board, "#1 👍")).answered()
        assert emu.state.webhook.delivered == 2


async def test_healthz_reports_ok_while_serving(emu: BotApiEmulator, settings: Settings, engine: Engine,
                                                store: VoteStore) -> None:
    app = build_application(settings.model_copy(update={"health_port": 0}), engine=engine, vote_store=store)
    async with running(app, timeout=5):
        port = app.bot_data["health"].port
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                body = await response.json()
                assert response.status == 200 and body["status"] == "ok"
                assert body["inbox"]["failed"] == 0
        health = app.bot_data["health"]
    assert (await health.state())["status"] == "draining"  # stopped: a balancer must stop sending


async def test_shutdown_drains_a_search_in_flight(emu: BotApiEmulator, settings: Settings, engine: Engine,
                                                  store: VoteStore, tmp_path: Path) -> None:
    alice = emu.user(1001)
    app = build_application(settings, engine=engine, vote_store=store)
    async with running(app, timeout=5):
        await alice.send_photo(jpeg_bytes("disc", "red", 90, 1))
        assert await emu.state.wait_until(lambda: "upload_photo" in alice.chat_actions, timeout=10)
    # The context exited (as on SIGTERM) while the search ran: it still finished before shutdown.
    replies = await alice.wait_for_messages(TOP_K + 1, timeout=0.1)
    assert keyboard(replies[-1])
    assert (await UpdateInbox(store).counts())["pending"] == 0


async def test_a_replay_skips_replies_the_journal_says_went_out(emu: BotApiEmulator, settings: Settings,
                                                                engine: Engine, store: VoteStore) -> None:
    """Killed between sending the album and recording the search (601), or after the keyboard but
    before the update was marked done (602): the replay sends no second album or keyboard."""
    alice = emu.user(1001, first_name="Alice")
    inbox = UpdateInbox(store)
    for update_id, seed in ((601, 1), (602, 2)):
        update = await photo_update(alice, update_id, seed)
        assert await inbox.add(update_id, json.dumps(update))
    Path(store.path).with_suffix(".sent").write_text("601 album\n602 album\n602 keyboard\n")
    app = build_application(settings, engine=engine, vote_store=store)
    async with running(app, timeout=5):
        [board] = await alice.wait_for_messages(1, timeout=30)
        for _ in range(100):
            if (await inbox.counts())["done"] == 2:
                break
            await asyncio.sleep(0.05)
    assert keyboard(board) and not [m for m in alice.messages if "photo" in m]
    assert (await store.table_counts())["queries"] == 1  # 601 recorded now; 602 had been answered
    assert await inbox.counts() == {"pending": 0, "done": 2, "failed": 0}
