"""Sending catalog photos: uploaded the first time, then re-sent by Telegram file_id (fast)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from telegram import Bot, InputMediaPhoto, Message
from telegram.error import BadRequest

from bot.services import Services
from engine.catalog.store import Item

logger = logging.getLogger(__name__)


async def send_item_photos(bot: Bot, chat_id: int, svc: Services,
                           entries: Sequence[tuple[Item, str]]) -> list[Message]:
    """An album (2–10 items) or a single photo of catalog items with captions."""
    try:
        return await _send(bot, chat_id, svc, entries, use_cache=True)
    except BadRequest as error:
        cached = [item.id for item, _ in entries if item.id in svc.photo_file_ids]
        if not cached:
            raise
        # A file_id can go stale (another bot token, a reset server): upload those items again.
        logger.warning("cached photo file_ids refused (%s); uploading again", error)
        for item_id in cached:
            svc.photo_file_ids.pop(item_id, None)
        return await _send(bot, chat_id, svc, entries, use_cache=False)


async def _send(bot: Bot, chat_id: int, svc: Services, entries: Sequence[tuple[Item, str]],
                *, use_cache: bool) -> list[Message]:
    sources: list[str | bytes] = []
    for item, _ in entries:
        cached = svc.photo_file_ids.get(item.id) if use_cache and item.id is not None else None
        if cached is not None:
            sources.append(cached)
        else:
            sources.append(await asyncio.to_thread(_read, svc.engine.catalog.resolve_image(item)))
    if len(entries) == 1:
        messages = [await bot.send_photo(chat_id, sources[0], caption=entries[0][1])]
    else:
        album = [InputMediaPhoto(source, caption=caption) for source, (_, caption) in zip(sources, entries)]
        messages = list(await bot.send_media_group(chat_id, album))
    for (item, _), message in zip(entries, messages):
        if message.photo and item.id is not None:
            svc.photo_file_ids[item.id] = message.photo[-1].file_id
    return messages


def _read(path: Path) -> bytes:
    return path.read_bytes()
