"""Ingestion on Ray Data: the same reader → mapper → writer, with the mapper on a pool of actors.

    run = embed_catalog_ray(catalog, embedder, spec, embeddings_dir, address=None)  # local Ray
    run = embed_catalog_ray(..., address="ray://head:10001")                         # a cluster

The driver lists the items not yet in the embedding cache (resumable, as the local path), Ray
Data maps them in batches over one actor per GPU (or per `cpus_per_actor` CPU slots); each actor
loads the embedder from its `EmbedderSpec` once, reads its batch with the reader's
`CatalogImages` and embeds it with the mapper's `embed_batches`. The driver is the writer: it
appends `shard_size` rows at a time to the same `EmbeddingCache`, each shard atomically, so a
killed run loses at most one shard in flight and the next run resumes after the last one.
Workers read catalog images by path: on a cluster the catalog folder must be at the same path on
every node (shared storage), and the project importable there (installed, or a runtime_env).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog.store import CatalogStore, Item
from engine.embedders.base import Embedder
from engine.images import DEFAULT_MAX_PIXELS
from engine.ingest.mapper import embed_batches
from engine.ingest.reader import CatalogImages, collate
from engine.ingest.runner import EmbeddingRun, cache_folder
from engine.ingest.writer import EmbeddingCache
from engine.provenance import cache_provenance

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderSpec:
    """How an actor loads the driver's embedder (arguments of `load_embedder`, all picklable)."""

    name: str
    models_dir: str | None = None
    weights_dir: str | None = None
    weights: str | None = None
    allow_random: bool = False
    input_size: int | None = None
    cpu_bf16: bool = False

    def load(self, device: str) -> Embedder:
        from engine.embedders import load_embedder

        def path(value: str | None) -> Path | None:
            return Path(value) if value else None

        return load_embedder(self.name, device, models_dir=path(self.models_dir), weights_dir=path(self.weights_dir),
                             weights=path(self.weights), allow_random=self.allow_random,
                             input_size=self.input_size).use_cpu_bf16(self.cpu_bf16)


class EmbedActor:
    """Ray Data actor: a batch of item rows → their features (the mapper, on this actor's device)."""

    def __init__(self, spec: dict[str, Any], root: str, max_pixels: int, threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.embedder = EmbedderSpec(**spec).load("cuda" if torch.cuda.is_available() else "cpu")
        self.root, self.max_pixels = Path(root), max_pixels

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        items = [Item(id=int(i), image_path=str(p), title="", category="", bbox=_bbox(b))
                 for i, p, b in zip(rows["id"], rows["image_path"], rows["bbox"])]
        images = CatalogImages(items, self.root, self.embedder.preprocess, self.max_pixels)
        batch = collate([images[position] for position in range(len(images))])
        _, features = next(embed_batches(self.embedder, [batch], {}))
        failed_ids = [i for i, _ in batch.failed]
        ids = np.asarray(batch.ids + failed_ids, np.int64)
        reasons = np.asarray([""] * len(batch.ids) + [reason for _, reason in batch.failed], dtype=object)
        padded = np.concatenate([features, np.zeros((len(failed_ids), self.embedder.dim), np.float32)])
        return {"id": ids, "features": padded.astype(np.float32), "failed": reasons}


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    box = np.asarray(value, dtype=np.float64).ravel()
    return None if len(box) != 4 or np.isnan(box).any() else (box[0], box[1], box[2], box[3])


def item_rows(items: Sequence[Item]) -> list[dict[str, Any]]:
    """What travels to the actors: id, image path, bbox (NaNs when the item has none)."""
    return [{"id": int(item.id or 0), "image_path": item.image_path,
             "bbox": list(item.bbox) if item.bbox is not None else [np.nan] * 4} for item in items]


def connect(address: str | None, num_cpus: int | None = None) -> None:
    """ray.init once: `address` None starts a local Ray (with `num_cpus`), else joins a cluster."""
    import ray

    if ray.is_initialized():
        return
    if address in (None, "", "local"):
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def actor_layout(cpus_per_actor: int) -> tuple[int, float, float]:
    """(actors, CPUs each, GPUs each) from the cluster's resources: one per GPU, else per CPU slot."""
    import ray

    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus:
        return gpus, max(1.0, min(4.0, cpus / gpus)), 1.0
    return max(1, cpus // cpus_per_actor), float(cpus_per_actor), 0.0


def embed_catalog_ray(
    catalog: CatalogStore,
    embedder: Embedder,
    spec: EmbedderSpec,
    embeddings_dir: Path,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_actor: int = 1,
    batch_size: int = 32,
    shard_size: int = 1024,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    items: Sequence[Item] | None = None,
) -> EmbeddingRun:
    """Embed every catalog item (or `items`) not yet cached, on Ray; returns all current items' features."""
    import ray

    provenance = cache_provenance(embedder.describe(), catalog.catalog_id)
    cache = EmbeddingCache(cache_folder(embeddings_dir, embedder.name), provenance, reset_on_mismatch=True)
    done = cache.done_ids()
    todo = [item for item in (items if items is not None else catalog.iter_items()) if item.id not in done]
    timings: dict[str, float] = {}
    failed: list[tuple[int, str]] = []
    if todo:
        connect(address, num_cpus)
        actors, cpus, gpus = actor_layout(cpus_per_actor)
        logger.info("%s: embedding %d new items (%d cached) on %d Ray actors", embedder.name, len(todo), len(done), actors)
        dataset = ray.data.from_items(item_rows(todo)).map_batches(
            EmbedActor, batch_size=batch_size, concurrency=actors, num_cpus=cpus, num_gpus=gpus,
            batch_format="numpy", fn_constructor_kwargs={
                "spec": asdict(spec), "root": str(catalog.root), "max_pixels": max_pixels, "threads": int(cpus)},
        )
        started = time.perf_counter()
        for shard in dataset.iter_batches(batch_size=shard_size, batch_format="numpy"):
            failed += _write(cache, shard)
        timings["ray"] = time.perf_counter() - started
        for item_id, reason in failed:
            logger.warning("item %d skipped: %s", item_id, reason)
    ids, features = cache.load(only_ids=set(catalog.ids()))
    return EmbeddingRun(ids, features, len(todo) - len(failed), failed, timings)


def _write(cache: EmbeddingCache, shard: dict[str, np.ndarray]) -> list[tuple[int, str]]:
    """The writer's step: append the shard's good rows; return the failed (id, reason)."""
    good = shard["failed"] == ""
    cache.append(shard["id"][good].tolist(), np.asarray(shard["features"][good], np.float32))
    return [(int(i), str(r)) for i, r in zip(shard["id"][~good], shard["failed"][~good])]
