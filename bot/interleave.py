"""Champion × challenger in live searches: which albums interleave, how, and when to decide.

For `interleave_share` of the searches of users who kept the default variant, the album is a
team-draft interleaving (engine.feedback.interleaving) of the champion's and the challenger's
top-k; each match records the variant that contributed it, so every 👍/👎 on it is credited to
that model. After each vote on such an album the promotion rule is evaluated; a decision moves
the registry, reloads the served models and tells the admins.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import numpy as np
from telegram import Bot
from telegram.error import TelegramError

from bot.lifecycle import next_challenger, reload_models
from bot.personal import Personal, personal_for
from bot.services import Services
from engine.feedback.interleaving import Decision, decide, team_draft
from engine.feedback.personal import rerank
from engine.errors import EngineError, UnknownNameError
from engine.localise.regions import Box
from engine.search import ImageInput, Match, Matches
from engine.variants import Variant

logger = logging.getLogger(__name__)

PERSONAL_SUFFIX = "+personal"


@dataclass
class Found:
    """An album to show and what to record with it."""

    matches: Matches
    variant: str  # the query's variant (the champion's, for an interleaved album)
    model_version: str | None
    credit: list[str] | None = None  # per match: the variant that contributed it
    interleaving: tuple[str, str] | None = None  # (champion variant, challenger variant)
    vector_embedder: str | None = None  # whose feature `matches.vector` is, when not the variant's

    @property
    def embedder(self) -> str:
        """Whose feature `vector` is: a projection's built-in base when the search gave one."""
        if self.matches.base_vector is not None and self.matches.base_embedder:
            return self.matches.base_embedder
        return self.vector_embedder or Variant.parse(self.variant).embedder

    @property
    def vector(self) -> np.ndarray | None:
        """The query feature recorded with the votes (retraining learns a projection of the base)."""
        return self.matches.base_vector if self.matches.base_vector is not None else self.matches.vector


async def arms(svc: Services, user_id: int) -> tuple[str, str] | None:
    """(champion variant, challenger variant) when this search should be interleaved."""
    share = svc.settings.interleave_share
    if share <= 0 or svc.rng.random() >= share or await svc.store.get_variant(user_id) is not None:
        return None
    champion, challenger = await svc.registry.champion(), await svc.registry.challenger()
    if not champion or not challenger:
        return None
    metric = svc.settings.interleave_metric
    pair = (f"{champion}/{metric}", f"{challenger}/{metric}")
    variants = svc.engine.variants()
    return pair if all(v in variants for v in pair) else None


async def find_matches(svc: Services, user_id: int, image: ImageInput, variant: str,
                       box: Box | None = None) -> Found:
    """The user's album: personal, an interleaving of champion and challenger, or `variant`'s top-k.

    `box` searches that region of the photo instead of the product the localiser finds.

    A hot swap may unload a variant between choosing it and searching it (a challenger retired
    meanwhile): the search then falls back to a plain album, so no query is dropped.
    """
    personal = await personal_of(svc, user_id, variant)
    pair = None if personal is not None else await arms(svc, user_id)
    try:
        if personal is not None:
            return await personal_matches(svc, image, personal, box)
        if pair is not None:
            return await interleaved_matches(svc, image, pair, box)
    except UnknownNameError as error:
        logger.info("a variant went away mid-search (%s): plain album instead", error)
    try:
        matches = await svc.searcher.search(image, svc.settings.top_k, variant, box)
    except UnknownNameError:
        variant = svc.default_variant()
        matches = await svc.searcher.search(image, svc.settings.top_k, variant, box)
    return Found(matches, variant, matches.model_version)


async def interleaved_matches(svc: Services, image: ImageInput, pair: tuple[str, str],
                              box: Box | None = None) -> Found:
    """Team-draft interleaving of the champion's and the challenger's top-k."""
    k = svc.settings.top_k
    champion, challenger = await asyncio.gather(*(svc.searcher.search(image, k, v, box) for v in pair))
    by_id = {int(m.item.id or 0): m for m in [*challenger, *champion]}  # champion's distance wins ties
    album = team_draft([int(m.item.id or 0) for m in champion], [int(m.item.id or 0) for m in challenger],
                       k, svc.rng)
    matches = champion.replaced([Match(by_id[item].item, by_id[item].distance, rank)
                                 for rank, (item, _) in enumerate(album, start=1)])
    version = f"{champion.model_version}|{challenger.model_version}"
    return Found(matches, pair[0], version, [pair[team] for _, team in album], pair)


async def personal_of(svc: Services, user_id: int, variant: str) -> Personal | None:
    """This user's adapter, if a served model has one and they voted enough (bot/personal.py)."""
    votes = await svc.store.search_vote_count(user_id)
    return await personal_for(svc.engine, svc.adapters, svc.settings.models_dir, user_id, votes,
                              svc.settings.personal_min_votes)


async def personal_matches(svc: Services, image: ImageInput, personal: Personal, box: Box | None = None) -> Found:
    """The base index's candidates, re-ranked in the user's own space."""
    k = svc.settings.top_k
    candidates = await svc.searcher.search(image, max(k, svc.settings.personal_candidates), personal.base_variant, box)
    ids = np.asarray([int(m.item.id or 0) for m in candidates], dtype=np.int64)
    stored = await svc.searcher.stored_vectors(personal.base_variant, ids.tolist())
    if candidates.vector is None:  # only a search that embedded nothing lacks it; nothing to re-rank
        raise EngineError("the base search returned no query vector to re-rank")
    colours = None
    if personal.adapter.uses_appearance and candidates.appearance is not None:
        colours = await svc.searcher.appearance_of(ids.tolist())
    top, distances = rerank(personal.adapter, candidates.vector, ids, stored, k,
                            query_appearance=candidates.appearance, stored_appearance=colours)
    items = {int(m.item.id or 0): m.item for m in candidates}
    matches = candidates.replaced([Match(items[int(i)], float(d), rank)
                                   for rank, (i, d) in enumerate(zip(top, distances), 1)])
    base = Variant.parse(personal.base_variant)
    return Found(matches, personal_variant(personal.model, base.metric),
                 f"personal:{personal.model}:{candidates.model_version}", vector_embedder=base.embedder)


def personal_variant(model: str, metric: str) -> str:
    """How personal results are labelled in the votes and on /leaderboard: `ft:x+personal/l2`."""
    return f"{model}{PERSONAL_SUFFIX}/{metric}"


async def judge(svc: Services, bot: Bot) -> Decision | None:
    """Evaluate the promotion rule for the current pair; act on a decision (None: nothing to judge)."""
    async with svc.judge_lock:
        champion, challenger = await svc.registry.champion(), await svc.registry.challenger()
        if not champion or not challenger:
            return None
        metric = svc.settings.interleave_metric
        albums = await svc.registry.interleaved(f"{champion}/{metric}", f"{challenger}/{metric}")
        record = await svc.registry.get(challenger)
        decision = decide([(a.champion_score, a.challenger_score) for a in albums],
                          min_comparisons=svc.settings.promotion_min_comparisons,
                          alpha=svc.settings.promotion_alpha, held_out_ok=record.held_out_ok if record else None)
        if decision.action == "wait":
            return decision
        stage = "champion" if decision.action == "promote" else "retired"
        await svc.registry.move(challenger, stage, decision.reason)
        following = await next_challenger(svc)
    logger.info("registry: %s → %s (%s)", challenger, stage, decision.reason)
    await reload_models(svc, f"{challenger} {stage}")
    text = f"🏁 {challenger} is now {stage}: {decision.reason}."
    if following:
        text += f"\nNext challenger: {following}."
    await tell_admins(svc, bot, text)
    return decision


async def tell_admins(svc: Services, bot: Bot, text: str) -> None:
    """Best effort: an admin who never started the bot cannot be messaged."""
    for admin in svc.settings.admin_ids:
        try:
            await bot.send_message(admin, text)
        except TelegramError as error:
            logger.warning("could not tell admin %s: %s", admin, error)
