"""The one error handler: log with the traceback, then tell the user briefly.

Network trouble (Telegram unreachable, timeouts, flood waits) is not a bug in the bot: it gets
one WARNING line without a traceback, so an outage does not bury the log.
"""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot import captions

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception (never the token: only the update id), then apologise in the chat."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, (NetworkError, RetryAfter)):
        logger.warning("update %s not answered: Telegram unreachable (%s)", update_id, context.error)
        return  # telling the user would fail the same way
    if isinstance(context.error, Forbidden):
        logger.info("update %s not answered: %s", update_id, context.error)  # blocked / kicked: their choice
        return
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(captions.SOMETHING_WRONG)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, captions.SOMETHING_WRONG)
    except TelegramError:  # the network itself may be what failed; the log already has it
        logger.warning("could not tell update %s about the error", update_id)
