"""The bugs an outside test found (issue 10), each pinned by a test that failed before its fix."""
from __future__ import annotations

import logging

import pytest
from telegram.ext import Application

from bot import captions
from bot.emulator import BotApiEmulator, CallbackPress, FakeUser
from tests.bot.conftest import TOP_K, keyboard, press_data, queue_message, search_results
from votes.store import VoteStore
from tests.factories import jpeg_bytes

pytestmark = pytest.mark.timeout(60)


async def only_reply(user: FakeUser) -> str:
    [reply] = await user.wait_for_messages(1, timeout=15)
    return reply["text"]


async def test_image_document_with_upper_case_mime_type_is_searched(app: Application, alice: FakeUser) -> None:
    await alice.send_document(jpeg_bytes("disc", "red", 90, 1), file_name="PHOTO.JPG", mime_type="IMAGE/JPEG")
    replies = await alice.wait_for_messages(TOP_K + 1, timeout=20)
    assert sum(1 for m in replies if "photo" in m) == TOP_K and keyboard(replies[-1])


async def test_huge_document_without_file_size_gets_too_big_not_an_error(
        app: Application, alice: FakeUser, store: VoteStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        await alice.send_document(jpeg_bytes(), file_name="big.jpg", mime_type="image/jpeg",
                                  declared_size=30 * 1024 * 1024, with_size=False)
        assert await only_reply(alice) == captions.TOO_BIG
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await store.table_counts())["queries"] == 0


async def test_an_invalid_file_id_gets_a_clear_reply(app: Application, alice: FakeUser, store: VoteStore,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        queue_message(alice, {"photo": [{"file_id": "AgACnot-a-real-file", "file_unique_id": "AQADx",
                                         "width": 320, "height": 240, "file_size": 1000}]})
        await alice.state.notify()
        assert await only_reply(alice) == captions.CANNOT_DOWNLOAD
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await store.table_counts())["queries"] == 0


async def test_someone_elses_forget_button_changes_nothing(app: Application, alice: FakeUser, bob: FakeUser,
                                                           store: VoteStore) -> None:
    await search_results(alice, jpeg_bytes("disc", "red", 90, 1))
    await search_results(bob, jpeg_bytes("bar", "blue", 90, 2))
    await alice.send_command("/forget")
    [prompt] = await alice.wait_for_messages(1)
    yes = keyboard(prompt)[0][0]["callback_data"]
    # Bob (in a group, everyone sees Alice's prompt) presses her "Yes".
    query = bob.state.new_callback_query(bob.user, alice.state.message(alice.chat_id, prompt["message_id"]), yes)
    bob.state.push_update("callback_query", query)
    await bob.state.notify()
    answer = await CallbackPress(query, bob.state).answered()
    assert answer["text"] == captions.NOT_YOURS
    assert (await store.user_stats(alice.id)).queries == 1 and (await store.user_stats(bob.id)).queries == 1
    assert alice.state.message(alice.chat_id, prompt["message_id"]).get("edit_date") is None
    # Alice's own press deletes her data; a second press (replayed) says nothing was deleted.
    assert (await (await press_data(alice, prompt, yes)).answered())["text"] == "Deleted."
    assert (await store.user_stats(alice.id)).queries == 0 and (await store.user_stats(bob.id)).queries == 1
    assert (await (await press_data(alice, prompt, yes)).answered())["text"] == "There was no data to delete."


async def test_an_api_outage_logs_one_line_and_no_tracebacks(app: Application, emu: BotApiEmulator,
                                                             alice: FakeUser,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="telegram"), caplog.at_level(logging.INFO):
        emu.outage = True
        assert await emu.state.wait_until(lambda: emu.outage_refusals >= 3, timeout=20)  # ~3 polls fail
        emu.outage = False
        await alice.send_text("back?")
        assert await only_reply(alice) == captions.SEND_A_PHOTO
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1 and "unreachable" in loud[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]


async def test_no_orphan_rows_when_the_album_cannot_be_sent(app: Application, alice: FakeUser, store: VoteStore,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """The search is recorded only after its album went out: a refused album leaves no query behind."""
    alice.block_bot()
    with caplog.at_level(logging.INFO):
        await alice.send_photo(jpeg_bytes("disc", "red", 90, 5))
        assert await alice.state.wait_until(
            lambda: any("blocked" in r.getMessage() for r in caplog.records), timeout=20)
    assert await store.table_counts() == {"users": 0, "queries": 0, "shown": 0, "game_pairs": 0, "votes": 0}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
