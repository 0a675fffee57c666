"""What FakeUser delivers parses as real PTB Updates, and its waits behave."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.emulator import BotApiEmulator

pytestmark = pytest.mark.timeout(30)


def gif_bytes() -> bytes:
    frames = [Image.new("RGB", (32, 24), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


async def test_every_kind_of_user_message_parses(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    carol = emu.user(3003, first_name="Carol")
    await carol.send_text("hi")
    await carol.send_command("play")
    await carol.send_document(jpeg(), "shoe.jpg", "image/jpeg")
    await carol.send_sticker()
    await carol.send_animation(gif_bytes())
    await carol.send_video(b"\x00\x00\x00\x18ftypmp42", duration=3)
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates]
    assert messages[0].text == "hi"
    assert messages[1].text == "/play" and messages[1].entities[0].type == "bot_command"
    assert messages[2].document.file_name == "shoe.jpg" and messages[2].document.mime_type == "image/jpeg"
    assert messages[3].sticker.width == 512 and messages[3].sticker.emoji
    assert messages[4].animation.width == 32 and messages[4].document is not None
    assert messages[5].video.to_dict()["duration"] == 3
    assert emu.file_bytes(messages[2].document.file_id) == jpeg()


async def test_user_album_shares_media_group_id(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    dave = emu.user(4004)
    sent = await dave.send_album([jpeg(), jpeg(320, 200)], caption="two shoes")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 2 and len({u.message.media_group_id for u in updates}) == 1
    assert updates[0].message.caption == "two shoes" and updates[1].message.caption is None
    assert [p["width"] for p in sent[0]["photo"]][-1] == 640


async def test_wait_for_messages_consumes_in_order_and_times_out(emu: BotApiEmulator, bot: Bot) -> None:
    erin = emu.user(5005)
    for text in ("one", "two", "three"):
        await bot.send_message(erin.chat_id, text)
    assert [m["text"] for m in await erin.wait_for_messages(2)] == ["one", "two"]
    assert [m["text"] for m in await erin.wait_for_messages(1)] == ["three"]
    with pytest.raises(TimeoutError):
        await erin.wait_for_messages(1, timeout=0.2)


async def test_deleted_messages_leave_the_chat(emu: BotApiEmulator, bot: Bot) -> None:
    frank = emu.user(6006)
    wait = await bot.send_message(frank.chat_id, "searching…")
    await bot.delete_message(frank.chat_id, wait.message_id)
    await bot.send_message(frank.chat_id, "results")
    assert [m["text"] for m in await frank.wait_for_messages(1)] == ["results"]
    assert [m["text"] for m in frank.messages] == ["results"]


async def test_press_unknown_button_lists_the_offered_ones(emu: BotApiEmulator, bot: Bot) -> None:
    gina = emu.user(7007)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="v:1:+")]])
    sent = await bot.send_message(gina.chat_id, "vote", reply_markup=markup)
    with pytest.raises(LookupError, match="v:1:\\+"):
        await gina.press(sent.message_id, "👎")
