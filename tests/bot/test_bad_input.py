"""Bad input gets a clear, friendly reply and never a crash; forged buttons change nothing."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest
from telegram.ext import Application

from bot import captions
from bot.emulator import FakeUser
from bot.emulator.media import store_photo
from bot.handlers.fallback import REPLIES
from votes.store import VoteStore
from tests.bot.conftest import TOP_K, keyboard, press_data, queue_message, search_results
from tests.factories import animated_gif, jpeg_bytes, truncated_jpeg

pytestmark = pytest.mark.timeout(60)


async def reply_to(user: FakeUser) -> str:
    [reply] = await user.wait_for_messages(1, timeout=15)
    return reply["text"]


async def test_text_sticker_gif_video_voice_and_pdf(app: Application, alice: FakeUser) -> None:
    await alice.send_text("hello there")
    assert await reply_to(alice) == captions.SEND_A_PHOTO
    await alice.send_sticker()
    assert await reply_to(alice) == REPLIES["sticker"]
    await alice.send_animation(animated_gif())
    assert await reply_to(alice) == REPLIES["animation"]
    await alice.send_video(b"\x00\x00\x00\x18ftypmp42 not really a video")
    assert await reply_to(alice) == REPLIES["video"]
    queue_message(alice, {"voice": {"file_id": "AwACvoice1", "file_unique_id": "AgADvoice1", "duration": 2}})
    await alice.state.notify()
    assert await reply_to(alice) == REPLIES["voice"]
    await alice.send_document(b"%PDF-1.4 not an image", file_name="specs.pdf", mime_type="application/pdf")
    assert await reply_to(alice) == captions.NOT_AN_IMAGE
    await alice.send_command("/nosuchcommand")
    assert (await reply_to(alice)).startswith("I don't know that command.")


async def test_truncated_jpeg_and_huge_png(app: Application, alice: FakeUser, huge_png_bytes: bytes,
                                           store: VoteStore) -> None:
    await alice.send_document(truncated_jpeg(), file_name="broken.jpg", mime_type="image/jpeg")
    assert await reply_to(alice) == "I couldn't use that image: The image is corrupt or truncated."
    await alice.send_document(huge_png_bytes, file_name="huge.png", mime_type="image/png")
    text = await reply_to(alice)
    assert text.startswith("I couldn't use that image:") and "too large" in text
    assert (await store.table_counts())["queries"] == 0


async def test_file_over_20_mb_is_refused_before_download(app: Application, alice: FakeUser) -> None:
    await alice.send_document(jpeg_bytes(), file_name="big.jpg", mime_type="image/jpeg",
                              declared_size=25 * 1024 * 1024)
    assert await reply_to(alice) == captions.TOO_BIG
    assert "upload_photo" not in alice.chat_actions  # no work started: nothing downloaded


async def test_second_photo_waits_its_turn(app: Application, alice: FakeUser, store: VoteStore) -> None:
    first = await store_photo(alice.state, jpeg_bytes("disc", "red", 100, 1))
    second = await store_photo(alice.state, jpeg_bytes("bar", "blue", 100, 2))
    queue_message(alice, {"photo": first})
    queue_message(alice, {"photo": second})  # arrives while the first one is being searched
    await alice.state.notify()
    replies = await alice.wait_for_messages(2 * (TOP_K + 1), timeout=30)
    # Both answered, one after the other: album, keyboard, album, keyboard.
    assert ["photo" in m for m in replies] == ([True] * TOP_K + [False]) * 2
    assert keyboard(replies[TOP_K]) and keyboard(replies[-1])
    assert (await store.table_counts())["queries"] == 2


async def test_a_flood_of_photos_gets_one_slow_down_and_costs_others_nothing(
        app: Application, alice: FakeUser, bob: FakeUser, store: VoteStore, svc) -> None:
    photo = await store_photo(alice.state, jpeg_bytes("disc", "red", 64, 1))
    for _ in range(40):
        queue_message(alice, {"photo": photo})
    await alice.state.notify()
    _, bobs_board = await search_results(bob, jpeg_bytes("bar", "blue", 90, 2), timeout=30)
    assert keyboard(bobs_board)
    limit = svc.settings.bot_photos_per_user
    replies = await alice.wait_for_messages(limit * (TOP_K + 1) + 1, timeout=60)
    assert [m.get("text") for m in replies].count(captions.SLOW_DOWN) == 1
    assert (await store.table_counts())["queries"] == limit + 1  # alice's admitted photos + bob's
    await asyncio.sleep(0.3)
    with pytest.raises(TimeoutError):
        await alice.wait_for_messages(1, timeout=0.5)  # the dropped ones stay quiet


async def test_user_album_is_answered_once(app: Application, alice: FakeUser, store: VoteStore) -> None:
    await alice.send_album([jpeg_bytes("disc", c, 90, i) for i, c in enumerate(("red", "blue", "teal"))])
    replies = await alice.wait_for_messages(TOP_K + 2, timeout=20)
    assert replies[0]["text"] == captions.ALBUM_FIRST_ONLY and keyboard(replies[-1])
    await asyncio.sleep(0.3)
    with pytest.raises(TimeoutError):
        await alice.wait_for_messages(1, timeout=0.5)  # no reply per album item
    assert (await store.table_counts())["queries"] == 1


@pytest.mark.parametrize("data", ["v:abc:+", "v:0:+", "v:12", "g:1:*", "var:-1", "fg:maybe", "zz", "x" * 65,
                                  "v:1:+" + "0" * 70])
async def test_malformed_callback_is_refused_politely(app: Application, alice: FakeUser, store: VoteStore,
                                                      data: str) -> None:
    _, board = await search_results(alice, jpeg_bytes("disc", "red", 90, 9))
    before = await store.table_counts()
    answer = await (await press_data(alice, board, data)).answered()
    assert answer["text"] == captions.STALE_BUTTON
    assert await store.table_counts() == before
    assert alice.state.message(alice.chat_id, board["message_id"]).get("edit_date") is None


async def test_stale_and_other_users_buttons_change_nothing(app: Application, alice: FakeUser, bob: FakeUser,
                                                            store: VoteStore, settings) -> None:
    _, board = await search_results(alice, jpeg_bytes("square", "red", 90, 4))
    alices_vote = keyboard(board)[0][0]["callback_data"]
    _, bobs_board = await search_results(bob, jpeg_bytes("square", "blue", 90, 4))
    assert (await (await press_data(bob, bobs_board, alices_vote)).answered())["text"] == captions.NOT_YOURS
    assert (await (await press_data(alice, board, "v:999999:+")).answered())["text"] == captions.STALE_BUTTON
    assert (await (await press_data(alice, board, "g:424242:-")).answered())["text"] == captions.STALE_BUTTON
    assert "no longer available" in (await (await press_data(alice, board, "var:99")).answered())["text"]
    assert (await store.table_counts())["votes"] == 0
    assert await store.get_variant(alice.id) is None
    # Bob's game pair cannot be voted on by Alice either.
    await bob.send_command("/play")
    *_, prompt = await bob.wait_for_messages(3, timeout=20)
    bobs_pair = keyboard(prompt)[0][0]["callback_data"]
    assert (await (await press_data(alice, board, bobs_pair)).answered())["text"] == captions.NOT_YOURS
    assert (await store.table_counts())["votes"] == 0


async def test_an_internal_failure_is_logged_and_the_user_told(app: Application, alice: FakeUser,
                                                                store: VoteStore, emu,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    # A table disappears under the running bot (the inbox, on the same file, keeps working).
    with sqlite3.connect(store.path) as other:
        other.execute("DROP TABLE game_pairs")
    caplog.set_level("WARNING", logger="httpx")  # as in bot/__main__.py: its URLs hold the token
    with caplog.at_level("INFO"):
        await alice.send_command("/stats")
        assert await reply_to(alice) == captions.SOMETHING_WRONG
    [record] = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert record.exc_info is not None and "no such table" in str(record.exc_info[1])
    assert all(emu.token not in r.getMessage() for r in caplog.records)
    await alice.send_text("hi")  # the bot keeps serving
    assert await reply_to(alice) == captions.SEND_A_PHOTO
