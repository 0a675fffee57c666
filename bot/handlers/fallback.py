"""Everything that is not a command or a searchable image gets a short, friendly answer."""
from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import captions
from bot.updates import message_of, query_of

REPLIES = {
    "animation": "GIFs and animations can't be searched; please send a still photo.",
    "sticker": "Nice sticker! But I need a photo of a product to search with.",
    "video": "Videos can't be searched; please send a photo.",
    "voice": "I can't listen, sorry 🙉 Send me a photo instead.",
    "document": captions.NOT_AN_IMAGE,
    "text": captions.SEND_A_PHOTO,
}


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot can do with this kind of message."""
    message = update.effective_message
    if message is None:
        return
    if message.animation:
        kind = "animation"
    elif message.sticker:
        kind = "sticker"
    elif message.video or message.video_note:
        kind = "video"
    elif message.voice or message.audio:
        kind = "voice"
    elif message.document:
        kind = "document"
    else:
        kind = "text"
    await message.reply_text(REPLIES[kind])


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command the bot does not have."""
    await message_of(update).reply_text("I don't know that command. " + captions.HELP)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any callback no other handler claimed (forged or from an old version)."""
    await query_of(update).answer(captions.STALE_BUTTON)
