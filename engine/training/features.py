"""Catalog items → cached features or in-memory pixels, reusing the ingestion reader and writer.

`embed_items` is `engine.ingest.embed_catalog` for an arbitrary list of items (one split, a
sample): the same DataLoader reader, the same mapper (the only accelerator code) and the same
resumable `EmbeddingCache`, so an interrupted run picks up where it stopped.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm
from typing import Any

from engine.catalog.store import Item
from engine.embedders.base import Embedder, letterbox, pil_to_uint8_tensor
from engine.images import DEFAULT_MAX_PIXELS
from engine.ingest.reader import CatalogImages, catalog_loader, collate
from engine.ingest.runner import embed_into_cache
from engine.ingest.writer import EmbeddingCache

logger = logging.getLogger(__name__)


def embed_items(
    items: Sequence[Item],
    root: Path,
    embedder: Embedder,
    folder: Path,
    provenance: dict[str, Any],
    *,
    batch_size: int = 64,
    workers: int = 2,
    progress: bool = True,
    shard_size: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of `items` (ids, (n, dim) float32) in the order of `items`; unreadable items raise."""
    cache = EmbeddingCache(folder, provenance | embedder.describe(), reset_on_mismatch=True)
    done = cache.done_ids()
    todo = [item for item in items if item.id not in done]
    if todo:
        timings: dict[str, float] = {}
        failed = embed_into_cache(todo, root, embedder, cache, timings, batch_size=batch_size,
                                  num_workers=workers, progress=progress, shard_size=shard_size, decoder="pil")
        if failed:
            raise ValueError(f"unreadable catalog images: {failed[:3]}")
        logger.info("%s: embedded %d items (%s)", embedder.name, len(todo),
                    ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    wanted = [int(item.id or 0) for item in items]
    ids, features = cache.load(only_ids=set(wanted))
    row = {item_id: r for r, item_id in enumerate(ids.tolist())}
    order = np.asarray([row[i] for i in wanted], dtype=np.int64)
    return np.asarray(wanted, dtype=np.int64), features[order]


def _preprocess(image: Image.Image, size: int) -> torch.Tensor:
    return pil_to_uint8_tensor(letterbox(image, size))


def load_pixels(
    items: Sequence[Item], root: Path, size: int, *, workers: int = 2, progress: bool = True
) -> torch.Tensor:
    """(n, 3, size, size) uint8 crops of `items`, letterboxed exactly like an Embedder does."""
    dataset = CatalogImages(list(items), root, functools.partial(_preprocess, size=size), DEFAULT_MAX_PIXELS)
    loader = catalog_loader(dataset, batch_size=256, num_workers=workers, pin_memory=False, collate_fn=collate)
    out = torch.empty((len(items), 3, size, size), dtype=torch.uint8)
    position = 0
    with tqdm(total=len(items), desc=f"load {size}px", unit="img", disable=not progress) as bar:
        for batch in loader:
            if batch.failed:
                raise ValueError(f"unreadable catalog images: {batch.failed[:3]}")
            out[position : position + len(batch.ids)] = batch.pixels
            position += len(batch.ids)
            bar.update(len(batch.ids))
    return out


def pixel_features(
    items: Sequence[Item], root: Path, size: int, *, workers: int = 2, progress: bool = True
) -> np.ndarray:
    """The raw-pixel baseline's vectors: letterboxed RGB crops flattened to float32."""
    pixels = load_pixels(items, root, size, workers=workers, progress=progress)
    return pixels.reshape(len(items), -1).numpy().astype(np.float32)
