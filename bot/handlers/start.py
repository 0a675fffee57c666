"""/start and /help: what the bot does, in two short messages."""
from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import captions
from bot.updates import message_of


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet and explain; /help sends the same two messages."""
    await message_of(update).reply_text(captions.START)
    await message_of(update).reply_text(captions.HELP)
