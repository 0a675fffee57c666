"""Embeddings → one saved index per variant; existing indexes are updated, not rebuilt.

Indexes live in an IndexBackend (engine.index.backends): hnswlib files or Milvus collections.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog.store import CatalogStore
from engine.embedders.base import Embedder
from engine.errors import IndexCorruptError, IndexMismatchError
from engine.index import HnswParams
from engine.index.backends import IndexBackend, SearchIndex, as_backend
from engine.index.metrics import Metric
from engine.provenance import index_provenance
from engine.variants import Variant

logger = logging.getLogger(__name__)


def build_variant_index(
    variant: Variant,
    ids: np.ndarray,
    features: np.ndarray,
    indexes: IndexBackend | Path,
    provenance: dict[str, Any],
    params: HnswParams | None = None,
    *,
    rebuild: bool = False,
) -> tuple[SearchIndex, float]:
    """Create or update the index of `variant` so it holds exactly `ids`; returns (index, seconds).

    `indexes`: a backend, or a folder for hnswlib files with `params`.
    """
    started = time.perf_counter()
    backend = as_backend(indexes, params)
    meta = provenance | {"metric": variant.metric, "dim": int(features.shape[1])}
    index = None if rebuild else _open_existing(backend, variant, meta)
    if index is None:
        index = backend.create(variant, features, ids, meta)
    else:
        present = set(index.ids().tolist())
        wanted = set(ids.tolist())
        new_rows = np.asarray([i for i, item in enumerate(ids.tolist()) if item not in present], dtype=np.int64)
        index.add(features[new_rows], ids[new_rows]) if len(new_rows) else None
        index.remove(sorted(present - wanted))
        index.meta = meta
        logger.info("%s: +%d −%d items", variant, len(new_rows), len(present - wanted))
    backend.save(variant, index)
    return index, time.perf_counter() - started


def _open_existing(backend: IndexBackend, variant: Variant, meta: dict[str, Any]) -> SearchIndex | None:
    try:
        return backend.open(variant, expect=meta)
    except (IndexMismatchError, IndexCorruptError) as exc:
        logger.warning("rebuilding %s: %s", variant, exc)
        return None


def build_all(
    embedder_name: str,
    metrics: Sequence[Metric],
    ids: np.ndarray,
    features: np.ndarray,
    indexes: IndexBackend | Path,
    provenance: dict[str, Any],
    params: HnswParams | None = None,
    rebuild: bool = False,
) -> dict[str, float]:
    """Every metric's index for one embedder; returns seconds per variant name."""
    backend = as_backend(indexes, params)
    seconds: dict[str, float] = {}
    for metric in metrics:
        variant = Variant(embedder_name, metric)
        _, seconds[str(variant)] = build_variant_index(
            variant, ids, features, backend, provenance, rebuild=rebuild
        )
    return seconds


def build_embedder_indexes(
    catalog: CatalogStore, embedder: Embedder, ids: np.ndarray, features: np.ndarray,
    indexes: IndexBackend | Path, metrics: Sequence[Metric], *, rebuild: bool = False,
) -> dict[str, float]:
    """Every metric's index of `embedder` over `catalog`, recording the provenance the engine checks
    when it loads them. scripts/build_index.py and retraining (engine.feedback.pipeline) both call it."""
    provenance = index_provenance(embedder.describe(), catalog.catalog_id, catalog.revision)
    return build_all(embedder.name, metrics, ids, features, indexes, provenance, rebuild=rebuild)
