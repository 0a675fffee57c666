"""/variant: list the search variants (embedder × metric) and let the user pick one."""
from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.votes import parse_or_refuse
from bot.interleave import personal_of
from bot.keyboards import variant_keyboard
from bot.services import services
from bot.updates import message_of, query_of, user_of


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the variants with the user's current one ticked."""
    svc = services(context)
    current = await svc.variant_of(user_of(update).id)
    personal = await personal_of(svc, user_of(update).id, current)
    if personal is not None:
        colour = " Your votes say colour matters to you, so it counts too." if personal.adapter.uses_appearance else ""
        status = (f"Personal results: ON: your photos are re-ranked by your own adapter of {personal.model} "
                  f"(learned from your votes; you have cast {personal.votes}).{colour}")
    else:
        status = (f"Personal results: off. They switch on once you have cast {svc.settings.personal_min_votes} "
                  "search votes and a retrained model has learned your taste.")
    await message_of(update).reply_text(
        f"Your search variant: {current}\n{status}\nPick another one:",
        reply_markup=variant_keyboard(svc.engine.variants(), current),
    )


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Handle `var:<index>`: store the choice and tick it."""
    query = query_of(update)
    svc = services(context)
    parsed = await parse_or_refuse(query, "variant")
    if parsed is None:
        return
    variants = svc.engine.variants()
    if parsed.target >= len(variants):
        await query.answer("That variant is no longer available; send /variant again.")
        return
    chosen = variants[parsed.target]
    await svc.store.set_variant(query.from_user.id, chosen)
    await query.answer(f"Variant set to {chosen}")
    text = f"Your search variant: {chosen}\nSend a photo to try it."
    if getattr(query.message, "text", None) != text:
        await query.edit_message_text(text, reply_markup=variant_keyboard(variants, chosen))
