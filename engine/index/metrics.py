"""Pure vector maths for the four metrics: transforms, exact distances, brute-force k-NN.

These are the ground truth that the HNSW indexes are tested against, and the exact rerank step
that makes L1 and Hamming results exact. No I/O, no hnswlib.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

Metric = Literal["l2", "l1", "hamming", "cosine"]
METRICS: tuple[Metric, ...] = ("l2", "l1", "hamming", "cosine")


def check_metric(metric: str) -> Metric:
    from engine.errors import UnknownNameError

    if metric not in METRICS:
        raise UnknownNameError(f"Unknown metric {metric!r}; available: {', '.join(METRICS)}")
    return metric


def as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    """C-contiguous float32 (n, dim); a single vector becomes one row."""
    matrix = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if dim is not None and matrix.shape[1] != dim:
        raise ValueError(f"expected {dim}-d vectors, got {matrix.shape[1]}-d")
    return matrix


def sign_bits(vectors: np.ndarray, center: np.ndarray | None = None) -> np.ndarray:
    """Boolean codes: bit = feature > center. Centering matters: ReLU features are all ≥ 0."""
    matrix = as_matrix(vectors)
    return matrix > (0 if center is None else center)


def to_plus_minus_one(bits: np.ndarray) -> np.ndarray:
    """±1 float32 codes. For such codes ‖a−b‖² = 4·hamming(a, b), so L2 order = Hamming order."""
    return np.where(bits, np.float32(1), np.float32(-1)).astype(np.float32)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(n, d) bool → (n, ceil(d/8)) uint8: 32× smaller than float32 features."""
    return np.packbits(bits, axis=1)


def hamming_packed(query_codes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(q, B) × (n, B) packed codes → (q, n) int32 Hamming distances via popcount."""
    out = np.empty((query_codes.shape[0], codes.shape[0]), dtype=np.int32)
    for row, query in enumerate(query_codes):
        out[row] = np.bitwise_count(np.bitwise_xor(codes, query)).sum(axis=1, dtype=np.int32)
    return out


L1_BLOCK_ELEMENTS = 1 << 22  # |a−b| temporaries of 16 MiB: cache-friendly, bounded memory


def pairwise(
    queries: np.ndarray, vectors: np.ndarray, metric: Metric, chunk: int | None = None
) -> np.ndarray:
    """Exact (q, n) distances in the metric's own units (hamming: on ±1 codes, as counts).

    L1 materialises |a−b| for `chunk` gallery rows at a time (default: a 16 MiB block).
    """
    queries, vectors = as_matrix(queries), as_matrix(vectors)
    if metric == "l1":
        out = np.empty((len(queries), len(vectors)), dtype=np.float32)
        chunk = chunk or max(1, L1_BLOCK_ELEMENTS // max(1, queries.shape[0] * queries.shape[1]))
        for start in range(0, len(vectors), chunk):  # (q, chunk, d) ≤ L1_BLOCK_ELEMENTS floats
            block = vectors[start : start + chunk]
            out[:, start : start + chunk] = np.abs(queries[:, None, :] - block[None, :, :]).sum(-1)
        return out
    dots = queries @ vectors.T
    distances: np.ndarray
    if metric == "cosine":
        norms = np.linalg.norm(queries, axis=1)[:, None] * np.linalg.norm(vectors, axis=1)[None, :]
        distances = 1.0 - dots / np.maximum(norms, 1e-12)
        return distances
    squared = (queries**2).sum(1)[:, None] + (vectors**2).sum(1)[None, :] - 2 * dots
    if metric == "hamming":  # inputs are ±1 codes: ‖a−b‖² = 4·hamming
        distances = np.rint(np.maximum(squared, 0) / 4)
        return distances
    distances = np.sqrt(np.maximum(squared, 0))
    return distances


def top_k(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise indices and values of the k smallest, sorted (stable on ties by index)."""
    k = min(k, distances.shape[1])
    part = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < distances.shape[1] else (
        np.tile(np.arange(distances.shape[1]), (distances.shape[0], 1))
    )
    values = np.take_along_axis(distances, part, axis=1)
    order = np.lexsort((part, values), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def brute_force_knn(
    queries: np.ndarray, vectors: np.ndarray, metric: Metric, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN: (row indices into `vectors`, distances), both (q, k).

    Hamming distances are integers with many ties: the k kept are then the lowest rows among
    equals (as the engine's faiss scan keeps them), not whichever argpartition picks.
    """
    distances = pairwise(queries, vectors, metric)
    if metric != "hamming" or k >= distances.shape[1]:
        return top_k(distances, k)
    n = distances.shape[1]
    keys = distances.astype(np.float64) * n + np.arange(n)  # exact: distance-major, then row
    rows, _ = top_k(keys, k)
    return rows, np.take_along_axis(distances, rows, axis=1)


def prepare(vectors: np.ndarray, metric: Metric, center: np.ndarray | None = None) -> np.ndarray:
    """Raw features → the representation an index of `metric` stores and compares.

    hamming: ±1 sign codes of the centred features; the others: float32 features as they are.
    """
    if metric == "hamming":
        return to_plus_minus_one(sign_bits(vectors, center))
    return as_matrix(vectors)
