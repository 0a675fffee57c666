"""Query latency, photo bytes → matches: one at a time, and 32 at once with/without micro-batching.

    python scripts/bench_query.py                      # efficientnet-lite0 and VGG-16 (random weights)
    python scripts/bench_query.py --quick              # CI-sized: random-init, a few queries

Each embedder gets an Engine over an index of --index-size vectors (random vectors with catalog
ids: the search costs what it costs at that size, and the photo → features path is the real one).
Queries are 800 px JPEGs (a phone photo as Telegram recompresses it). Reported: p50/p95/p99 of
single queries with their stage split (decode+letterbox, embed, search), then 32 concurrent
queries through BatchingSearcher with micro-batching on (window 5 ms, up to 32 per batch) and
off (window 0, batch 1). VGG-16 has no weights here: it runs with random weights (same cost).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.catalog import CatalogStore, Item
from engine.embedders import load_embedder
from engine.index import HnswParams, VariantIndex
from engine.search import Engine
from engine.serving import BatchingSearcher
from scripts.lib import cli
from scripts.lib.benchmarking import Row, base_parser, latency_summary, query_photos, report, shares, stage

logger = logging.getLogger("bench_query")

COLUMNS = ["embedder", "mode", "queries", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "queries_per_s",
           "mean_batch", "shares"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_query", __doc__)
    parser.add_argument("--embedders", default="efficientnet-lite0,vgg16-fc7", help="default: %(default)s")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--single", type=int, default=30, help="sequential queries per embedder")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous queries")
    parser.add_argument("--rounds", type=int, default=3, help="bursts of --concurrency queries")
    parser.add_argument("--index-size", type=int, default=10_000, help="vectors in the index")
    parser.add_argument("--photo-size", type=int, default=800, help="query photo size in px")
    parser.add_argument("--metric", default="l2", help="index metric (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.embedders, args.single, args.concurrency, args.rounds = "random-init", 4, 6, 1
        args.index_size, args.photo_size = 200, 160
    return args


def make_engine(folder: Path, embedder_name: str, args: argparse.Namespace) -> tuple[Engine, str]:
    """A catalog of index-size placeholder items and one index of random vectors over it."""
    catalog = CatalogStore(folder / f"{embedder_name}.sqlite")
    ids = np.asarray(catalog.add_items(
        Item(image_path=f"{i}.jpg", title=f"item {i}", category="x") for i in range(args.index_size)))
    embedder = load_embedder(embedder_name, args.device, allow_random=True)
    rng = np.random.default_rng(0)
    vectors = np.maximum(rng.standard_normal((len(ids), embedder.dim)), 0).astype(np.float32)
    index = VariantIndex.build(vectors, ids, args.metric, params=HnswParams(ef_construction=100))
    variant = f"{embedder_name}/{args.metric}"
    return Engine(catalog, {embedder_name: embedder}, {variant: index}), variant


def single_queries(engine: Engine, variant: str, photos: list[bytes], n: int) -> Row:
    """Sequential Engine.search calls, plus one stage split of the same path."""
    engine.search(photos[0], 5, variant)  # warm-up
    latencies: list[float] = []
    timings: dict[str, float] = {}
    embedder = engine.embedders[variant.split("/")[0]]
    for i in range(n):
        photo = photos[i % len(photos)]
        started = time.perf_counter()
        with stage(timings, "decode+letterbox"):
            pixels = embedder.preprocess(engine.decode(photo))[None]
        with stage(timings, "embed"):
            features = embedder.embed_batch(pixels)
        with stage(timings, "search"):
            engine.search_vectors(features, 5, variant)
        latencies.append(time.perf_counter() - started)
    return {"mode": "single query", "queries": n, **latency_summary(latencies),
            "queries_per_s": round(n / sum(latencies), 2), "mean_batch": 1.0, "shares": shares(timings)}


async def concurrent(engine: Engine, variant: str, photos: list[bytes], args: argparse.Namespace,
                     window_ms: float, max_batch: int) -> Row:
    searcher = BatchingSearcher(engine, window_ms=window_ms, max_batch=max_batch)
    await searcher.initialize()
    latencies: list[float] = []

    async def one(photo: bytes) -> None:
        started = time.perf_counter()
        await searcher.search(photo, 5, variant)
        latencies.append(time.perf_counter() - started)

    try:
        await one(photos[0])  # warm-up
        latencies.clear()
        searcher.batch_sizes.clear()
        started = time.perf_counter()
        for _ in range(args.rounds):
            await asyncio.gather(*(one(photos[i % len(photos)]) for i in range(args.concurrency)))
        wall = time.perf_counter() - started
    finally:
        await searcher.shutdown()
    label = f"{args.concurrency} concurrent, batching " + (
        f"on ({window_ms:g} ms, ≤{max_batch})" if max_batch > 1 else "off (window 0, batch 1)")
    return {"mode": label, "queries": len(latencies), **latency_summary(latencies),
            "queries_per_s": round(len(latencies) / wall, 2),
            "mean_batch": round(float(np.mean(searcher.batch_sizes)), 1)}


def bench_embedder(folder: Path, name: str, photos: list[bytes], args: argparse.Namespace) -> list[Row]:
    engine, variant = make_engine(folder, name, args)
    try:
        rows = [single_queries(engine, variant, photos, args.single)]
        for window, batch in ((5.0, 32), (0.0, 1)):
            rows.append(asyncio.run(concurrent(engine, variant, photos, args, window, batch)))
    finally:
        engine.close()
    embedder = engine.embedders[name]
    for row in rows:
        row["embedder"] = name + (" (random weights)" if embedder.is_random else "")
        row["device"] = str(embedder.device)
        logger.info("%s", row)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    photos = query_photos(min(args.concurrency, 32), size=args.photo_size)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in cli.names(args.embedders):
            rows += bench_embedder(Path(scratch), name, photos, args)
    title = (f"Query latency, {args.photo_size} px JPEG → top-5, index of {args.index_size} "
             f"{args.metric} vectors")
    return report(args.out, "query", rows, COLUMNS, title, args=vars(args))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
