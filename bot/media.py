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
MAX_ALBUM = 10  # Telegram's media group limit


async def send_item_photos(bot: Bot, chat_id: int, svc: Services, entries: Sequence[tuple[Item, str]],
                           lead: tuple[bytes, str] | None = None) -> list[Message]:
    """An album (2–10 photos) or a single photo of catalog items with captions.

    `lead` (JPEG bytes, caption) goes first when the album has room: the user's photo with what
    was searched drawn on it. It costs no extra API call; the returned messages are the items'.
    """
    lead = lead if lead is not None and len(entries) < MAX_ALBUM else None
    try:
        return await _send(bot, chat_id, svc, entries, lead, use_cache=True)
    except BadRequest as error:
        cached = [item.id for item, _ in entries if item.id in svc.photo_file_ids]
        if not cached:
            raise
        # A file_id can go stale (another bot token, a reset server): upload those items again.
        logger.warning("cached photo file_ids refused (%s); uploading again", error)
        for item_id in cached:
            svc.photo_file_ids.pop(item_id, None)
        return await _send(bot, chat_id, svc, entries, lead, use_cache=False)


async def _send(bot: Bot, chat_id: int, svc: Services, entries: Sequence[tuple[Item, str]],
                lead: tuple[bytes, str] | None, *, use_cache: bool) -> list[Message]:
    sources: list[str | bytes] = []
    for item, _ in entries:
        cached = svc.photo_file_ids.get(item.id) if use_cache and item.id is not None else None
        if cached is not None:
            sources.append(cached)
        else:
            sources.append(await asyncio.to_thread(_read, svc.engine.catalog.resolve_image(item)))
    captions = [caption for _, caption in entries]
    if lead is not None:
        sources, captions = [lead[0], *sources], [lead[1], *captions]
    if len(sources) == 1:
        messages = [await bot.send_photo(chat_id, sources[0], caption=captions[0])]
    else:
        album = [InputMediaPhoto(source, caption=caption) for source, caption in zip(sources, captions)]
        messages = list(await bot.send_media_group(chat_id, album))
    if lead is not None:
        messages = messages[1:]
    for (item, _), message in zip(entries, messages):
        if message.photo and item.id is not None:
            svc.photo_file_ids[item.id] = message.photo[-1].file_id
    return messages


def _read(path: Path) -> bytes:
    return path.read_bytes()
