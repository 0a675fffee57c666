"""A real python-telegram-bot Application polls the emulator end to end."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.ext import MessageHandler, filters

from bot.emulator import BotApiEmulator
from tests.emulator.conftest import TOKEN

pytestmark = pytest.mark.timeout(30)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the command's arguments and a vote keyboard."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="v:1:+")]])
    await update.message.reply_text(f"echo {' '.join(context.args)}", reply_markup=markup, do_quote=True)


async def photo_size(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the largest size, as the real bot does, and report its byte count."""
    file = await update.message.photo[-1].get_file()
    data = await file.download_as_bytearray()
    await update.message.reply_text(f"got {len(data)} bytes")


async def vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and replace the keyboard."""
    query = update.callback_query
    await query.answer("Voted 👍")
    await query.edit_message_reply_markup(
        InlineKeyboardMarkup([[InlineKeyboardButton("👍 1", callback_data="v:1:-")]]))


@pytest.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[Application]:
    application = (ApplicationBuilder().token(TOKEN).base_url(emu.base_url)
                   .base_file_url(emu.base_file_url).build())
    application.add_handler(CommandHandler("echo", echo))
    application.add_handler(MessageHandler(filters.PHOTO, photo_size))
    application.add_handler(CallbackQueryHandler(vote))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=5)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_command_reply_press_and_edit(emu: BotApiEmulator, app: Application) -> None:
    alice = emu.user(1001, first_name="Alice")
    await alice.send_command("/echo", "hello world")
    [reply] = await alice.wait_for_messages(1, timeout=5)
    assert reply["text"] == "echo hello world"
    assert reply["reply_to_message"]["text"] == "/echo hello world"

    press = await alice.press(reply, "👍")
    assert (await press.answered(timeout=5))["text"] == "Voted 👍"
    edited = await alice.wait_for(lambda m: m["reply_markup"]["inline_keyboard"][0][0]["text"] == "👍 1")
    assert edited["message_id"] == reply["message_id"]
    assert emu.unknown_methods == []


async def test_photo_is_downloaded_by_the_bot(emu: BotApiEmulator, app: Application, jpeg) -> None:
    data = jpeg(900, 600)
    bob = emu.user(2002, first_name="Bob")
    await bob.send_photo(data)
    [reply] = await bob.wait_for_messages(1, timeout=5)
    assert reply["text"] == f"got {len(data)} bytes"


async def test_shutdown_leaves_no_tasks() -> None:
    """Stopping mid long-poll ends promptly and leaves no task behind (bot's or emulator's)."""
    before = set(asyncio.all_tasks())
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with BotApiEmulator(token=TOKEN) as emu:
        application = (ApplicationBuilder().token(TOKEN).base_url(emu.base_url)
                       .base_file_url(emu.base_file_url).build())
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=10)
            await asyncio.sleep(0.1)  # let a 10 s long poll reach the emulator
            await application.updater.stop()
            await application.stop()
    assert loop.time() - started < 3
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []
