"""Exact L1 and Hamming scans: the engine's kernels against the library baselines, in one run.

    python scripts/bench_exact.py                      # 100k items: 4096-bit codes, 1280-d floats
    python scripts/bench_exact.py --quick              # CI-sized

Hamming (packed sign codes): the engine's kernel (engine.index.kernels.knn_hamming, what
VariantIndex and PackedHammingIndex scan with), a numpy blocked popcount (the reference) and
faiss IndexBinaryFlat (the baseline). L1 (float32): the engine's kernel (knn_l1), the former
numpy |a−b| blocks (engine.index.metrics.pairwise), torch.cdist(p=1) + topk and faiss
IndexFlat(METRIC_L1) (the baseline). Each is timed one query at a time and in batches of
--batch; `vs_baseline` is its queries/s over the baseline's in the same mode (≥ 0.5 means
within 2×). Every contender's top-k distances are checked against the baseline's (`agrees`).
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable

import faiss
import numpy as np
import torch

from engine.index.kernels import hamming_blocked, knn_hamming, knn_l1
from engine.index.metrics import pairwise, top_k
from scripts.lib import cli
from scripts.lib.benchmarking import Row, base_parser, report

logger = logging.getLogger("bench_exact")

COLUMNS = ["metric", "kernel", "mode", "queries", "queries_per_s", "ms_per_query", "vs_baseline", "agrees"]
Search = Callable[[np.ndarray], np.ndarray]  # queries → (q, k) distances


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_exact", __doc__)
    parser.add_argument("--n", type=int, default=100_000, help="items scanned (default: %(default)s)")
    parser.add_argument("--bits", type=int, default=4096, help="Hamming code length")
    parser.add_argument("--dim", type=int, default=1280, help="L1 float dimension")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--single", type=int, default=10, help="queries timed one at a time")
    parser.add_argument("--batch", type=int, default=32, help="queries per batch")
    parser.add_argument("--batches", type=int, default=2, help="batches timed")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.bits, args.dim, args.single, args.batches = 3000, 256, 64, 3, 1
    return args


def time_mode(search: Search, queries: np.ndarray, size: int, rounds: int) -> tuple[float, np.ndarray]:
    """queries/s of `search` over `rounds` calls of `size` queries, and the first call's distances."""
    first = search(queries[:size])  # also the warm-up
    started = time.perf_counter()
    for r in range(rounds):
        search(queries[r * size : (r + 1) * size])
    return rounds * size / (time.perf_counter() - started), first


def contenders_hamming(codes: np.ndarray, k: int) -> dict[str, Search]:
    baseline = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    baseline.add(codes)
    words = codes.view(np.uint64)
    return {
        "faiss IndexBinaryFlat (baseline)": lambda q: baseline.search(q, k)[0],
        "engine knn_hamming": lambda q: knn_hamming(q, codes, k)[1],
        "numpy blocked popcount": lambda q: top_k(hamming_blocked(q.view(np.uint64), words), k)[1],
    }


def contenders_l1(vectors: np.ndarray, k: int) -> dict[str, Search]:
    baseline = faiss.IndexFlat(vectors.shape[1], faiss.METRIC_L1)
    baseline.add(vectors)
    tensor = torch.from_numpy(vectors)

    def cdist(q: np.ndarray) -> np.ndarray:
        return torch.cdist(torch.from_numpy(q), tensor, p=1).topk(k, largest=False).values.numpy()

    return {
        "faiss IndexFlat L1 (baseline)": lambda q: baseline.search(q, k)[0],
        "engine knn_l1": lambda q: knn_l1(q, vectors, k)[1],
        "torch.cdist(p=1) + topk": cdist,
        "numpy |a-b| blocks": lambda q: top_k(pairwise(q, vectors, "l1"), k)[1],
    }


def bench(metric: str, contenders: dict[str, Search], queries: np.ndarray, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for mode, size, rounds in (("single", 1, args.single), (f"batch {args.batch}", args.batch, args.batches)):
        base_qps, base_d = 0.0, None
        for name, search in contenders.items():
            qps, distances = time_mode(search, queries, size, rounds)
            if base_d is None:
                base_qps, base_d = qps, distances
            agrees = bool(np.allclose(np.asarray(distances, np.float64), base_d, rtol=1e-4, atol=1e-3))
            rows.append({"metric": metric, "kernel": name, "mode": mode, "queries": size * rounds,
                         "queries_per_s": round(qps, 1), "ms_per_query": round(1000 / qps, 2),
                         "vs_baseline": round(qps / base_qps, 2), "agrees": agrees})
            logger.info("%s", rows[-1])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n_queries = max(args.single, args.batch * args.batches)
    codes = rng.integers(0, 256, size=(args.n + n_queries, args.bits // 8), dtype=np.uint8)
    rows = bench("hamming", contenders_hamming(codes[: args.n], args.k), codes[args.n :], args)
    del codes
    vectors = np.maximum(rng.standard_normal((args.n + n_queries, args.dim), dtype=np.float32), 0)
    rows += bench("l1", contenders_l1(vectors[: args.n], args.k), vectors[args.n :], args)
    title = f"Exact scans over {args.n} items ({args.bits}-bit codes, {args.dim}-d floats), k={args.k}"
    return report(args.out, "exact", rows, COLUMNS, title, args=vars(args), faiss=faiss.__version__)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
