"""Runner: assemble reader → mapper → writer for one embedder over the catalog, timing each."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.catalog.store import CatalogStore, Item
from engine.embedders.base import Embedder
from engine.images import DEFAULT_MAX_PIXELS
from engine.ingest.mapper import embed_batches
from engine.ingest.device_decode import CatalogFiles, collate_raw, device_batches
from engine.ingest.reader import Batch, CatalogImages, catalog_loader, collate
from engine.ingest.writer import EmbeddingCache
from engine.provenance import cache_provenance

logger = logging.getLogger(__name__)

DECODERS = ("auto", "pil", "device")


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
    decoder: str = "auto",
) -> EmbeddingRun:
    """Embed every catalog item not yet cached; returns all current items' features.

    `decoder`: "pil" decodes and letterboxes in CPU workers; "device" decodes JPEGs in batches
    on the embedder's device (engine.ingest.device_decode); "auto" picks "device" on CUDA.
    """
    provenance = cache_provenance(embedder.describe(), catalog.catalog_id)
    cache = EmbeddingCache(cache_folder(embeddings_dir, embedder.name), provenance, reset_on_mismatch=True)
    done = cache.done_ids()
    items = [item for item in catalog.iter_items() if item.id not in done]
    timings: dict[str, float] = {}
    failed: list[tuple[int, str]] = []
    if items:
        logger.info("%s: embedding %d new items (%d cached)", embedder.name, len(items), len(done))
        failed = embed_into_cache(
            items, catalog.root, embedder, cache, timings, batch_size=batch_size, num_workers=num_workers,
            max_pixels=max_pixels, progress=progress, shard_size=shard_size, decoder=decoder,
        )
        for item_id, reason in failed:
            logger.warning("item %d skipped: %s", item_id, reason)
    ids, features = cache.load(only_ids=set(catalog.ids()))
    return EmbeddingRun(ids, features, len(items) - len(failed), failed, timings)


def embed_into_cache(
    items: Sequence[Item],
    root: Path,
    embedder: Embedder,
    cache: EmbeddingCache,
    timings: dict[str, float],
    *,
    batch_size: int = 32,
    num_workers: int = 2,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
    shard_size: int = 1024,
    decoder: str = "auto",
) -> list[tuple[int, str]]:
    """Embed `items` into `cache` in shards (resumable); returns the (id, reason) of unreadable ones.

    Adds each stage's seconds to `timings` (read, decode, embed, write).
    """
    failed: list[tuple[int, str]] = []
    loader = _reader(root, list(items), embedder, decoder, batch_size, num_workers, max_pixels, timings)
    pending_ids: list[int] = []
    pending: list[np.ndarray] = []
    with tqdm(total=len(items), desc=f"embed {embedder.name}", unit="img", disable=not progress) as bar:
        for batch, features in embed_batches(embedder, loader, timings):
            failed += batch.failed
            pending_ids += batch.ids
            pending.append(features)
            bar.update(len(batch.ids) + len(batch.failed))
            if len(pending_ids) >= shard_size:
                timings["write"] = timings.get("write", 0.0) + _flush(cache, pending_ids, pending)
                pending_ids, pending = [], []
    timings["write"] = timings.get("write", 0.0) + _flush(cache, pending_ids, pending)
    # the mapper's "read" wait includes the device decode, which is reported on its own
    timings["read"] = max(0.0, timings.get("read", 0.0) - timings.get("decode", 0.0))
    return failed


def _reader(root: Path, items: list[Item], embedder: Embedder, decoder: str, batch_size: int,
            num_workers: int, max_pixels: int, timings: dict[str, float]) -> Iterable[Batch]:
    """The batches of `items`, decoded by PIL in workers or by `embedder`'s device."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    pin = embedder.device.type == "cuda"
    if decoder == "pil" or (decoder == "auto" and not pin):
        dataset = CatalogImages(items, root, embedder.preprocess, max_pixels)
        return catalog_loader(dataset, batch_size=batch_size, num_workers=num_workers, pin_memory=pin,
                              collate_fn=collate)
    files = CatalogFiles(items, root, embedder.preprocess, max_pixels)
    raw = catalog_loader(files, batch_size=batch_size, num_workers=num_workers, pin_memory=False,
                         collate_fn=collate_raw)
    return device_batches(raw, embedder.input_size, embedder.device, embedder.preprocess, max_pixels, timings)


def _flush(cache: EmbeddingCache, ids: list[int], chunks: list[np.ndarray]) -> float:
    started = time.perf_counter()
    if ids:
        cache.append(ids, np.concatenate(chunks))
    return time.perf_counter() - started
