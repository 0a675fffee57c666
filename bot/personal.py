"""Personal results served live: a user's own adapter re-ranks the base index's candidates.

Measured choice (scripts/bench_personal.py): re-ranking `personal_candidates` candidates of the
base embedder's l2 index in the user's space, rather than one index per adapter. A user gets it
when a served projection model (their variant's, else the champion, else the challenger) has an
adapter for them in models/<name>.adapters.npz and they have cast `personal_min_votes` search
votes. Adapters files are re-read when they change (retraining, /forget).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.embedders.registry import FINETUNED_PREFIX
from engine.feedback.personal import UserAdapters, adapters_path
from engine.search import Engine

Stamp = tuple[int, int]


@dataclass(frozen=True)
class Personal:
    """Who gets which adapter: the model it came with and the base variant it re-ranks."""

    model: str
    base_variant: str
    projection: tuple[np.ndarray, np.ndarray]
    votes: int


@dataclass
class AdapterCache:
    """Adapters files by path, re-read (in a worker thread) when their size or mtime changes."""

    loaded: dict[Path, tuple[Stamp, UserAdapters]] = field(default_factory=dict)

    async def get(self, path: Path) -> UserAdapters | None:
        try:
            info = path.stat()
        except FileNotFoundError:
            self.loaded.pop(path, None)
            return None
        stamp = (info.st_size, info.st_mtime_ns)
        cached = self.loaded.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, await asyncio.to_thread(UserAdapters.load, path))
            self.loaded[path] = cached
        return cached[1]


def base_variant_of(engine: Engine, model: str) -> str | None:
    """`<base>/l2` of a served projection model, when that variant is served too."""
    embedder = engine.embedders.get(model)
    checkpoint = embedder.provenance.get("checkpoint") if embedder else None
    base = checkpoint.get("base") if isinstance(checkpoint, dict) else None
    variant = f"{base}/l2" if base else None
    return variant if variant in engine.variants() else None


async def personal_for(engine: Engine, cache: AdapterCache, models_dir: Path, user_id: int,
                       models: list[str], votes: int, min_votes: int) -> Personal | None:
    """The first of `models` with an adapter for this user, once they have voted enough."""
    if votes < min_votes:
        return None
    for model in dict.fromkeys(m for m in models if m and m.startswith(FINETUNED_PREFIX)):
        adapters = await cache.get(adapters_path(models_dir / f"{model[len(FINETUNED_PREFIX):]}.pt"))
        base_variant = base_variant_of(engine, model)
        if adapters is not None and adapters.has(user_id) and base_variant:
            return Personal(model, base_variant, adapters.projections[user_id], votes)
    return None
