"""/leaderboard: variants ranked by approval, with 95% Wilson intervals, plus a bar chart."""
from __future__ import annotations

import asyncio
import io
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from bot.chat_action import keep_chat_action
from bot.ranking import LeaderboardRow, format_leaderboard, leaderboard, wilson_interval
from bot.services import Services, services
from bot.updates import chat_of, message_of
from engine.feedback.interleaving import sign_test_p, tally

logger = logging.getLogger(__name__)


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the three tables (search, game, all) and, when there are votes, a PNG chart."""
    svc = services(context)
    counts = await svc.store.leaderboard_counts()
    variants = svc.engine.variants()
    tables = [
        format_leaderboard("🔎 Search votes", leaderboard(counts, "search", variants)),
        format_leaderboard("🎲 Game votes", leaderboard(counts, "game", variants)),
        format_leaderboard("🏆 All votes", leaderboard(counts, None, variants)),
        await interleaving_table(svc),
    ]
    await message_of(update).reply_text("\n\n".join(tables))
    overall = leaderboard(counts, None, variants)
    if any(row.n for row in overall):
        async with keep_chat_action(context.bot, chat_of(update).id, ChatAction.UPLOAD_PHOTO):
            png = await asyncio.to_thread(render_chart, overall)  # matplotlib: off the loop
            await message_of(update).reply_photo(png, caption="Approval rate with 95% CI (all votes)")


async def interleaving_table(svc: Services) -> str:
    """Champion × challenger: interleaved albums won, with a 95% Wilson interval and the sign test."""
    title = "⚔️ Interleaving (champion × challenger, blind mixed albums)"
    champion, challenger = await svc.registry.champion(), await svc.registry.challenger()
    if not champion or not challenger:
        return f"{title}\n  champion: {champion or 'none'}; no challenger right now"
    metric = svc.settings.interleave_metric
    albums = await svc.registry.interleaved(f"{champion}/{metric}", f"{challenger}/{metric}")
    result = tally((a.champion_score, a.challenger_score) for a in albums)
    low, high = wilson_interval(result.wins, result.decided)
    rate = result.wins / result.decided if result.decided else 0.0
    return (f"{title}\n{challenger} beat {champion} in {result.wins} of {result.decided} decided albums "
            f"({rate:.0%}, 95% CI {low:.0%}–{high:.0%}; {result.ties} ties; "
            f"sign test p={sign_test_p(result.wins, result.losses):.3g}; "
            f"decided at {svc.settings.promotion_min_comparisons})")


def render_chart(rows: list[LeaderboardRow]) -> bytes:
    """A horizontal bar chart of approval rates with Wilson error bars (worker thread, Agg)."""
    from matplotlib.figure import Figure  # lazy: matplotlib is slow to import

    figure = Figure(figsize=(6, 0.5 * len(rows) + 1.2), dpi=100)
    axes = figure.subplots()
    names = [row.variant for row in rows][::-1]
    rates = [row.rate for row in rows][::-1]
    # max(0, …): Wilson bounds of 0% or 100% can sit a rounding error inside the rate
    errors = [[max(0.0, r.rate - r.low) for r in rows][::-1], [max(0.0, r.high - r.rate) for r in rows][::-1]]
    axes.barh(names, rates, xerr=errors, color="#4c8bf5", capsize=3)
    axes.set_xlim(0, 1)
    axes.set_xlabel("approval rate (share of dope votes)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # Figure without pyplot: Agg canvas, no display needed
    return buffer.getvalue()
