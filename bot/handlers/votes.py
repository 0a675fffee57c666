"""👍/👎 presses on search results: record (or change) the vote, then tick it on the keyboard.

The vote is stored and the press answered at once; the keyboard edit is coalesced per message
(bot/coalesce.py), so quick presses on one keyboard cost one or two edits, not one each.
"""
from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import callbacks, captions
from bot.keyboards import vote_keyboard
from bot.interleave import judge
from bot.services import services
from bot.updates import query_of
from votes.store import NotYourVote, UnknownTarget, VoteOutcome

logger = logging.getLogger(__name__)

ANSWERS = {VoteOutcome.NEW: "Thanks, vote saved!", VoteOutcome.CHANGED: "Vote changed.",
           VoteOutcome.UNCHANGED: "Already counted."}


async def vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle `v:<shown_id>:±`: validate against the database, store, edit the keyboard."""
    query = query_of(update)
    svc = services(context)
    parsed = await parse_or_refuse(query, "vote")
    if parsed is None:
        return
    try:
        outcome = await svc.store.record_vote(query.from_user.id, parsed.value, shown_id=parsed.target)
    except (UnknownTarget, NotYourVote) as error:
        await refuse(query, error)
        return
    await answer(query, ANSWERS[outcome])
    if outcome is VoteOutcome.UNCHANGED or query.message is None:
        return
    user_id, shown_id = query.from_user.id, parsed.target

    async def redraw() -> None:  # reads the votes when it runs: the newest state wins
        rows = await svc.store.query_votes(user_id, shown_id)
        await edit_markup(query, vote_keyboard([(r.shown_id, r.rank, r.value) for r in rows]))
        await judge(svc, context.bot)  # a vote may settle the champion/challenger comparison

    key = (query.message.chat.id, query.message.message_id)
    svc.edits.request(key, redraw, lambda coroutine: context.application.create_task(coroutine, update=update))


async def answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a press; a press answered before a crash and replayed after it is already answered."""
    try:
        await query.answer(text)
    except BadRequest as error:
        if "query is too old" not in str(error).lower() and "query id is invalid" not in str(error).lower():
            raise
        logger.info("callback %s was already answered or expired: %s", query.id, error)


async def parse_or_refuse(query: CallbackQuery, kind: str) -> callbacks.Callback | None:
    """The parsed callback if it is well-formed and of `kind`; otherwise answer politely."""
    try:
        parsed = callbacks.parse(query.data)
    except callbacks.MalformedCallback:
        logger.info("malformed callback data from user %s", query.from_user.id)
        parsed = None
    if parsed is None or parsed.kind != kind:
        await answer(query, captions.STALE_BUTTON)
        return None
    return parsed


async def refuse(query: CallbackQuery, error: Exception) -> None:
    """A polite answer for a stale, forged or someone else's button; nothing changes."""
    logger.info("refused callback %r from user %s: %s", query.data, query.from_user.id, error)
    await answer(query, captions.NOT_YOURS if isinstance(error, NotYourVote) else captions.STALE_BUTTON)


async def edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    """Edit the keyboard; "not modified" (a double press racing itself) is harmless."""
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise
