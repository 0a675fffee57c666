"""Vector search: queries/s and recall@10 vs exact, per metric, size and dimension.

    python scripts/bench_search.py                     # 10k/100k/1M × 4096/256 (what fits)
    python scripts/bench_search.py --quick             # CI-sized: 2k vectors

Data: clustered, ReLU'd Gaussian vectors (CNN features are non-negative and clustered; uniform
noise would be an unrealistically hard case for HNSW). For every (size, dim, metric) the
engine's VariantIndex (hnswlib, M/ef_construction/ef shown; L1 and Hamming reranked exactly)
is built and queried in one batch; recall@10 is measured against brute force on --gt-queries
queries, tie-aware (a result counts when it is no farther than the exact 10th neighbour). Hamming also runs on PackedHammingIndex (packed bits, exact popcount scan).
Rows that do not fit this machine (memory) or its time budget (an HNSW build extrapolated from
the smallest size) are kept with a "skipped" reason. Peak RSS is recorded.
"""
from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np

from engine.index import HnswParams, PackedHammingIndex, VariantIndex
from engine.index.metrics import Metric, pairwise, prepare, top_k
from scripts.lib import cli
from scripts.lib.benchmarking import Row, base_parser, clustered, peak_rss_mib, report, skipped
from scripts.lib.evaluation import recall_at_k

logger = logging.getLogger("bench_search")

COLUMNS = ["n", "dim", "metric", "index", "params", "build_s", "queries_per_s", "recall_at_10", "skipped"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_search", __doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="default: %(default)s")
    parser.add_argument("--dims", default="4096,256", help="default: %(default)s")
    parser.add_argument("--metrics", default="l2,l1,hamming,cosine", help="default: %(default)s")
    parser.add_argument("--queries", type=int, default=200, help="queries timed per row")
    parser.add_argument("--gt-queries", type=int, default=30, help="queries checked against brute force")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--M", type=int, default=16, help="hnswlib graph degree")
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--ef", type=int, default=128, help="hnswlib search beam")
    parser.add_argument("--max-build-s", type=float, default=240,
                        help="skip HNSW builds extrapolated to take longer (default: %(default)s)")
    parser.add_argument("--max-gib", type=float, default=8.0,
                        help="skip float layouts whose raw vectors exceed this (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dims, args.queries, args.gt_queries = "2000", "256,64", 50, 20
        args.ef_construction = 64
    return args


def exact_distances(queries: np.ndarray, vectors: np.ndarray, metric: Metric, k: int, center: np.ndarray | None) -> np.ndarray:
    """Brute-force top-k distances, with a chunk small enough for (q, chunk, d) L1 temporaries."""
    q, v = prepare(queries, metric, center), prepare(vectors, metric, center)
    chunk = max(16, 2**26 // max(1, len(q) * v.shape[1]))
    return top_k(pairwise(q, v, metric, chunk=chunk), k)[1]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Tie-aware recall@k: results no farther than the exact k-th (Hamming has many ties)."""
    return round(recall_at_k(found, truth), 4)


def time_search(index: VariantIndex | PackedHammingIndex, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    _, distances = index.search(queries, k)
    return len(queries) / (time.perf_counter() - started), distances


def hnsw_rows(vectors: np.ndarray, queries: np.ndarray, metrics: list[Metric], args: argparse.Namespace,
              estimate: dict[int, float]) -> list[Row]:
    n, dim = vectors.shape
    params = HnswParams(M=args.M, ef_construction=args.ef_construction, ef=args.ef)
    shown = f"M={args.M}, ef_c={args.ef_construction}, ef={args.ef}"
    rows: list[Row] = []
    for metric in metrics:
        key = {"n": n, "dim": dim, "metric": metric, "index": "hnsw (VariantIndex)", "params": shown}
        guess = predicted_build_s(estimate, dim, n)
        if guess is not None and guess > args.max_build_s:
            rows.append(skipped(f"build extrapolated to ~{guess / 60:.0f} min > --max-build-s", **key))
            continue
        started = time.perf_counter()
        index = VariantIndex.build(vectors, np.arange(n), metric, params=params)
        build = time.perf_counter() - started
        estimate.setdefault(dim, build / (n * math.log(n)))
        qps, found = time_search(index, queries, args.k)
        truth = exact_distances(queries[: args.gt_queries], vectors, metric, args.k, index.center)
        rows.append({**key, "build_s": round(build, 1), "queries_per_s": round(qps, 1),
                     "recall_at_10": recall(found[: args.gt_queries], truth)})
        logger.info("%s", rows[-1])
        del index
    return rows


def predicted_build_s(estimate: dict[int, float], dim: int, n: int) -> float | None:
    """HNSW inserts cost ~log n each: extrapolate the first build's rate at this dim."""
    return estimate[dim] * n * math.log(n) if dim in estimate else None


def packed_row(vectors: np.ndarray | None, queries: np.ndarray, n: int, dim: int, args: argparse.Namespace) -> Row:
    """Exact Hamming by popcount over packed codes; built chunk-wise when floats do not fit."""
    started = time.perf_counter()
    if vectors is not None:
        index = PackedHammingIndex.build(vectors, np.arange(n))
    else:  # generate, centre and pack 100k rows at a time: the floats never exist all at once
        sample = clustered(20_000, dim, seed=7)
        index = PackedHammingIndex(dim, sample.mean(axis=0))
        for start in range(0, n, 100_000):
            block = clustered(min(100_000, n - start), dim, seed=1000 + start)
            index.add(block, np.arange(start, start + len(block)))
    build = time.perf_counter() - started
    qps, distances = time_search(index, queries, args.k)
    if vectors is not None:
        truth = exact_distances(queries[: args.gt_queries], vectors, "hamming", args.k, index.center)
        found = recall(distances[: args.gt_queries], truth)
    else:
        found = 1.0  # the scan is exhaustive; tests check it against brute force
    return {"n": n, "dim": dim, "metric": "hamming", "index": "packed bits (PackedHammingIndex)",
            "params": f"{index.words * 8} B/item, exact scan", "build_s": round(build, 1),
            "queries_per_s": round(qps, 1), "recall_at_10": found}


def bench_size(n: int, dim: int, metrics: list[Metric], args: argparse.Namespace, estimate: dict[int, float]) -> list[Row]:
    queries = clustered(args.queries, dim, seed=99)
    gib = n * dim * 4 / 2**30
    if gib > args.max_gib:
        reason = f"{gib:.1f} GiB of float32 vectors > --max-gib {args.max_gib:g} (24 GiB box)"
        rows = [skipped(reason, n=n, dim=dim, metric=m, index="hnsw (VariantIndex)") for m in metrics]
        if "hamming" in metrics:
            rows.append(packed_row(None, queries, n, dim, args))
        return rows
    vectors = clustered(n, dim, seed=0)
    rows = hnsw_rows(vectors, queries, metrics, args, estimate)
    if "hamming" in metrics:
        rows.append(packed_row(vectors, queries, n, dim, args))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    metrics = cli.metric_names(args.metrics)
    estimate: dict[int, float] = {}  # dim → build seconds per (n log n), from the first build
    rows: list[Row] = []
    for dim in [int(d) for d in args.dims.split(",")]:
        for n in sorted(int(s) for s in args.sizes.split(",")):
            rows += bench_size(n, dim, metrics, args, estimate)
    title = f"Search, k={args.k}, {args.queries} queries per row, recall vs brute force on {args.gt_queries}"
    return report(args.out, "search", rows, COLUMNS, title, args=vars(args), peak_rss_mib=round(peak_rss_mib()))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
