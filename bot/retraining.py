"""Scheduled retraining inside the running bot (a JobQueue job; off unless retrain_interval_hours > 0).

The training itself runs in a worker thread (`asyncio.to_thread`), never on the event loop; the
new model is written under a fresh name, enters the registry as challenger (or candidate) and is
loaded by a hot reload, so it is interleaved with the champion without a restart.
"""
from __future__ import annotations

import asyncio
import logging

from telegram.ext import ContextTypes

from bot.lifecycle import reload_models
from bot.services import Services, job_services
from bot.ptb import BotApplication
from engine.catalog import CatalogStore
from engine.feedback.challenger import enter_as_challenger, timestamped_name
from engine.feedback.pipeline import RetrainOutcome, RetrainPaths, retrain_from_votes
from engine.feedback.retrain import NotEnoughVotes, RetrainConfig
from engine.index.backends import IndexBackend
from engine.settings import Settings

logger = logging.getLogger(__name__)

RETRAIN_JOB = "retrain"


def retrain(settings: Settings, name: str, indexes: IndexBackend | None = None) -> RetrainOutcome:
    """Blocking: votes → ft:<name> and its indexes in `indexes` (the engine's backend; the catalog
    opened in this thread)."""
    paths = RetrainPaths.from_settings(settings, indexes)
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        return retrain_from_votes(catalog, paths, RetrainConfig(
            name=name, metrics=(settings.interleave_metric,), device=settings.device,
            min_votes=settings.retrain_min_votes, min_user_votes=settings.personal_min_votes, progress=False,
            allow_random=settings.allow_random_weights))


async def retrain_and_enter(svc: Services) -> RetrainOutcome | None:
    """Retrain off the loop, register the result, hot-reload; None when there are too few votes."""
    if svc.retraining:
        logger.info("retraining already running; skipped")
        return None
    svc.retraining = True
    try:
        outcome = await asyncio.to_thread(retrain, svc.settings, timestamped_name(), svc.engine.backend)
    except NotEnoughVotes as exc:
        logger.info("scheduled retraining skipped: %s", exc)
        return None
    finally:
        svc.retraining = False
    stage = await enter_as_challenger(svc.registry, outcome)
    logger.info("retrained %s from %d votes; registered as %s", outcome.embedder, outcome.train_votes, stage)
    await reload_models(svc, f"retrained {outcome.embedder}")
    return outcome


async def retrain_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback; a failure is logged and the next interval tries again."""
    svc = job_services(context)
    try:
        await retrain_and_enter(svc)
    except Exception:  # a job has no user to answer: log, keep the bot serving
        logger.exception("scheduled retraining failed; the served models are unchanged")


def start_retraining(app: BotApplication, svc: Services) -> None:
    """Schedule retraining every retrain_interval_hours (0 = off, the default)."""
    hours = svc.settings.retrain_interval_hours
    if hours > 0 and app.job_queue is not None:
        seconds = hours * 3600
        app.job_queue.run_repeating(retrain_job, interval=seconds, first=seconds, data=svc, name=RETRAIN_JOB)
