"""Exact k-NN scans at memory speed for the two metrics hnswlib lacks: Hamming and L1.

Both run on faiss (faiss-cpu): `knn_hamming` over packed uint8 codes (a blocked popcount with
counting by distance, so ties keep row order) and `knn_l1` over float32 rows (SIMD |a−b| sums).
scripts/bench_exact.py measures them in one run against faiss's own index classes (the
baselines), torch.cdist and the numpy kernels; the figures are in docs/PERFORMANCE.md. The numpy
versions stay as the independent reference (`engine.index.metrics.pairwise` is the tests'
ground truth).

Results are sorted nearest first with ties broken by row, like `metrics.top_k`.
"""
from __future__ import annotations

import faiss
import numpy as np

_BLOCK_BYTES = 8 * 2**20  # numpy reference: (queries, rows, words) XOR temporaries per block


def _sorted(rows: np.ndarray, dists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order each row by (distance, row); faiss leaves equal distances in heap order."""
    order = np.lexsort((rows, dists), axis=1)
    return np.take_along_axis(rows, order, 1), np.take_along_axis(dists, order, 1)


def knn_hamming(query_codes: np.ndarray, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, B) × (n, B) packed uint8 codes → (rows int64, bit counts int32), each (q, min(k, n))."""
    queries = np.ascontiguousarray(np.atleast_2d(query_codes), dtype=np.uint8)
    database = np.ascontiguousarray(codes, dtype=np.uint8)
    k = min(int(k), len(database))
    if k <= 0 or not len(queries):
        return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.int32)
    dists, rows = faiss.knn_hamming(queries, database, k, variant="mc")  # "mc": ties in row order
    return _sorted(rows.astype(np.int64), dists.astype(np.int32))


def knn_l1(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, d) × (n, d) float32 → (rows int64, L1 distances float32), each (q, min(k, n))."""
    query = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    database = np.ascontiguousarray(vectors, dtype=np.float32)
    k = min(int(k), len(database))
    if k <= 0 or not len(query):
        return np.zeros((len(query), 0), np.int64), np.zeros((len(query), 0), np.float32)
    dists, rows = faiss.knn(query, database, k, metric=faiss.METRIC_L1)
    return _sorted(rows.astype(np.int64), dists.astype(np.float32))


def hamming_blocked(query_codes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """numpy reference: (q, W) × (n, W) uint64 codes → (q, n) int32 by blocked XOR + popcount.

    Gallery rows are scanned in blocks sized so the (q, rows, W) temporary stays ~8 MiB.
    """
    queries, database = np.atleast_2d(query_codes), np.asarray(codes)
    out = np.empty((len(queries), len(database)), dtype=np.int32)
    per_block = max(256, _BLOCK_BYTES // max(1, queries.nbytes))
    for start in range(0, len(database), per_block):
        block = database[start : start + per_block]
        np.bitwise_count(queries[:, None, :] ^ block[None, :, :]).sum(axis=2, dtype=np.int32,
                                                                      out=out[:, start : start + len(block)])
    return out
