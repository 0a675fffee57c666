"""Chat actions ("sending photo…", "typing…") while slow work runs.

`show_chat_action` sends one (a photo search normally ends before Telegram clears it after ~5 s);
`keep_chat_action` re-sends it every few seconds until a longer block ends. Both are cosmetic:
a failure is logged at DEBUG and never stops the real work.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

logger = logging.getLogger(__name__)

REPEAT_SECONDS = 4.0


async def show_chat_action(bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO) -> None:
    """Send `action` once."""
    try:
        await bot.send_chat_action(chat_id, action)
    except TelegramError as error:
        logger.debug("chat action failed: %s", error)


@contextlib.asynccontextmanager
async def keep_chat_action(bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO,
                           every: float = REPEAT_SECONDS) -> AsyncIterator[None]:
    """Send `action` now and every `every` seconds until the block exits."""

    async def repeat() -> None:
        while True:
            await show_chat_action(bot, chat_id, action)
            await asyncio.sleep(every)

    task = asyncio.create_task(repeat(), name=f"chat-action-{chat_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
