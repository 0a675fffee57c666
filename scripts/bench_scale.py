"""Scale figures: build time, memory per item, queries/s, p50 and recall@10 at 100k and 1M items.

    python scripts/bench_scale.py                       # 100k and 1M, every layout
    python scripts/bench_scale.py --sizes 100000 --layouts packed,milvus
    python scripts/bench_scale.py --quick               # CI-sized

Layouts (the compact ones a million-item catalog would use):
* `hnsw-pca256`: PCA-256 float32 vectors in the engine's hnswlib VariantIndex (l2);
* `packed`: 4096-bit sign codes in PackedHammingIndex (exact scan on faiss);
* `milvus`: the same PCA-256 vectors in Milvus Lite through MilvusIndex (HNSW, l2).
Data: clustered ReLU'd Gaussian vectors (bench_search.py's generator, scripts/lib/benchmarking.py),
generated and added in blocks of 100k so the float32 source never exists whole. Memory: the structure's own size
(hnswlib's serialised graph + vectors, the packed codes + ids, Milvus Lite's data folder on disk)
per item, and the growth of this process's resident set over the build (Milvus Lite runs
in-process, so it is counted there too; RSS also keeps freed generator blocks, so it is an upper bound).
Queries/s: one batch of --queries; p50: single queries. Recall@10 is tie-aware, against exact
search (faiss) on --gt-queries queries. Rows whose build would exceed --max-build-s (extrapolated
from the first size) are kept with a `skipped` reason.
"""
from __future__ import annotations

import argparse
import gc
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from engine.index import HnswParams, PackedHammingIndex, VariantIndex
from engine.index.kernels import knn_hamming
from engine.index.metrics import pack_bits, sign_bits
from scripts.lib import cli
from scripts.lib.benchmarking import (
    Row, base_parser, clustered, current_rss_bytes, latency_summary, report, skipped,
)
from scripts.lib.evaluation import recall_at_k

logger = logging.getLogger("bench_scale")

COLUMNS = ["n", "layout", "dim", "params", "build_s", "bytes_per_item", "gib_at_n", "rss_growth_gib",
           "queries_per_s", "p50_ms", "recall_at_10", "skipped"]
LAYOUTS = ("hnsw-pca256", "packed", "milvus")
BLOCK = 100_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_scale", __doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="default: %(default)s")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="default: %(default)s")
    parser.add_argument("--queries", type=int, default=200, help="queries in the timed batch")
    parser.add_argument("--single", type=int, default=50, help="single queries for the p50")
    parser.add_argument("--gt-queries", type=int, default=50, help="queries checked against exact search")
    parser.add_argument("--M", type=int, default=16, help="HNSW graph degree")
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--ef", type=int, default=128, help="HNSW search beam")
    parser.add_argument("--max-build-s", type=float, default=1800, help="skip builds extrapolated beyond this")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.single, args.gt_queries = "3000", 20, 5, 10
    return args


def blocks(n: int, dim: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) in blocks of BLOCK rows: the whole float matrix never exists at once."""
    for start in range(0, n, BLOCK):
        rows = min(BLOCK, n - start)
        yield np.arange(start, start + rows), clustered(rows, dim, seed=seed + start)


def hnsw_index(n: int, args: argparse.Namespace, scratch: Path) -> Any:
    params = HnswParams(M=args.M, ef_construction=args.ef_construction, ef=args.ef)
    index = VariantIndex("l2", 256, params)
    for ids, vectors in blocks(n, 256, seed=0):
        index.add(vectors, ids)
    return index


def packed_index(n: int, args: argparse.Namespace, scratch: Path) -> Any:
    index = PackedHammingIndex(4096, clustered(20_000, 4096, seed=7).mean(axis=0))
    for ids, vectors in blocks(n, 4096, seed=0):
        index.add(vectors, ids)
    return index


def milvus_index(n: int, args: argparse.Namespace, scratch: Path) -> Any:
    from engine.index.milvus import MilvusIndex, open_client

    params = HnswParams(M=args.M, ef_construction=args.ef_construction, ef=args.ef)
    client = open_client(str(scratch / "milvus.db"))
    index = None
    for ids, vectors in blocks(n, 256, seed=0):
        if index is None:
            index = MilvusIndex.create(client, "bench_scale", vectors, ids, "l2", params, {})
        else:
            index.add(vectors, ids)
    client.flush("bench_scale")
    return index


BUILDERS: dict[str, tuple[Callable[[int, argparse.Namespace, Path], Any], int, str]] = {
    "hnsw-pca256": (hnsw_index, 256, "l2"),
    "packed": (packed_index, 4096, "hamming"),
    "milvus": (milvus_index, 256, "l2"),
}


def structure_bytes(layout: str, index: Any, scratch: Path) -> int:
    if layout == "packed":
        return int(index.nbytes)
    if layout == "hnsw-pca256":
        return int(index.hnsw.index_file_size())
    return sum(path.stat().st_size for path in scratch.rglob("*") if path.is_file())


def exact_truth(n: int, dim: int, metric: str, queries: np.ndarray, center: np.ndarray | None, k: int) -> np.ndarray:
    """Exact top-k distances over all n items, block by block (faiss kernels)."""
    best = np.full((len(queries), 0), np.inf, np.float32)
    for _, vectors in blocks(n, dim, seed=0):
        if metric == "hamming":
            _, d = knn_hamming(pack_bits(sign_bits(queries, center)), pack_bits(sign_bits(vectors, center)), k)
        else:
            d, _ = faiss.knn(queries, vectors, k, metric=faiss.METRIC_L2)
            d = np.sqrt(np.maximum(d, 0))
        best = np.sort(np.concatenate([best, d.astype(np.float32)], axis=1), axis=1)[:, :k]
    return best


def measure(layout: str, n: int, args: argparse.Namespace, estimate: dict[str, float]) -> Row:
    build, dim, metric = BUILDERS[layout]
    key = {"n": n, "layout": layout, "dim": dim,
           "params": "exact scan" if layout == "packed" else f"M={args.M}, ef_c={args.ef_construction}, ef={args.ef}"}
    if layout in estimate and estimate[layout] * n > args.max_build_s:
        return skipped(f"build extrapolated to ~{estimate[layout] * n / 60:.0f} min > --max-build-s", **key)
    queries = clustered(max(args.queries, args.single), dim, seed=99)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        gc.collect()
        before = current_rss_bytes()
        started = time.perf_counter()
        index = build(n, args, Path(scratch))
        seconds = time.perf_counter() - started
        grown = current_rss_bytes() - before
        size = structure_bytes(layout, index, Path(scratch))
        estimate.setdefault(layout, seconds / n)
        started = time.perf_counter()
        _, found = index.search(queries[: args.queries], 10)
        qps = args.queries / (time.perf_counter() - started)
        latencies = []
        for q in queries[: args.single]:
            started = time.perf_counter()
            index.search(q[None], 10)
            latencies.append(time.perf_counter() - started)
        truth = exact_truth(n, dim, metric, queries[: args.gt_queries], getattr(index, "center", None), 10)
        if layout == "milvus":
            index.client.close()
        del index
    return {**key, "build_s": round(seconds, 1), "bytes_per_item": round(size / n, 1),
            "gib_at_n": round(size / 2**30, 2), "rss_growth_gib": round(grown / 2**30, 2), "queries_per_s": round(qps, 1),
            "p50_ms": latency_summary(latencies)["p50_ms"],
            "recall_at_10": round(recall_at_k(found[: args.gt_queries], truth), 4)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    layouts = cli.names(args.layouts)
    estimate: dict[str, float] = {}  # layout → build seconds per item, from its first size
    rows: list[Row] = []
    for n in sorted(int(size) for size in args.sizes.split(",")):
        for layout in layouts:
            rows.append(measure(layout, n, args, estimate))
            logger.info("%s", rows[-1])
    return report(args.out, "scale", rows, COLUMNS, "Scale: build, memory, queries/s, p50 and recall@10",
                  args=vars(args))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
