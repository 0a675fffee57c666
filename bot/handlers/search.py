"""Photo in → album of the most similar catalog products, then one 👍/👎 keyboard message."""
from __future__ import annotations

import hashlib
import logging

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from bot import captions
from bot.chat_action import keep_chat_action
from bot.interleave import find_matches
from bot.keyboards import vote_keyboard
from bot.media import send_item_photos
from bot.services import Services, services
from engine.errors import InvalidImageError

logger = logging.getLogger(__name__)

# Image documents we search with; other documents get a friendly refusal (handlers/fallback.py).
IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Search with a photo or image document; one photo per user at a time."""
    message, user = update.effective_message, update.effective_user
    svc = services(context)
    # Checks before the first await: concurrent updates of one user must see each other.
    if message.media_group_id and not svc.first_of_album(message.media_group_id):
        return  # later photos of an album: the first one answers for all
    file_id = pick_file_id(message, svc.settings.max_download_bytes)
    if file_id is None:
        await message.reply_text(captions.TOO_BIG)
        return
    if user.id in svc.busy_users:
        await message.reply_text(captions.STILL_WORKING)
        return
    svc.busy_users.add(user.id)
    try:
        if message.media_group_id:
            await message.reply_text(captions.ALBUM_FIRST_ONLY)
        await search_and_reply(context, svc, message, user.id, file_id)
    finally:
        svc.busy_users.discard(user.id)


def pick_file_id(message: Message, limit: int) -> str | None:
    """The largest PhotoSize (or the document) within the download limit; None if too big."""
    if message.photo:
        fitting = [size for size in message.photo if (size.file_size or 0) <= limit]
        return max(fitting, key=lambda s: s.width * s.height).file_id if fitting else None
    document = message.document
    if document is None or (document.file_size or 0) > limit:
        return None
    return document.file_id


async def search_and_reply(context: ContextTypes.DEFAULT_TYPE, svc: Services, message: Message,
                           user_id: int, file_id: str) -> None:
    """Download, search, record, reply; the chat shows "sending photo…" meanwhile."""
    chat_id = message.chat_id
    async with keep_chat_action(context.bot, chat_id, ChatAction.UPLOAD_PHOTO):
        data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        variant = await svc.variant_of(user_id)
        try:
            found = await find_matches(svc, user_id, data, variant)
        except InvalidImageError as error:
            await message.reply_text(f"I couldn't use that image: {error}")
            return
        matches = found.matches
        if not matches:
            await message.reply_text(captions.NO_MATCHES)
            return
        query_id, shown_ids = await svc.store.record_query(
            user_id, found.variant, found.embedder, [(int(m.item.id or 0), m.distance) for m in matches],
            photo_sha256=hashlib.sha256(data).hexdigest(), file_id=file_id, query_vector=matches.vector,
            model_version=found.model_version, credit=found.credit, interleaving=found.interleaving,
        )
        await send_item_photos(context.bot, chat_id, svc, [(m.item, captions.match_caption(m)) for m in matches])
        rows = [(shown_id, m.rank, None) for shown_id, m in zip(shown_ids, matches)]
        shown_as = "a blind mix of two models" if found.interleaving else found.variant
        await context.bot.send_message(chat_id, captions.vote_prompt(shown_as, len(matches)),
                                       reply_markup=vote_keyboard(rows))
