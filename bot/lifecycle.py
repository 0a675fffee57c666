"""The running bot's model lifecycle: hot reloads (file watching, SIGHUP, /reload) and the registry.

What is served = the embedders in settings + the registry's champion and challenger. Reloading
runs `engine.reload.ModelReloader` in a worker thread; only the reference swap touches serving.
New `ft:*` checkpoints found in models/ enter the registry on their own: as challenger when there
is none, else as candidates waiting in line.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from telegram.ext import ContextTypes

from bot.services import Services, job_services
from bot.ptb import BotApplication
from engine.embedders.checkpoints import checkpoint_name, list_checkpoints
from engine.reload import ReloadReport
from engine.variants import Variant

logger = logging.getLogger(__name__)

WATCH_JOB = "watch-models"


async def served_names(svc: Services) -> list[str]:
    """Embedders that should be loaded now, settings first."""
    return list(dict.fromkeys([*svc.settings.embedders, *await svc.registry.served()]))


async def reload_models(svc: Services, why: str, *, force: bool = False) -> ReloadReport:
    """Bring the served models in line with the registry and the files (one reload at a time)."""
    async with svc.reload_lock:
        names = await served_names(svc)
        report = await asyncio.to_thread(svc.reloader.reload, names, force=force)
        await refresh_champion(svc)
    if report.swapped or report.refused:
        logger.info("reload (%s): %s", why, report.summary().replace("\n", "; "))
    return report


async def refresh_champion(svc: Services) -> None:
    """Cache the champion's variant for default_variant() (only when it is being served)."""
    champion = await svc.registry.champion()
    variant = f"{champion}/{svc.settings.interleave_metric}" if champion else None
    svc.champion_variant = variant if variant in svc.engine.variants() else None


async def ensure_champion(svc: Services) -> None:
    """A fresh registry starts with the configured default as its champion."""
    if await svc.registry.champion() is None:
        name = Variant.parse(svc.default_variant()).embedder
        await svc.registry.enter(name, "champion", "initial champion: the configured default")
        logger.info("registry: %s is the initial champion", name)


async def discover_checkpoints(svc: Services) -> list[str]:
    """Register `ft:*` checkpoints the registry has not seen; returns the new names."""
    known = {record.name for record in await svc.registry.models()}
    found = [checkpoint_name(p) for p in await asyncio.to_thread(list_checkpoints, svc.settings.models_dir)]
    new = [name for name in found if name not in known and name not in svc.settings.embedders]
    for name in new:
        stage = "candidate" if await svc.registry.challenger() else "challenger"
        await svc.registry.enter(name, stage, "new checkpoint found in models/")
        logger.info("registry: %s entered as %s", name, stage)
    return new


async def next_challenger(svc: Services) -> str | None:
    """When no challenger is left, the oldest candidate steps up."""
    if await svc.registry.challenger() is not None:
        return None
    candidates = [m.name for m in await svc.registry.models() if m.stage == "candidate"]
    if not candidates:
        return None
    await svc.registry.move(candidates[0], "challenger", "next candidate in line")
    return candidates[0]


async def watch_models(context: ContextTypes.DEFAULT_TYPE) -> None:
    """JobQueue callback: register new checkpoints, reload what changed once files settle."""
    svc = job_services(context)
    await discover_checkpoints(svc)
    names = await served_names(svc)
    if await asyncio.to_thread(svc.reloader.settled, names):
        await reload_models(svc, "files changed")


def start_watching(app: BotApplication, svc: Services) -> None:
    """Poll models/ and indexes/ every reload_poll_seconds (off at 0 or without a JobQueue)."""
    seconds = svc.settings.reload_poll_seconds
    if seconds > 0 and app.job_queue is not None:
        app.job_queue.run_repeating(watch_models, interval=seconds, first=seconds, data=svc, name=WATCH_JOB)


def install_sighup(svc: Services) -> bool:
    """`kill -HUP <pid>` reloads the models (main thread on POSIX only); True when installed."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, _on_sighup, svc)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        return False
    svc.sighup_installed = True
    return True


def remove_sighup(svc: Services) -> None:
    if svc.sighup_installed:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        svc.sighup_installed = False


def _on_sighup(svc: Services) -> None:
    task = asyncio.get_running_loop().create_task(_reload_logged(svc, "SIGHUP"))
    svc.background.add(task)
    task.add_done_callback(svc.background.discard)


async def _reload_logged(svc: Services, why: str) -> Any:
    try:
        await discover_checkpoints(svc)
        return await reload_models(svc, why)
    except Exception:  # a signal has no caller to report to: log it, keep serving
        logger.exception("reload after %s failed; the loaded models keep serving", why)
        return None
