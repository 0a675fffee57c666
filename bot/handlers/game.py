"""/play: the blind Dope-or-Nope game. A random item and one variant's nearest neighbour, shown
without naming the variant; after the vote, the variant is revealed."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from bot import captions
from bot.chat_action import keep_chat_action
from bot.handlers.votes import answer, edit_markup, parse_or_refuse, refuse
from bot.keyboards import game_keyboard
from bot.media import send_item_photos
from bot.services import Services, services
from bot.updates import chat_of, query_of, user_of
from votes.store import NotYourVote, UnknownTarget, VoteOutcome
from engine.search import Engine, Match

logger = logging.getLogger(__name__)


def balanced_variant(variants: Sequence[str], pair_counts: Mapping[str, int], rng: random.Random) -> str:
    """The variant with the fewest game pairs so far; ties broken at random."""
    fewest = min(pair_counts.get(v, 0) for v in variants)
    return rng.choice([v for v in variants if pair_counts.get(v, 0) == fewest])


def pick_pair(engine: Engine, variant: str, rng: random.Random) -> tuple[Match, Match] | None:
    """A random catalog item (as rank 0) and its nearest neighbour under `variant` (worker thread)."""
    ids = engine.catalog.ids()
    for _ in range(5):  # an item may have no neighbour in a tiny or filtered index
        item = engine.catalog.get(rng.choice(ids))
        neighbours = engine.neighbours_of_item(item.id, 1, variant) if item and item.id is not None else []
        if item and neighbours:
            return Match(item, 0.0, 0), neighbours[0]
    return None


async def play(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start a round (from /play or the "Next pair" button)."""
    svc = services(context)
    chat_id, user_id = chat_of(update).id, user_of(update).id
    if update.callback_query:
        await answer(update.callback_query)
    async with keep_chat_action(context.bot, chat_id, ChatAction.UPLOAD_PHOTO):
        await send_round(context, svc, chat_id, user_id)


async def send_round(context: ContextTypes.DEFAULT_TYPE, svc: Services, chat_id: int, user_id: int) -> None:
    variant = balanced_variant(svc.engine.variants(), await svc.store.game_pair_counts(), svc.rng)
    pair = await asyncio.to_thread(pick_pair, svc.engine, variant, svc.rng)  # catalog + index: off the loop
    if pair is None:
        await context.bot.send_message(chat_id, "The catalog is too small to play, sorry.")
        return
    anchor, neighbour = pair
    await send_item_photos(context.bot, chat_id, svc, [
        (anchor.item, captions.game_caption("A", anchor.item)),
        (neighbour.item, captions.game_caption("B", neighbour.item)),
    ])
    # Recorded once the photos went out: a crash before this leaves no round nobody saw.
    pair_id = await svc.store.record_game_pair(
        user_id, variant, int(anchor.item.id or 0), int(neighbour.item.id or 0), neighbour.distance)
    await context.bot.send_message(chat_id, captions.GAME_PROMPT, reply_markup=game_keyboard(pair_id))


async def game_vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle `g:<pair_id>:±`: store the vote, reveal the variant, offer the next pair."""
    query = query_of(update)
    svc = services(context)
    parsed = await parse_or_refuse(query, "game")
    if parsed is None:
        return
    try:
        outcome = await svc.store.record_vote(query.from_user.id, parsed.value, pair_id=parsed.target)
    except (UnknownTarget, NotYourVote) as error:
        await refuse(query, error)
        return
    pair = await svc.store.game_pair(parsed.target)
    await answer(query, "Already counted." if outcome is VoteOutcome.UNCHANGED else "Thanks!")
    if pair is None or outcome is VoteOutcome.UNCHANGED:
        return
    text = captions.game_reveal(parsed.value, pair.variant, pair.distance)
    if query.message is not None and getattr(query.message, "text", None) != text:
        await query.edit_message_text(text, reply_markup=game_keyboard(pair.pair_id, parsed.value))
    else:
        await edit_markup(query, game_keyboard(pair.pair_id, parsed.value))
