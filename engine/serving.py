"""Async access to the Engine: queries wait a few milliseconds to share one forward pass.

The event loop never runs torch or hnswlib: a single worker task gathers concurrent requests
(until `window_ms` passes or `max_batch` are waiting), then runs `Engine.search_many` in a thread.
One batch at a time keeps CPU threads from fighting each other and lets a GPU see full batches.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.errors import EngineError
from engine.localise.regions import Box
from engine.search import Engine, ImageInput, Matches, Query

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    query: Query
    future: asyncio.Future[Matches]
    enqueued: float = field(default_factory=time.perf_counter)


def auto_max_batch(engine: Engine) -> int:
    """32 when any embedder runs on CUDA; 1 on CPU.

    On a CPU, per-image cost does not fall with batch size (it rises past a few images), so a
    batch only makes its first query wait for the last; queries still run one at a time off the
    loop, which keeps concurrent users from oversubscribing the cores (docs/PERFORMANCE.md).
    """
    on_gpu = any(e.device.type == "cuda" for e in engine.embedders.values())
    return 32 if on_gpu else 1


class BatchingSearcher:
    """`await searcher.search(photo, k, variant)` from any number of concurrent coroutines."""

    def __init__(self, engine: Engine, *, window_ms: float = 5.0, max_batch: int = 0) -> None:
        self.engine = engine
        self.window = window_ms / 1000
        self.max_batch = max_batch or auto_max_batch(engine)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batch_sizes: list[int] = []  # for benchmarks: how well batching worked

    async def initialize(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="engine-batcher")

    async def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def search(self, image: ImageInput, k: int, variant: str, box: Box | None = None) -> Matches:
        """Top-k matches (with `.vector`, `.box`, `.regions`); raises the engine's error for this query only.

        `box` searches that region of the photo instead of the product the localiser finds.
        """
        if self._queue is None:
            raise RuntimeError("BatchingSearcher.initialize() was not awaited")
        future: asyncio.Future[Matches] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(Query(image, k, variant, box), future))
        return await future

    async def stored_vectors(self, variant: str, ids: Sequence[int]) -> np.ndarray:
        """The index's stored vectors of `ids` (personal re-ranking), off the loop."""
        return await asyncio.to_thread(self.engine.stored_vectors, variant, ids)

    async def appearance_of(self, ids: Sequence[int]) -> np.ndarray:
        """Catalog items' colour descriptors (personal re-ranking), off the loop."""
        return await asyncio.to_thread(self.engine.appearance_of, ids)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            # Poll instead of wait_for(queue.get()): cancelling a get can drop an item on 3.11.
            deadline = time.perf_counter() + self.window
            while len(batch) + self._queue.qsize() < self.max_batch:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, 0.001))
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._execute(batch)

    async def _execute(self, batch: list[_Pending]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = await asyncio.to_thread(self.engine.search_many, [p.query for p in batch])
        except Exception as exc:  # one broken batch must not kill the worker: fail its callers
            logger.exception("engine batch of %d failed", len(batch))
            results = [EngineError(f"search failed: {exc}") for _ in batch]
        for pending, result in zip(batch, results):
            if pending.future.done():  # the caller gave up (cancelled)
                continue
            if isinstance(result, Exception):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)
