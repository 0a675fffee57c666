"""A retrained model enters the registry as challenger (or candidate), with its held-out verdict.

Used by scripts/retrain.py --as-challenger and by the bot's scheduled retraining job, so both
register a new model the same way. The held-out check is retraining's own: the new global
projection must order the held-out votes at least as well as the base embedder did.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from engine.feedback.pipeline import RetrainOutcome
from votes.registry import ModelRegistry


def timestamped_name(prefix: str = "votes") -> str:
    """A fresh checkpoint name per retraining (`votes-20261127-1203`): models are never overwritten."""
    return f"{prefix}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"


def held_out_ok(figures: dict[str, Any]) -> bool | None:
    """True when the new model agrees with held-out votes at least as often as the base (None: no votes)."""
    agreement = figures.get("agreement", {})
    before, after = agreement.get("before"), agreement.get("after_global")
    if before is None or after is None or math.isnan(before) or math.isnan(after):
        return None
    return bool(after >= before)


async def enter_as_challenger(registry: ModelRegistry, outcome: RetrainOutcome) -> str:
    """Register `outcome`'s model: challenger if none is being judged, else candidate; returns the stage."""
    stage = "candidate" if await registry.challenger() else "challenger"
    agreement = outcome.figures.get("agreement", {})
    reason = (f"retrained from {outcome.train_votes} votes; held-out agreement "
              f"{agreement.get('before', float('nan')):.3f} → {agreement.get('after_global', float('nan')):.3f}")
    await registry.enter(outcome.embedder, stage, reason, held_out_ok=held_out_ok(outcome.figures))
    return stage
