"""Fuzz: 300+ generated bad updates of every kind through the real bot over HTTP.

Every update kind, every media kind, broken and huge images, forged, stale and replayed callbacks,
callbacks without data or message, and other users' buttons. Each fuzz message comes from its
own user, so "every update that deserves a reply gets one" is checked per chat. Expected: no
unhandled exception (nothing logged at ERROR), every private message answered, every callback
answered, the database unchanged (no stray rows) and every update marked done in the inbox.
"""
from __future__ import annotations

import asyncio
import logging
import random
import string
from collections.abc import Callable
from typing import Any

import pytest
from telegram.ext import Application

from bot.emulator import BotApiEmulator
from bot.emulator.media import store_photo
from tests.bot.conftest import TOP_K, keyboard, search_results
from tests.factories import animated_gif, jpeg_bytes, truncated_jpeg
from votes.inbox import UpdateInbox
from votes.store import VoteStore

pytestmark = pytest.mark.timeout(240)

Payload = dict[str, Any]
FIRST_USER = 700_000


def file_ref(emu: BotApiEmulator, data: bytes, kind: str = "document", declared: int | None = None,
             mime: str | None = None, name: str | None = None) -> Payload:
    record = emu.state.add_file(data, kind, "bin", mime, name, declared)
    ref: Payload = {"file_id": record.file_id, "file_unique_id": record.file_unique_id, "file_size": record.size}
    if mime:
        ref["mime_type"] = mime
    if name:
        ref["file_name"] = name
    return ref


def message_contents(emu: BotApiEmulator, rng: random.Random, good_photo: list[Payload],
                     huge_png: bytes) -> list[Callable[[], Payload]]:
    """Factories of message content a user might send that the bot cannot search with."""
    def text(n: int) -> str:
        return "".join(rng.choice(string.printable + "ñ€😀\u200b") for _ in range(n)) or "x"

    def photo_of(data: bytes, size: int | None = None) -> Payload:
        ref = file_ref(emu, data, "photo")
        if size is not None:
            ref["file_size"] = size
        return {"photo": [{**ref, "width": 64, "height": 64}]}

    voice = {"file_id": "AwACvoice", "file_unique_id": "AgADv", "duration": 2}
    return [
        lambda: {"text": text(rng.randint(1, 300))},
        lambda: {"text": "x" * 4096},
        lambda: {"text": "/" + text(5).replace(" ", ""), "entities": [{"type": "bot_command", "offset": 0, "length": 3}]},
        lambda: {"text": "/start@some_other_bot", "entities": [{"type": "bot_command", "offset": 0, "length": 21}]},
        lambda: {"text": "/variant 99 extra args", "entities": [{"type": "bot_command", "offset": 0, "length": 8}]},
        lambda: {"sticker": {**file_ref(emu, b"RIFF....WEBP", "sticker"), "type": "regular", "width": 512,
                             "height": 512, "is_animated": False, "is_video": False}},
        lambda: (lambda a: {"animation": {**a, "width": 1, "height": 1, "duration": 1},
                            "document": a})(file_ref(emu, animated_gif(), "animation", mime="video/mp4", name="a.mp4")),
        lambda: {"video": {**file_ref(emu, b"\x00\x00\x00\x18ftypmp42", "video"), "width": 1, "height": 1, "duration": 1}},
        lambda: {"video_note": {**file_ref(emu, b"\x00", "video"), "length": 1, "duration": 1}},
        lambda: {"voice": voice},
        lambda: {"audio": {**file_ref(emu, b"ID3", "document", mime="audio/mpeg"), "duration": 3}},
        lambda: {"location": {"latitude": rng.uniform(-90, 90), "longitude": rng.uniform(-180, 180)}},
        lambda: {"contact": {"phone_number": "+100", "first_name": "Someone"}},
        lambda: {"dice": {"emoji": "🎲", "value": rng.randint(1, 6)}},
        lambda: {"venue": {"location": {"latitude": 1.0, "longitude": 2.0}, "title": "t", "address": "a"},
                 "location": {"latitude": 1.0, "longitude": 2.0}},
        lambda: {"document": file_ref(emu, b"%PDF-1.4", mime="application/pdf", name="spec.pdf")},
        lambda: {"document": file_ref(emu, b"PK\x03\x04", mime="application/zip", name="a.zip")},
        lambda: {"document": file_ref(emu, b"\x00" * 10)},  # no MIME type, no name
        lambda: {"document": file_ref(emu, truncated_jpeg(), mime="IMAGE/JPEG", name="BROKEN.JPG")},
        lambda: {"document": file_ref(emu, bytes(rng.randbytes(200)), mime="image/png", name="noise.png")},
        lambda: {"document": file_ref(emu, b"tiny", declared=30 * 1024 * 1024, mime="image/jpeg", name="big.jpg")},
        lambda: (lambda d: (d.pop("file_size"), {"document": d})[1])(  # file_size omitted (optional)
            file_ref(emu, b"tiny", declared=30 * 1024 * 1024, mime="image/webp", name="big.webp")),
        lambda: {"document": file_ref(emu, huge_png, mime="image/png", name="huge.png")},
        lambda: photo_of(truncated_jpeg()),
        lambda: photo_of(bytes(rng.randbytes(300))),
        lambda: photo_of(b"tiny", size=25 * 1024 * 1024),
        lambda: {"photo": [{"file_id": f"AgAC{rng.randint(0, 10**9)}", "file_unique_id": "u", "width": 9,
                            "height": 9, "file_size": 10}]},  # a file_id Telegram never issued
        lambda: {"photo": good_photo, "media_group_id": str(rng.randint(10**17, 10**18))},  # a lone album item
    ]


def other_updates(rng: random.Random, user: Payload, chat: Payload) -> list[Callable[[], tuple[str, Payload]]]:
    """Update kinds other than messages and callbacks: none deserves a reply."""
    member = {"status": "member", "user": user}
    return [
        lambda: ("inline_query", {"id": str(rng.randint(1, 10**9)), "from": user, "query": "red", "offset": ""}),
        lambda: ("chosen_inline_result", {"result_id": "1", "from": user, "query": "q"}),
        lambda: ("shipping_query", {"id": "s", "from": user, "invoice_payload": "p", "shipping_address": {
            "country_code": "DE", "state": "", "city": "B", "street_line1": "s", "street_line2": "", "post_code": "1"}}),
        lambda: ("pre_checkout_query", {"id": "p", "from": user, "currency": "EUR", "total_amount": 1,
                                        "invoice_payload": "p"}),
        lambda: ("poll_answer", {"poll_id": "1", "user": user, "option_ids": [0], "option_persistent_ids": ["a"]}),
        lambda: ("poll", {"id": "1", "question": "no persistent_id: PTB cannot parse this", "options": [
            {"text": "a", "voter_count": 0}], "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
            "type": "regular", "allows_multiple_answers": False}),
        lambda: ("message", {"message_id": "not a number", "chat": chat}),  # malformed beyond repair
        lambda: ("my_chat_member", {"chat": chat, "from": user, "date": 1, "old_chat_member": member,
                                    "new_chat_member": {"status": "kicked", "user": user, "until_date": 0}}),
        lambda: ("chat_join_request", {"chat": {"id": -100, "type": "supergroup", "title": "g"}, "from": user,
                                       "user_chat_id": user["id"], "date": 1}),
        lambda: ("message_reaction", {"chat": chat, "message_id": 1, "date": 1, "user": user,
                                      "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}),
    ]


async def test_three_hundred_bad_updates(app: Application, emu: BotApiEmulator, store: VoteStore,
                                         huge_png_bytes: bytes, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(20261127)
    victim = emu.user(1001, first_name="Victim")
    album, board = await search_results(victim, jpeg_bytes("disc", "red", 90, 1))
    await victim.send_command("/play")
    *_, game_prompt = await victim.wait_for_messages(3, timeout=20)
    real_buttons = [b["callback_data"] for m in (board, game_prompt) for row in keyboard(m) for b in row]
    good_photo = await store_photo(emu.state, jpeg_bytes("bar", "blue", 80, 2))
    baseline = await store.table_counts()
    inbox = UpdateInbox(store)
    inbox_before = (await inbox.counts())["done"]
    replays = 0

    contents = message_contents(emu, rng, good_photo, huge_png_bytes)
    expect_reply: list[int] = []  # chats that must get at least one message back
    callbacks: list[str] = []  # callback query ids that must be answered
    searched = 0
    n_updates = 0
    uid = FIRST_USER
    for round_ in range(6):
        for make in contents:
            uid += 1
            user = emu.user(uid, first_name=f"F{uid}")
            content = make()
            searched += "media_group_id" in content
            message = emu.state.add_message(user.chat_id, user.user, content)
            emu.state.push_update("message", message)
            expect_reply.append(uid)
            n_updates += 1
    forged = ["", "v:", "v:1", "v:-1:+", "g:0:-", "gn:", "var:x", "fg:1:y", "fg:maybe", "\x00", "💥" * 16,
              "v:" + "9" * 17 + ":+"]
    for round_ in range(10):
        for data in [*forged, *real_buttons, "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 64)))]:
            uid += 1
            user = emu.user(uid, first_name=f"C{uid}")
            query = emu.state.new_callback_query(user.user, emu.state.message(victim.chat_id, board["message_id"]),
                                                 data or "x")
            if not data:  # a game button: no data at all
                query.pop("data")
                query["game_short_name"] = "dope"
            if round_ % 3 == 0:  # pressed on an inline message: no message attached
                query.pop("message")
                query["inline_message_id"] = f"AAA{uid}"
            emu.state.push_update("callback_query", query)
            callbacks.append(query["id"])
            n_updates += 1
            if round_ == 1:  # Telegram delivers the same update twice (it never saw the confirmation)
                emu.state.updates.append(dict(emu.state.updates[-1]))
                replays += 1
    for round_ in range(3):
        uid += 1
        user = emu.user(uid, first_name=f"O{uid}")
        for make_other in other_updates(rng, user.user, emu.state.chat(user.chat_id).chat):
            kind, payload = make_other()
            emu.state.push_update(kind, payload)
            n_updates += 1
        edited = emu.state.add_message(user.chat_id, user.user, {"text": "edited", "edit_date": 2})
        emu.state.push_update("edited_message", edited)
        n_updates += 1
    assert n_updates + replays >= 300
    await emu.state.notify()

    def replied(chat_id: int) -> bool:
        return any(emu.state.is_from_bot(m) for m in emu.state.chat(chat_id).messages)

    def answered(query_id: str) -> bool:
        return emu.state.callback_queries[query_id]["answer"] is not None

    done = await emu.state.wait_until(
        lambda: all(map(replied, expect_reply)) and all(map(answered, callbacks)), timeout=200)
    assert done, (f"{sum(not replied(c) for c in expect_reply)} chats without a reply, "
                  f"{sum(not answered(q) for q in callbacks)} callbacks unanswered")
    for _ in range(200):  # the last updates are marked done just after their replies
        if (await inbox.counts())["pending"] == 0:
            break
        await asyncio.sleep(0.05)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors[:5]]
    counts = await store.table_counts()
    assert counts == {**baseline, "queries": baseline["queries"] + searched,
                      "shown": baseline["shown"] + searched * TOP_K,
                      "users": baseline["users"] + searched}  # only the lone album items were searches
    assert await inbox.counts() == {"pending": 0, "done": inbox_before + n_updates, "failed": 0}
    # A redelivered update is dropped (by the inbox, or by Telegram's offset when its original
    # ended the previous getUpdates batch); either way each callback above was answered once.
    assert 0 < app.update_queue.duplicates <= replays
