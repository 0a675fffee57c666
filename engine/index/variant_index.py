"""One searchable index for one variant (embedder × metric), built on hnswlib.

hnswlib offers l2, ip and cosine spaces only, so:
* hamming — sign codes become ±1 vectors, for which ‖a−b‖² = 4·hamming(a, b) exactly, so HNSW
  in l2 space ranks by Hamming distance and its distances convert back to exact bit counts.
* l1 — HNSW in l2 space (L2 and L1 neighbourhoods largely agree) proposes candidates.
For both, up to `exact_threshold` items the search is brute force (engine.index.kernels: popcount
on packed bits for Hamming, |a−b| sums for L1, both on faiss): exactly the true neighbours. Above it, HNSW proposes
`rerank_candidates` per query and every candidate is re-scored with the exact distance.
Returned distances are always exact, in the metric's own units.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import hnswlib
import numpy as np

from engine.index.kernels import knn_hamming, knn_l1
from engine.index.metrics import (
    Metric,
    as_matrix,
    check_metric,
    pack_bits,
    pairwise,
    prepare,
    top_k,
)

logger = logging.getLogger(__name__)

HNSW_SPACE: dict[str, str] = {"l2": "l2", "l1": "l2", "hamming": "l2", "cosine": "cosine"}


@dataclass
class HnswParams:
    """hnswlib's knobs: M (graph degree), ef_construction, ef (search beam)."""

    M: int = 16
    ef_construction: int = 200
    ef: int = 128
    rerank_candidates: int = 200  # per query, before the exact L1/Hamming rerank
    exact_threshold: int = 20_000  # L1/Hamming up to this many items: brute force, exact


@dataclass
class VariantIndex:
    """Approximate index with exact final distances. Labels are catalog item ids."""

    metric: Metric
    dim: int
    params: HnswParams = field(default_factory=HnswParams)
    center: np.ndarray | None = None  # hamming: per-dimension threshold of the sign code
    meta: dict[str, Any] = field(default_factory=dict)  # provenance, checked on load

    def __post_init__(self) -> None:
        self.metric = check_metric(self.metric)
        self._hnsw = hnswlib.Index(space=HNSW_SPACE[self.metric], dim=self.dim)
        self._hnsw.init_index(
            max_elements=16, ef_construction=self.params.ef_construction, M=self.params.M,
            allow_replace_deleted=False,
        )
        self._hnsw.set_ef(self.params.ef)
        self._deleted: set[int] = set()
        self._dense_cache: tuple[np.ndarray, np.ndarray] | None = None

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def build(
        cls, vectors: np.ndarray, ids: np.ndarray, metric: Metric, *,
        params: HnswParams | None = None, meta: dict[str, Any] | None = None,
    ) -> VariantIndex:
        """An index over raw features `vectors` labelled by `ids`; hamming learns its centre."""
        matrix = as_matrix(vectors)
        center = matrix.mean(axis=0) if metric == "hamming" and len(matrix) else None
        index = cls(metric, matrix.shape[1], params or HnswParams(), center, dict(meta or {}))
        index.add(matrix, ids)
        return index

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Insert or replace items (an existing id gets its new vector) without a rebuild."""
        matrix, labels = as_matrix(vectors, self.dim), np.asarray(ids, dtype=np.int64)
        if len(matrix) != len(labels):
            raise ValueError(f"{len(matrix)} vectors but {len(labels)} ids")
        if not len(labels):
            return
        needed = self._hnsw.get_current_count() + len(labels)
        if needed > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(needed, 2 * self._hnsw.get_max_elements()))
        for label in set(labels.tolist()) & self._deleted:
            self._hnsw.unmark_deleted(label)  # re-adding a removed id revives it
            self._deleted.discard(label)
        self._hnsw.add_items(prepare(matrix, self.metric, self.center), labels)
        self._dense_cache = None

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Hide items from results (hnswlib marks them deleted); returns how many were live."""
        removed = 0
        live = set(self._hnsw.get_ids_list())
        for label in map(int, ids):
            if label in live and label not in self._deleted:
                self._hnsw.mark_deleted(label)
                self._deleted.add(label)
                removed += 1
        self._dense_cache = None
        return removed

    # --- queries ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._hnsw.get_current_count()) - len(self._deleted)

    def ids(self) -> np.ndarray:
        """Live labels, sorted."""
        labels = np.asarray(self._hnsw.get_ids_list(), dtype=np.int64)
        if self._deleted:
            labels = labels[~np.isin(labels, list(self._deleted))]
        return np.sort(labels)

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored representations (±1 codes for hamming; unit vectors for cosine)."""
        return np.asarray(self._hnsw.get_items(list(map(int, ids))), dtype=np.float32)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances), each (q, min(k, len)), nearest first, distances exact."""
        return self.search_stored(prepare(as_matrix(queries, self.dim), self.metric, self.center), k)

    def search_stored(self, stored: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Like `search`, for vectors already in stored form (e.g. from `vectors()`)."""
        stored = as_matrix(stored, self.dim)
        k = min(int(k), len(self))
        if k <= 0:
            empty = np.zeros((len(stored), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        if self.metric in ("l1", "hamming"):
            return self._search_exact_rerank(stored, k)
        self._hnsw.set_ef(max(self.params.ef, k))
        labels, raw = self._hnsw.knn_query(stored, k=k)
        return labels.astype(np.int64), self._from_hnsw_distance(raw)

    def _from_hnsw_distance(self, raw: np.ndarray) -> np.ndarray:
        distances: np.ndarray
        if self.metric == "l2":
            distances = np.sqrt(np.maximum(raw, 0)).astype(np.float32)  # hnswlib reports squared L2
        elif self.metric == "hamming":
            distances = np.rint(raw / 4).astype(np.float32)  # exact: ±1 codes differ by 4 per bit
        else:
            distances = np.maximum(raw, 0).astype(np.float32)  # cosine: rounding can dip below 0
        return distances

    def _search_exact_rerank(self, stored: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self) <= self.params.exact_threshold:
            labels, dense = self._dense()
            if self.metric == "hamming":
                rows, dists = knn_hamming(pack_bits(stored > 0), dense, k)
            else:
                rows, dists = knn_l1(stored, dense, k)
            return labels[rows], dists.astype(np.float32)
        n_candidates = min(len(self), max(self.params.rerank_candidates, 4 * k))
        self._hnsw.set_ef(max(self.params.ef, n_candidates))
        candidates, _ = self._hnsw.knn_query(stored, k=n_candidates)
        out_ids = np.empty((len(stored), k), dtype=np.int64)
        out_dists = np.empty((len(stored), k), dtype=np.float32)
        for row, (query, labels) in enumerate(zip(stored, candidates)):
            exact = pairwise(query[None, :], self.vectors(labels), self.metric)  # exact rerank
            cols, dists = top_k(exact, k)
            out_ids[row], out_dists[row] = labels[cols[0]], dists[0]
        return out_ids, out_dists

    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """All live vectors (Hamming: packed bits, 32× smaller), cached until add/remove."""
        if self._dense_cache is None:
            labels = self.ids()
            vectors = self.vectors(labels)
            self._dense_cache = (labels, pack_bits(vectors > 0) if self.metric == "hamming" else vectors)
        return self._dense_cache

    # --- persistence hooks (engine.index.storage) ------------------------------------------
    @property
    def hnsw(self) -> hnswlib.Index:
        return self._hnsw

    @property
    def deleted(self) -> set[int]:
        return set(self._deleted)

    def _restore(self, hnsw: hnswlib.Index, deleted: set[int]) -> None:
        self._hnsw, self._deleted, self._dense_cache = hnsw, set(deleted), None
        self._hnsw.set_ef(self.params.ef)
