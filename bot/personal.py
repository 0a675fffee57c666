"""Personal results served live: a user's own adapter re-ranks the base index's candidates.

Measured choice (scripts/bench_personal.py): re-ranking `personal_candidates` candidates of the
base embedder's l2 index in the user's space, rather than one index per adapter. Adapters are
judged per user, apart from the champion/challenger comparison of the shared models: a user gets
the newest adapters file (models/*.adapters.npz, written by retraining) that has their adapter
and whose base embedder is served, once they have cast `personal_min_votes` search votes.
Files are re-read when they change (retraining, /forget).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from engine.embedders.checkpoints import FINETUNED_PREFIX
from engine.feedback.personal import Adapter, UserAdapters
from engine.search import Engine

Stamp = tuple[int, int]
SUFFIX = ".adapters.npz"


@dataclass(frozen=True)
class Personal:
    """Which adapter a user gets: the retrained model it came with and the base variant it re-ranks."""

    model: str
    base_variant: str
    adapter: Adapter
    votes: int


@dataclass
class AdapterCache:
    """Adapters files by path, re-read (in a worker thread) when their size or mtime changes."""

    loaded: dict[Path, tuple[Stamp, UserAdapters]] = field(default_factory=dict)

    async def newest_first(self, models_dir: Path) -> list[tuple[Path, UserAdapters]]:
        files = await asyncio.to_thread(_adapter_files, models_dir)
        found = []
        for path, stamp in files:
            cached = self.loaded.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, await asyncio.to_thread(UserAdapters.load, path))
                self.loaded[path] = cached
            found.append((path, cached[1]))
        return found


def _adapter_files(models_dir: Path) -> list[tuple[Path, Stamp]]:
    """(path, (size, mtime_ns)) of every adapters file, newest first."""
    if not models_dir.is_dir():
        return []
    files = []
    for path in models_dir.glob(f"*{SUFFIX}"):
        try:
            info = path.stat()
        except FileNotFoundError:  # replaced or deleted meanwhile
            continue
        files.append((path, (info.st_size, info.st_mtime_ns)))
    return sorted(files, key=lambda entry: entry[1][1], reverse=True)


async def personal_for(engine: Engine, cache: AdapterCache, models_dir: Path, user_id: int,
                       votes: int, min_votes: int) -> Personal | None:
    """This user's newest adapter whose base is served, once they have voted enough."""
    if votes < min_votes:
        return None
    variants = engine.variants()
    for path, adapters in await cache.newest_first(models_dir):
        base_variant = f"{adapters.base}/l2"
        if adapters.has(user_id) and base_variant in variants:
            model = FINETUNED_PREFIX + path.name[: -len(SUFFIX)]
            return Personal(model, base_variant, adapters.of(user_id), votes)
    return None
