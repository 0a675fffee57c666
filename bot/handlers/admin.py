"""Admin-only commands (user ids in settings.admin_ids): /reload, /models and /retrain."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.interleave import judge
from bot.lifecycle import discover_checkpoints, reload_models
from bot.retraining import retrain_and_enter
from bot.services import Services, services
from bot.updates import message_of, user_of
from engine.feedback.interleaving import decide

logger = logging.getLogger(__name__)

NOT_ADMIN = "This command is for the bot's admins."


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick up new or changed checkpoints and indexes now, and say what changed."""
    svc = services(context)
    if not svc.is_admin(user_of(update).id):
        await message_of(update).reply_text(NOT_ADMIN)
        return
    new = await discover_checkpoints(svc)
    report = await reload_models(svc, f"/reload by {user_of(update).id}")
    lines = [f"registered {name}" for name in new] + [report.summary()]
    await message_of(update).reply_text("🔄 Reload\n" + "\n".join(lines))


async def retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Retrain from the votes now (in a worker thread); the new model enters as challenger."""
    svc = services(context)
    if not svc.is_admin(user_of(update).id):
        await message_of(update).reply_text(NOT_ADMIN)
        return
    await message_of(update).reply_text("🧠 Retraining from the votes; the bot keeps serving meanwhile…")
    outcome = await retrain_and_enter(svc)
    if outcome is None:
        await message_of(update).reply_text(
            f"Not retrained: fewer than {svc.settings.retrain_min_votes} usable votes, or a retraining is running.")
        return
    record = await svc.registry.get(outcome.embedder)
    await message_of(update).reply_text(
        f"🧠 Retrained {outcome.embedder} from {outcome.train_votes} votes ({outcome.held_out_votes} held out); "
        f"personal adapters for {len(outcome.adapted_users)} users; registered as "
        f"{record.stage if record else 'unknown'}.")


async def models(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The registry: every model's stage, the running comparison and the latest decisions."""
    svc = services(context)
    if not svc.is_admin(user_of(update).id):
        await message_of(update).reply_text(NOT_ADMIN)
        return
    await judge(svc, context.bot)
    await message_of(update).reply_text(await registry_report(svc))


async def registry_report(svc: Services) -> str:
    """Plain text: stages, the champion/challenger tally and the last 10 transitions with reasons."""
    lines = ["🧪 Models"]
    for record in await svc.registry.models():
        held = {None: "", True: ", held-out ok", False: ", loses on held-out votes"}[record.held_out_ok]
        served = " (served)" if record.name in svc.engine.embedders else ""
        lines.append(f"• {record.name}: {record.stage} since {record.updated_at}{held}{served}")
    champion, challenger = await svc.registry.champion(), await svc.registry.challenger()
    if champion and challenger:
        metric = svc.settings.interleave_metric
        albums = await svc.registry.interleaved(f"{champion}/{metric}", f"{challenger}/{metric}")
        decision = decide([(a.champion_score, a.challenger_score) for a in albums],
                          min_comparisons=svc.settings.promotion_min_comparisons, alpha=svc.settings.promotion_alpha)
        lines.append(f"\n⚔️ {challenger} vs {champion}: {decision.reason}")
    lines.append("\nLatest decisions:")
    for event in await svc.registry.events(10):
        lines.append(f"{event.at} {event.name}: {event.from_stage or 'new'} → {event.to_stage} ({event.reason})")
    return "\n".join(lines)
