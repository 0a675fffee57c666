"""A user's own data: /stats (vote counts), /export (CSV document), /forget (delete, confirmed)."""
from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import asdict, fields

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot import captions
from bot.handlers.votes import answer, parse_or_refuse
from bot.keyboards import forget_keyboard
from bot.services import services
from bot.updates import message_of, query_of, user_of
from engine.feedback.personal import forget_user as forget_adapters
from votes.store import VoteRecord


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The user's photo searches, game rounds and votes."""
    s = await services(context).store.user_stats(user_of(update).id)
    await message_of(update).reply_text(
        f"Your stats\nPhotos searched: {s.queries}\nSearch votes: 👍 {s.search_up} · 👎 {s.search_down}\n"
        f"Game rounds: {s.game_pairs}\nGame votes: 👍 {s.game_up} · 👎 {s.game_down}"
    )


def votes_csv(votes: list[VoteRecord]) -> bytes:
    """CSV (UTF-8, header row) of the user's votes."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(VoteRecord)])
    writer.writeheader()
    for vote in votes:
        writer.writerow(asdict(vote))
    return buffer.getvalue().encode("utf-8")


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the user's votes as votes.csv."""
    votes = await services(context).store.user_votes(user_of(update).id)
    await message_of(update).reply_document(
        InputFile(votes_csv(votes), filename="votes.csv"),
        caption=f"Your {len(votes)} vote(s) as CSV.",
    )


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask for confirmation before deleting anything."""
    await message_of(update).reply_text(
        "Delete all your searches, game rounds and votes? This cannot be undone.",
        reply_markup=forget_keyboard(user_of(update).id),
    )


async def forget_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle `fg:<user_id>:y|n`: only the user who asked may confirm or cancel."""
    query = query_of(update)
    parsed = await parse_or_refuse(query, "forget")
    if parsed is None:
        return
    if parsed.target != query.from_user.id:
        await answer(query, captions.NOT_YOURS)
        return
    if not parsed.confirm:
        await answer(query, "Nothing deleted.")
        await query.edit_message_text("OK, nothing was deleted.")
        return
    svc = services(context)
    deleted = await svc.store.forget_user(query.from_user.id)
    # their personal adapters too (models/*.adapters.npz; the shared models stay as they are)
    adapters = await asyncio.to_thread(forget_adapters, svc.settings.models_dir, query.from_user.id)
    deleted = deleted or bool(adapters)
    await answer(query, "Deleted." if deleted else "There was no data to delete.")
    await query.edit_message_text("🗑 Your data is deleted." if deleted else "There was no data to delete.")
