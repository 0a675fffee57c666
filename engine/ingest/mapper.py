"""Mapper: uint8 batches → features. The only stage that touches the model's device."""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import numpy as np

from engine.embedders.base import Embedder
from engine.ingest.reader import Batch


def embed_batches(
    embedder: Embedder, batches: Iterable[Batch], timings: dict[str, float]
) -> Iterator[tuple[Batch, np.ndarray]]:
    """Yield each batch with its features; adds wall time to timings['read'] and ['embed']."""
    iterator = iter(batches)
    while True:
        started = time.perf_counter()
        batch = next(iterator, None)
        timings["read"] = timings.get("read", 0.0) + time.perf_counter() - started
        if batch is None:
            return
        started = time.perf_counter()
        features = embedder.embed_batch(batch.pixels) if batch.ids else np.zeros((0, embedder.dim), np.float32)
        timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - started
        yield batch, features
