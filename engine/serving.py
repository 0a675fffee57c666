"""Async access to the Engine: queries wait a few milliseconds to share one forward pass.

The event loop never runs torch or hnswlib: a worker task gathers concurrent requests (until
`window_ms` passes or `max_batch` are waiting), then runs `Engine.search_many` in a thread.
`workers` such tasks take batches from one queue, so that many batches run side by side: on a
CPU as many as the cores hold forwards of `torch.get_num_threads()` threads (more would make
the threads fight each other), on a GPU one, which lets it see full batches.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

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
    batch only makes its first query wait for the last; concurrent users' queries run off the
    loop, as many at once as `auto_workers` allows, which keeps them from oversubscribing the
    cores (docs/PERFORMANCE.md).
    """
    on_gpu = any(e.device.type == "cuda" for e in engine.embedders.values())
    return 32 if on_gpu else 1


# Search threads run this much nicer than the event loop's (Linux; elsewhere no change): under
# load the loop still answers button presses and sends albums at once, and forwards take the rest.
SEARCH_NICENESS = 5


def lower_thread_priority(niceness: int = SEARCH_NICENESS) -> None:
    """Make the calling thread `niceness` nicer (a thread pool's initializer); best effort."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + niceness)
    except (AttributeError, OSError) as exc:  # no per-thread priorities here
        logger.debug("search threads keep their priority: %s", exc)


def usable_cores() -> int:
    """CPU cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def auto_workers(engine: Engine, cores: int | None = None, threads_per_forward: int | None = None) -> int:
    """Batches run side by side: 1 when any embedder runs on CUDA; on a CPU, the cores over the
    threads one forward uses (2 cores with one torch thread each: two searches at once)."""
    if any(e.device.type == "cuda" for e in engine.embedders.values()):
        return 1
    cores = usable_cores() if cores is None else cores
    threads = torch.get_num_threads() if threads_per_forward is None else threads_per_forward
    return max(1, cores // max(1, threads))


class BatchingSearcher:
    """`await searcher.search(photo, k, variant)` from any number of concurrent coroutines."""

    def __init__(self, engine: Engine, *, window_ms: float = 5.0, max_batch: int = 0, workers: int = 0) -> None:
        self.engine = engine
        self.window = window_ms / 1000
        self.max_batch = max_batch or auto_max_batch(engine)
        self.workers = workers or auto_workers(engine)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="search", initializer=lower_thread_priority)
        self.batch_sizes: list[int] = []  # for benchmarks: how well batching worked

    async def initialize(self) -> None:
        self._queue = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._run(), name=f"engine-batcher-{n}") for n in range(self.workers)]

    async def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        self._threads.shutdown(wait=False)

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
            results = await asyncio.get_running_loop().run_in_executor(
                self._threads, self.engine.search_many, [p.query for p in batch])
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
