"""Photo in → album of the most similar catalog products, then one 👍/👎 keyboard message.

A user's photos wait their turn in the user's lane (bot/lanes.py). The search is recorded only
after its album was sent, with the update it answers, so a replay after a crash finds it and
sends just the missing keyboard instead of a second album.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import ContextTypes, filters

from bot import callbacks, captions
from bot.chat_action import show_chat_action
from bot.interleave import find_matches
from bot.keyboards import vote_keyboard
from bot.lanes import Admission
from bot.media import send_item_photos
from bot.preview import boxed_preview
from bot.services import Services, services
from engine.errors import InvalidImageError
from engine.localise.regions import Box

logger = logging.getLogger(__name__)

# Image documents we search with; other documents get a friendly refusal (handlers/fallback.py).
IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_OTHERS = 3  # "🔍 Item N" buttons for other products found in a photo


class ImageDocument(filters.MessageFilter):
    """A document whose MIME type is a searchable image, in any letter case (`IMAGE/JPEG`)."""

    def filter(self, message: Message) -> bool:
        mime = message.document.mime_type if message.document else None
        return mime is not None and mime.strip().lower() in IMAGE_MIME_TYPES


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Search with a photo or image document; a user's photos are searched one after another."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    svc = services(context)
    # Checks before the first await: concurrent updates of one user must see each other.
    if message.media_group_id and not svc.first_of_album(message.media_group_id):
        return  # later photos of an album: the first one answers for all
    file_id = pick_file_id(message, svc.settings.max_download_bytes)
    if file_id is None:
        await message.reply_text(captions.TOO_BIG)
        return
    admission = svc.lanes.admit(user.id)
    if admission is not Admission.ADMITTED:
        if admission is Admission.REFUSED_WARN:
            await message.reply_text(captions.SLOW_DOWN)
        return
    async with svc.lanes.turn(user.id):
        if message.media_group_id:
            await message.reply_text(captions.ALBUM_FIRST_ONLY)
        await search_and_reply(context, svc, message, user.id, file_id, update.update_id)


def pick_file_id(message: Message, limit: int) -> str | None:
    """The largest PhotoSize (or the document) within the download limit; None if too big.

    `file_size` is optional in the Bot API: an unknown size is tried, and getFile has the last word.
    """
    if message.photo:
        fitting = [size for size in message.photo if (size.file_size or 0) <= limit]
        return max(fitting, key=lambda s: s.width * s.height).file_id if fitting else None
    document = message.document
    if document is None or (document.file_size or 0) > limit:
        return None
    return document.file_id


async def download(context: ContextTypes.DEFAULT_TYPE, message: Message, file_id: str, limit: int) -> bytes | None:
    """The file's bytes, or None after telling the user why it could not be fetched."""
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        too_big = "too big" in str(error).lower()
        logger.info("getFile refused for chat %s: %s", message.chat_id, error)
        await message.reply_text(captions.TOO_BIG if too_big else captions.CANNOT_DOWNLOAD)
        return None
    if (telegram_file.file_size or 0) > limit:
        await message.reply_text(captions.TOO_BIG)
        return None
    return bytes(await telegram_file.download_as_bytearray())


async def search_and_reply(context: ContextTypes.DEFAULT_TYPE, svc: Services, message: Message,
                           user_id: int, file_id: str, update_id: int, box: Box | None = None) -> None:
    """Download, search, send the album, record, send the keyboard (one chat action meanwhile).

    The album leads with the user's photo, the searched product framed; other products found in
    it get "🔍 Item N" buttons. `box` searches that region instead of the localiser's best one.
    """
    chat_id = message.chat_id
    journal = svc.journal
    if journal is not None and journal.has(update_id, "keyboard"):
        return  # a replay of an update fully answered just before a crash
    done = await svc.store.query_for_update(update_id)
    if done is not None:  # a replay: the album went out before the crash; only the keyboard may be missing
        _, named, shown_ids = done
        rows = [(shown_id, rank, None) for rank, shown_id in enumerate(shown_ids, start=1)]
        await send_keyboard(context, svc, chat_id, update_id, captions.vote_prompt(named, len(rows)), rows)
        return
    await show_chat_action(context.bot, chat_id, ChatAction.UPLOAD_PHOTO)
    data = await download(context, message, file_id, svc.settings.max_download_bytes)
    if data is None:
        return
    variant = await svc.variant_of(user_id)
    try:
        found = await find_matches(svc, user_id, data, variant, box)
    except InvalidImageError as error:
        await message.reply_text(f"I couldn't use that image: {error}")
        return
    matches = found.matches
    if not matches:
        await message.reply_text(captions.NO_MATCHES)
        return
    others = [] if box is not None else [(n, r.box) for n, r in enumerate(matches.regions[1:MAX_OTHERS + 1], 2)]
    if journal is None or not journal.has(update_id, "album"):  # a replay may find it sent already
        lead = None
        if matches.box is not None and matches.photo_size is not None:
            preview = await asyncio.to_thread(boxed_preview, data, matches.photo_size, matches.box,
                                              [b for _, b in others])
            lead = (preview, captions.SEARCHED_CAPTION)
        await send_item_photos(context.bot, chat_id, svc, [(m.item, captions.match_caption(m)) for m in matches],
                               lead)
        if journal is not None:
            journal.mark(update_id, "album")
    # Recorded only now that the album is out: a crash before this leaves no orphan rows.
    query_id, shown_ids = await svc.store.record_query(
        user_id, found.variant, found.embedder, [(int(m.item.id or 0), m.distance) for m in matches],
        photo_sha256=hashlib.sha256(data).hexdigest(), file_id=file_id, query_vector=found.vector,
        query_appearance=matches.appearance,
        model_version=found.model_version, credit=found.credit, interleaving=found.interleaving,
        update_id=update_id,
    )
    rows = [(shown_id, m.rank, None) for shown_id, m in zip(shown_ids, matches)]
    prompt = captions.vote_prompt(shown_as(found.variant, found.interleaving), len(matches),
                                  unsure=box is None and not matches.confident, others=len(others))
    await send_keyboard(context, svc, chat_id, update_id, prompt, rows, others, query_id)


async def send_keyboard(context: ContextTypes.DEFAULT_TYPE, svc: Services, chat_id: int, update_id: int,
                        text: str, rows: Sequence[tuple[int, int, int | None]],
                        others: Sequence[tuple[int, Box]] = (), query_id: int | None = None) -> None:
    """The vote keyboard (with "🔍 Item N" buttons for `others`); journaled the moment it went out."""
    await context.bot.send_message(chat_id, text, reply_markup=vote_keyboard(rows, others, query_id))
    if svc.journal is not None:
        svc.journal.mark(update_id, "keyboard")


async def region(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"🔍 Item N": search another product of an earlier photo (only the photo's owner may)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    if not isinstance(query.message, Message):  # too old for Telegram to show it to the bot
        await query.answer(captions.STALE_BUTTON)
        return
    try:
        pressed = callbacks.parse(query.data)
    except callbacks.MalformedCallback:
        await query.answer()
        return
    svc = services(context)
    file_id = await svc.store.query_photo(pressed.target, user.id) if pressed.kind == "region" else None
    if file_id is None or pressed.box is None:
        await query.answer(captions.UNKNOWN_SEARCH, show_alert=True)
        return
    admission = svc.lanes.admit(user.id)
    if admission is not Admission.ADMITTED:
        await query.answer(captions.SLOW_DOWN if admission is Admission.REFUSED_WARN else None)
        return
    await query.answer("🔍 Searching that one…")
    async with svc.lanes.turn(user.id):
        x1, y1, x2, y2 = (float(v) for v in pressed.box)
        await search_and_reply(context, svc, query.message, user.id, file_id, update.update_id, box=(x1, y1, x2, y2))


def shown_as(variant: str, interleaving: object | None) -> str:
    """How the keyboard names what ranked the matches (an interleaved album stays blind)."""
    return "a blind mix of two models" if interleaving else variant
