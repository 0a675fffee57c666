"""The emulator answers a real python-telegram-bot ``Bot`` the way Telegram does."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from telegram import (
    Bot, BotCommand, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto,
)
from telegram.error import BadRequest, Conflict, InvalidToken

from bot.emulator import BotApiEmulator
from tests.emulator.conftest import TOKEN

pytestmark = pytest.mark.timeout(30)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username and me.can_join_groups


async def test_send_message_with_inline_keyboard(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001, first_name="Alice")
    sent = await bot.send_message(alice.chat_id, "Dope or nope?", reply_markup=keyboard("👍", "👎"))
    assert sent.text == "Dope or nope?" and sent.chat.id == 1001 and sent.from_user.is_bot
    assert abs(sent.date.timestamp() - time.time()) < 60  # seconds, not milliseconds
    [received] = await alice.wait_for_messages(1)
    assert received["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "👎"


async def test_html_parse_mode_is_parsed_and_checked(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    sent = await bot.send_message(alice.chat_id, "<b>Top</b> match", parse_mode="HTML")
    assert sent.text == "Top match" and sent.entities[0].type == "bold"
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(alice.chat_id, "a < b", parse_mode="HTML")


async def test_send_photo_upload_and_download(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    alice = emu.user(1001)
    data = jpeg(1000, 700)
    sent = await bot.send_photo(alice.chat_id, data, caption="match #1")
    assert len(sent.photo) >= 3 and sent.photo[-1].width == 1000 and sent.caption == "match #1"
    assert sent.photo[0].width < sent.photo[-1].width
    assert len({p.file_id for p in sent.photo}) == len(sent.photo)
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == data
    again = await bot.send_photo(alice.chat_id, sent.photo[-1].file_id)  # re-send by file_id
    assert [p.file_id for p in again.photo] == [p.file_id for p in sent.photo]


async def test_send_media_group_of_three(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    alice = emu.user(1001)
    media = [InputMediaPhoto(jpeg(color=(i * 80, 0, 0)), caption=f"#{i}") for i in range(3)]
    messages = await bot.send_media_group(alice.chat_id, media)
    assert len(messages) == 3 and len({m.media_group_id for m in messages}) == 1
    assert [m.caption for m in messages] == ["#0", "#1", "#2"]
    assert len(await alice.wait_for_messages(3)) == 3


@pytest.mark.parametrize("count", [1, 11])
async def test_media_group_size_limits(emu: BotApiEmulator, bot: Bot, jpeg, count: int) -> None:
    photo = await bot.send_photo(emu.user(1001).chat_id, jpeg())
    with pytest.raises(BadRequest):
        await bot.send_media_group(1001, [InputMediaPhoto(photo.photo[-1].file_id)] * count)


async def test_edit_message_reply_markup(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    sent = await bot.send_message(alice.chat_id, "vote", reply_markup=keyboard("v:1:+"))
    edited = await bot.edit_message_reply_markup(alice.chat_id, sent.message_id, reply_markup=keyboard("v:1:-"))
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "v:1:-"
    assert alice.messages[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "v:1:-"
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(alice.chat_id, sent.message_id, reply_markup=keyboard("v:1:-"))
    text = await bot.edit_message_text("voted", alice.chat_id, sent.message_id)
    assert text.text == "voted" and text.reply_markup is None


async def test_get_updates_long_polls_photo_and_press(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    alice = emu.user(1001, first_name="Alice", username="alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()  # held open: nothing to deliver yet
    await alice.send_photo(jpeg(), caption="find this")
    [update] = await asyncio.wait_for(poll, 3)
    assert update.message.photo[-1].width == 640 and update.message.caption == "find this"
    assert update.message.from_user.username == "alice"

    sent = await bot.send_message(alice.chat_id, "like?", reply_markup=keyboard("👍"))
    press = await alice.press(sent.to_dict(), "👍")
    [callback] = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert isinstance(callback.callback_query, CallbackQuery)
    assert callback.callback_query.data == "👍" and callback.callback_query.chat_instance
    await callback.callback_query.answer("Thanks!")
    assert (await press.answered())["text"] == "Thanks!"
    assert alice.last_callback_answer["text"] == "Thanks!"
    assert await bot.get_updates(offset=callback.update_id + 1, timeout=0) == ()


async def test_unknown_method_is_bad_request_not_invalid_token(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="not implemented by the emulator"):
        await bot.do_api_request("getDopeStats", api_kwargs={"chat_id": 1})
    assert emu.unknown_methods == ["getDopeStats"]


async def test_wrong_token_is_unauthorized(emu: BotApiEmulator) -> None:
    stranger = Bot("999:WRONG", base_url=emu.base_url)
    try:
        with pytest.raises(InvalidToken):
            await stranger.initialize()  # initialize() calls getMe
    finally:
        await stranger.shutdown()


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33], ids=["65-ascii", "66-bytes-utf8"])
async def test_oversize_callback_data_is_rejected(emu: BotApiEmulator, bot: Bot, data: str) -> None:
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(emu.user(1001).chat_id, "hi", reply_markup=keyboard(data))


async def test_text_and_caption_limits(emu: BotApiEmulator, bot: Bot, jpeg) -> None:
    chat_id = emu.user(1001).chat_id
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(chat_id, "x" * 4097)
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(chat_id, jpeg(), caption="x" * 1025)
    with pytest.raises(BadRequest, match="[Cc]hat not found"):
        await bot.send_message(424242, "nobody here")


async def test_get_file_refuses_files_over_20_mb(emu: BotApiEmulator, bot: Bot) -> None:
    file_id = emu.add_file(b"tiny", declared_size=21 * 1024 * 1024)
    with pytest.raises(BadRequest, match="too big"):
        await bot.get_file(file_id)


async def test_commands_webhook_and_chat_action(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.user(1001)
    assert await bot.set_my_commands([BotCommand("play", "Play dope or nope")])
    assert [c.command for c in await bot.get_my_commands()] == ["play"]
    assert await bot.send_chat_action(alice.chat_id, "upload_photo")
    assert alice.chat_actions == ["upload_photo"]
    assert await bot.set_webhook("https://example.invalid/hook")
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook() and (await bot.get_webhook_info()).url == ""
    assert emu.unknown_methods == []


async def test_raw_http_encodings_and_error_shapes(emu: BotApiEmulator) -> None:
    """GET with a query string, a JSON body with real objects, and Telegram's error bodies."""
    chat_id = emu.user(1001).chat_id
    markup = {"inline_keyboard": [[{"text": "👍", "callback_data": "v:1:+"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}{TOKEN}/getMe") as response:
            assert (await response.json())["result"]["is_bot"] is True
        body = {"chat_id": chat_id, "text": "json", "reply_markup": markup}
        async with http.post(f"{emu.base_url}{TOKEN}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        async with http.post(f"{emu.base_url}wrong/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{emu.base_url}{TOKEN}/sendPoll", data={"chat_id": chat_id}) as response:
            assert response.status == 400
            assert (await response.json())["description"] == (
                "Bad Request: method sendPoll is not implemented by the emulator")
    assert emu.unknown_methods == ["sendPoll"]
