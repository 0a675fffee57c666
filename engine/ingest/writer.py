"""Writer: a resumable on-disk cache of embeddings, one folder per embedder.

Features are appended as numbered shards (`part-00000.npz`: ids + float32 features), each written
atomically, so an interrupted run resumes where it stopped and a finished one is never redone.
`meta.json` records the embedder's provenance; a cache made by another model is refused.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_write
from engine.errors import EmbeddingCacheMismatchError
from engine.provenance import check

logger = logging.getLogger(__name__)


class EmbeddingCache:
    """Embeddings of one embedder for one catalog."""

    def __init__(self, folder: Path, provenance: dict[str, Any], *, reset_on_mismatch: bool = False):
        self.folder, self.provenance = folder, provenance
        meta_path = folder / "meta.json"
        if meta_path.exists():
            found = json.loads(meta_path.read_text())
            try:
                check(found, provenance, folder, error=EmbeddingCacheMismatchError)
            except EmbeddingCacheMismatchError:
                if not reset_on_mismatch:
                    raise
                logger.warning("embedding cache %s is for another model/catalog: rebuilding", folder)
                shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if not meta_path.exists():
            meta_path.write_text(json.dumps(provenance, indent=2, sort_keys=True))

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.npz"))

    def done_ids(self) -> set[int]:
        done: set[int] = set()
        for shard in self._shards():
            with np.load(shard) as data:
                done.update(data["ids"].tolist())
        return done

    def append(self, ids: list[int], features: np.ndarray) -> None:
        if not ids:
            return
        target = self.folder / f"part-{len(self._shards()):05d}.npz"
        with atomic_write(target) as handle:
            np.savez(handle, ids=np.asarray(ids, np.int64), features=features.astype(np.float32))

    def load(self, only_ids: set[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, features) sorted by id; the latest shard wins for a repeated id."""
        latest: dict[int, np.ndarray] = {}
        for shard in self._shards():
            with np.load(shard) as data:
                for item_id, row in zip(data["ids"].tolist(), data["features"]):
                    if only_ids is None or item_id in only_ids:
                        latest[item_id] = row
        ids = np.asarray(sorted(latest), dtype=np.int64)
        dim = int(self.provenance.get("dim", 0))
        features = np.stack([latest[i] for i in ids.tolist()]) if len(ids) else np.zeros((0, dim), np.float32)
        return ids, features.astype(np.float32, copy=False)
