"""/start and /help: what the bot does, in two short messages."""
from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import captions


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet and explain; /help sends the same two messages."""
    await update.effective_message.reply_text(captions.START)
    await update.effective_message.reply_text(captions.HELP)
