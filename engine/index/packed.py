"""A compact exact Hamming index: packed sign codes, brute-force popcount, for 1M+ items.

A 4096-d feature becomes 4096 bits (512 bytes, 32× smaller than float32 and about 35× smaller
than hnswlib's float graph of the same codes), so 1M items take 0.5 GB and the whole catalog is
scanned for every query: results are exact, with no graph to build or tune. The scan is faiss's
blocked popcount (engine.index.kernels.knn_hamming); removed items stay in place, hidden by asking
for k + (removed) neighbours and dropping them. Same contract as `VariantIndex`:
`search(raw features, k) -> (ids, exact distances)`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from engine.atomic import atomic_write
from engine.errors import IndexCorruptError
from engine.index.kernels import knn_hamming
from engine.index.metrics import as_matrix, sign_bits, to_plus_minus_one

WORD = 8  # bytes per uint64 word


def pack_codes(bits: np.ndarray) -> np.ndarray:
    """(n, d) bool → (n, ceil(d/64)) uint64; the zero padding adds nothing to any distance."""
    packed = np.packbits(np.atleast_2d(bits), axis=1)
    pad = (-packed.shape[1]) % WORD
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


@dataclass
class PackedHammingIndex:
    """Exact k-NN under Hamming distance on sign codes; labels are catalog item ids."""

    metric: ClassVar[str] = "hamming"
    dim: int
    center: np.ndarray | None = None  # bit = feature > center (ReLU features need centring)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.words = -(-self.dim // 64)
        self._codes = np.zeros((0, self.words), dtype=np.uint64)
        self._labels = np.zeros(0, dtype=np.int64)
        self._live = np.zeros(0, dtype=bool)
        self._row_of: dict[int, int] = {}

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, *, meta: dict[str, Any] | None = None) -> PackedHammingIndex:
        """Index raw features; the centre is their per-dimension mean (as VariantIndex's)."""
        matrix = as_matrix(vectors)
        index = cls(matrix.shape[1], matrix.mean(axis=0) if len(matrix) else None, dict(meta or {}))
        index.add(matrix, ids)
        return index

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """Raw features → packed uint64 codes."""
        return pack_codes(sign_bits(as_matrix(vectors, self.dim), self.center))

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Insert or replace items (an existing id gets its new code)."""
        self.add_codes(self.encode(vectors), ids)

    def add_codes(self, codes: np.ndarray, ids: np.ndarray) -> None:
        labels = np.asarray(ids, dtype=np.int64)
        if len(codes) != len(labels):
            raise ValueError(f"{len(codes)} vectors but {len(labels)} ids")
        fresh_rows, fresh_labels = [], []
        for row, label in enumerate(labels.tolist()):
            if label in self._row_of:  # replace in place, revive if it had been removed
                self._codes[self._row_of[label]] = codes[row]
                self._live[self._row_of[label]] = True
            else:
                fresh_rows.append(row)
                fresh_labels.append(label)
        if fresh_rows:
            start = len(self._labels)
            self._codes = np.concatenate([self._codes, codes[fresh_rows]])
            self._labels = np.concatenate([self._labels, np.asarray(fresh_labels, np.int64)])
            self._live = np.concatenate([self._live, np.ones(len(fresh_rows), bool)])
            self._row_of.update({label: start + i for i, label in enumerate(fresh_labels)})

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Hide items from results; returns how many were live."""
        removed = 0
        for label in map(int, ids):
            row = self._row_of.get(label)
            if row is not None and self._live[row]:
                self._live[row] = False
                removed += 1
        return removed

    # --- queries ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._live.sum())

    def ids(self) -> np.ndarray:
        return np.sort(self._labels[self._live])

    @property
    def nbytes(self) -> int:
        """Memory of the codes and labels: what 1M items cost."""
        return self._codes.nbytes + self._labels.nbytes + self._live.nbytes

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored codes as ±1 float32 rows (the form VariantIndex's hamming `vectors()` returns)."""
        rows = [self._row_of[int(i)] for i in ids]
        bits = np.unpackbits(self._codes[rows].view(np.uint8), axis=1)[:, : self.dim].astype(bool)
        return to_plus_minus_one(bits)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances) each (q, min(k, len)), nearest first; distances are exact bit counts."""
        return self.search_codes(self.encode(queries), k)

    def search_stored(self, stored: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Like `search`, for ±1 codes (e.g. from `vectors()`)."""
        return self.search_codes(pack_codes(as_matrix(stored, self.dim) > 0), k)

    def search_codes(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(int(k), len(self))
        if k <= 0:
            empty = np.zeros((len(codes), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        dead = len(self._labels) - len(self)
        rows, dists = knn_hamming(codes.view(np.uint8), self._codes.view(np.uint8), k + dead)
        if dead:  # drop removed rows, keep each query's first k live ones (still in order)
            live = self._live[rows]
            cols = np.argsort(~live, axis=1, kind="stable")[:, :k]
            rows, dists = np.take_along_axis(rows, cols, 1), np.take_along_axis(dists, cols, 1)
        return self._labels[rows[:, :k]], dists[:, :k].astype(np.float32)

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Atomic .npz: codes, labels, live mask, centre and a JSON header with the provenance."""
        header = json.dumps({"kind": "packed-hamming", "dim": self.dim, "meta": self.meta})
        with atomic_write(path) as handle:
            np.savez(handle, header=np.asarray(header), codes=self._codes, labels=self._labels,
                     live=self._live, center=self.center if self.center is not None else np.zeros(0))

    @classmethod
    def load(cls, path: Path) -> PackedHammingIndex:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                center = data["center"] if data["center"].size else None
                index = cls(int(header["dim"]), center, header["meta"])
                labels = data["labels"]
                index._codes, index._labels, index._live = data["codes"], labels, data["live"]
        except (OSError, KeyError, ValueError) as exc:
            raise IndexCorruptError(f"Cannot read packed index {path}: {exc}") from exc
        index._row_of = {int(label): row for row, label in enumerate(labels.tolist())}
        return index
