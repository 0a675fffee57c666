"""Runner: assemble reader → mapper → writer for one embedder over the catalog, timing each."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.catalog.store import CatalogStore
from engine.embedders.base import Embedder
from engine.images import DEFAULT_MAX_PIXELS
from engine.ingest.mapper import embed_batches
from engine.ingest.reader import CatalogImages, catalog_loader
from engine.ingest.writer import EmbeddingCache

logger = logging.getLogger(__name__)


@dataclass
class EmbeddingRun:
    """What one ingestion produced and how long each stage took (seconds)."""

    ids: np.ndarray
    features: np.ndarray
    embedded_now: int
    failed: list[tuple[int, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def cache_folder(embeddings_dir: Path, embedder_name: str) -> Path:
    return embeddings_dir / embedder_name.replace(":", "--")


def embed_catalog(
    catalog: CatalogStore,
    embedder: Embedder,
    embeddings_dir: Path,
    *,
    batch_size: int = 32,
    num_workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
    shard_size: int = 1024,
) -> EmbeddingRun:
    """Embed every catalog item not yet cached; returns all current items' features."""
    provenance = embedder.describe() | {"catalog_id": catalog.catalog_id}
    cache = EmbeddingCache(cache_folder(embeddings_dir, embedder.name), provenance, reset_on_mismatch=True)
    done = cache.done_ids()
    items = [item for item in catalog.iter_items() if item.id not in done]
    timings: dict[str, float] = {}
    failed: list[tuple[int, str]] = []
    if items:
        logger.info("%s: embedding %d new items (%d cached)", embedder.name, len(items), len(done))
        dataset = CatalogImages(items, catalog.root, embedder.preprocess, max_pixels)
        loader = catalog_loader(
            dataset, batch_size=batch_size, num_workers=num_workers,
            pin_memory=embedder.device.type == "cuda",
        )
        pending_ids: list[int] = []
        pending: list[np.ndarray] = []
        bar = tqdm(total=len(items), desc=f"embed {embedder.name}", unit="img", disable=not progress)
        for batch, features in embed_batches(embedder, loader, timings):
            failed += batch.failed
            pending_ids += batch.ids
            pending.append(features)
            bar.update(len(batch.ids) + len(batch.failed))
            if len(pending_ids) >= shard_size:
                timings["write"] = timings.get("write", 0.0) + _flush(cache, pending_ids, pending)
                pending_ids, pending = [], []
        timings["write"] = timings.get("write", 0.0) + _flush(cache, pending_ids, pending)
        bar.close()
        for item_id, reason in failed:
            logger.warning("item %d skipped: %s", item_id, reason)
    ids, features = cache.load(only_ids=set(catalog.ids()))
    return EmbeddingRun(ids, features, len(items) - len(failed), failed, timings)


def _flush(cache: EmbeddingCache, ids: list[int], chunks: list[np.ndarray]) -> float:
    started = time.perf_counter()
    if ids:
        cache.append(ids, np.concatenate(chunks))
    return time.perf_counter() - started
