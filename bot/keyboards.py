"""Inline keyboards. Pure functions: data in, `InlineKeyboardMarkup` out."""
from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks

UP, DOWN, CHECK = "👍", "👎", "✅"


def _mark(label: str, chosen: bool) -> str:
    return f"{CHECK}{label}" if chosen else label


def vote_keyboard(rows: Sequence[tuple[int, int, int | None]],
                  others: Sequence[tuple[int, tuple[float, float, float, float]]] = (),
                  query_id: int | None = None) -> InlineKeyboardMarkup:
    """One row per match: (shown_id, rank, current vote or None) → `#rank 👍 | #rank 👎`.

    `others` are the other products found in the photo, (number on the preview, box): a last row
    of "🔍 Item N" buttons searches them (Shop The Look), needing the `query_id` they belong to.
    """
    buttons = [
        [InlineKeyboardButton(f"#{rank} {_mark(UP, value == 1)}", callback_data=callbacks.vote(shown_id, 1)),
         InlineKeyboardButton(f"#{rank} {_mark(DOWN, value == -1)}", callback_data=callbacks.vote(shown_id, -1))]
        for shown_id, rank, value in rows
    ]
    if others and query_id is not None:
        buttons.append([InlineKeyboardButton(f"🔍 Item {number}", callback_data=callbacks.region(query_id, box))
                        for number, box in others])
    return InlineKeyboardMarkup(buttons)


def game_keyboard(pair_id: int, value: int | None = None) -> InlineKeyboardMarkup:
    """👍 dope / 👎 nope; once voted, the choice is ticked and "Next pair" appears."""
    buttons = [[
        InlineKeyboardButton(_mark(f"{UP} dope", value == 1), callback_data=callbacks.game_vote(pair_id, 1)),
        InlineKeyboardButton(_mark(f"{DOWN} nope", value == -1), callback_data=callbacks.game_vote(pair_id, -1)),
    ]]
    if value is not None:
        buttons.append([InlineKeyboardButton("▶️ Next pair", callback_data=callbacks.next_pair())])
    return InlineKeyboardMarkup(buttons)


def variant_keyboard(variants: Sequence[str], current: str | None) -> InlineKeyboardMarkup:
    """One button per variant; the current one ticked."""
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(_mark(name, name == current), callback_data=callbacks.variant(index))]
        for index, name in enumerate(variants)
    ])


def forget_keyboard(user_id: int) -> InlineKeyboardMarkup:
    """Yes / Cancel for `user_id`'s /forget (only that user's presses count)."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("🗑 Yes, delete my data", callback_data=callbacks.forget(user_id, True)),
        InlineKeyboardButton("Cancel", callback_data=callbacks.forget(user_id, False)),
    ]])
