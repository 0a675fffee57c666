"""`keep_chat_action`: show "sending photo…" / "typing…" while slow work runs.

Telegram clears a chat action after ~5 s, so it is re-sent every few seconds until the block ends.
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


@contextlib.asynccontextmanager
async def keep_chat_action(bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO,
                           every: float = REPEAT_SECONDS) -> AsyncIterator[None]:
    """Send `action` now and every `every` seconds until the block exits."""

    async def repeat() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, action)
            except TelegramError as error:  # cosmetic: never fail the real work for it
                logger.debug("chat action failed: %s", error)
            await asyncio.sleep(every)

    task = asyncio.create_task(repeat(), name=f"chat-action-{chat_id}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
