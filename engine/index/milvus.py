"""Variant indexes in Milvus (pymilvus): Milvus Lite in a local file, or a Milvus server by URL.

One collection per variant holds (id, vector) with an HNSW index; a small `<name>__meta`
collection holds the provenance (JSON) and the Hamming centre. The four metrics:
* l2, cosine: Milvus's own L2 and COSINE (cosine vectors are stored unit-length);
* hamming: ±1 float sign codes under L2, for which ‖a−b‖² = 4·hamming exactly (Milvus Lite has no
  binary vectors; the same code runs on a server);
* l1: L2 proposes `rerank_candidates`, returned with their vectors, re-scored with exact L1.
Distances come back in each metric's own units, as VariantIndex's. Writes use Strong
consistency, so an incremental build reads what it wrote.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from engine.errors import EngineError, IndexCorruptError
from engine.index.backends import check_index
from engine.index.metrics import Metric, as_matrix, check_metric, pairwise, prepare, top_k
from engine.index.variant_index import HnswParams
from engine.variants import Variant

logger = logging.getLogger(__name__)

MILVUS_METRIC = {"l2": "L2", "l1": "L2", "hamming": "L2", "cosine": "COSINE"}
MAX_LIMIT = 16_384  # Milvus's largest top-k
REQUEST_BYTES = 16 * 2**20  # vectors per insert/query request (server default limit: 64 MiB)
META_MAX_CHARS = 65_535
ID_QUERY_CHUNK = 256
# Milvus Lite scans rows not yet sealed into an indexed segment by brute force, with a
# (queries × rows × dim) temporary for a batch: a small write buffer and one query per request
# keep it bounded (and were faster there: scripts/bench_scale.py). A server gets batches.
LITE_MEMTABLE_BYTES = 32 * 2**20
LITE_QUERIES_PER_REQUEST = 1
SERVER_QUERIES_PER_REQUEST = 64


def collection_name(variant: Variant) -> str:
    """A valid, stable collection name: letters/digits/underscores, plus a hash against clashes."""
    slug = re.sub(r"[^0-9A-Za-z_]", "_", str(variant))[:80]
    return f"dope_{slug}_{hashlib.sha1(str(variant).encode()).hexdigest()[:8]}"


def open_client(uri: str, token: str = "") -> MilvusClient:
    """A URL (http://, https://, tcp://) reaches a server; a path ending in .db is a Milvus Lite file.

    Milvus Lite locks its file: one process at a time (use a server for several).
    """
    if "://" not in uri:
        if not uri.endswith(".db"):
            raise EngineError(f"Milvus URI {uri!r}: a Milvus Lite file must end in .db; "
                              "a server is a URL such as http://localhost:19530")
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("MILVUS_LITE_MEMTABLE_MEMORY_LIMIT_BYTES", str(LITE_MEMTABLE_BYTES))
    return MilvusClient(uri=uri, token=token)


class MilvusIndex:
    """One variant's index in a Milvus collection; same surface as VariantIndex."""

    def __init__(self, client: MilvusClient, name: str, metric: Metric, dim: int, params: HnswParams,
                 center: np.ndarray | None, meta: dict[str, Any], *, queries_per_request: int = 1) -> None:
        self.client, self.name, self.metric, self.dim = client, name, check_metric(metric), dim
        self.params, self.center, self.meta = params, center, meta
        self.queries_per_request = max(1, queries_per_request)
        # The live ids, kept here: Milvus Lite checks an `id in [...]` filter or an upsert against
        # every row (memory ∝ rows × ids asked), so membership is answered locally instead.
        self._ids: set[int] = self._read_ids()

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def create(cls, client: MilvusClient, name: str, vectors: np.ndarray, ids: np.ndarray, metric: Metric,
               params: HnswParams, meta: dict[str, Any], *, queries_per_request: int = 1) -> MilvusIndex:
        """A fresh collection (replacing any old one) holding `vectors` under `ids`."""
        matrix = as_matrix(vectors)
        center = matrix.mean(axis=0) if metric == "hamming" and len(matrix) else None
        for old in (name, f"{name}__meta"):
            if client.has_collection(old):
                client.drop_collection(old)
        _create_collection(client, name, matrix.shape[1], MILVUS_METRIC[metric],
                           {"M": params.M, "efConstruction": params.ef_construction}, "HNSW")
        _create_collection(client, f"{name}__meta", matrix.shape[1], "L2", {}, "FLAT", with_meta=True)
        index = cls(client, name, metric, matrix.shape[1], params, center, dict(meta),
                    queries_per_request=queries_per_request)
        index.add(matrix, ids)
        index.save_meta()
        return index

    @classmethod
    def open(cls, client: MilvusClient, name: str, params: HnswParams, *, queries_per_request: int = 1) -> MilvusIndex:
        for collection in (name, f"{name}__meta"):  # a new process finds collections released
            client.load_collection(collection)
        rows = client.query(f"{name}__meta", ids=[0], output_fields=["meta", "center"])
        if not rows:
            raise IndexCorruptError(f"Milvus collection {name} has no provenance record; rebuild it")
        try:
            record = json.loads(rows[0]["meta"])
            center = np.asarray(rows[0]["center"], np.float32) if record["has_center"] else None
            return cls(client, name, record["metric"], int(record["dim"]), params, center, record["meta"],
                       queries_per_request=queries_per_request)
        except (KeyError, ValueError, TypeError) as exc:
            raise IndexCorruptError(f"Milvus collection {name} has a damaged provenance record") from exc

    def save_meta(self) -> None:
        """Write the provenance (and centre) record; called by the backend's save()."""
        record = json.dumps({"metric": self.metric, "dim": self.dim, "meta": self.meta,
                             "has_center": self.center is not None})
        if len(record) > META_MAX_CHARS:
            raise ValueError(f"provenance of {self.name} is {len(record)} characters; Milvus keeps {META_MAX_CHARS}")
        center = self.center if self.center is not None else np.zeros(self.dim, np.float32)
        self.client.upsert(f"{self.name}__meta", [{"id": 0, "center": center.tolist(), "meta": record}])

    # --- writes -----------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Insert or replace items (an existing id gets its new vector)."""
        matrix, labels = as_matrix(vectors, self.dim), np.asarray(ids, dtype=np.int64)
        if len(matrix) != len(labels):
            raise ValueError(f"{len(matrix)} vectors but {len(labels)} ids")
        if not len(labels):
            return
        stored = self._to_stored(matrix)
        last = {int(label): row for row, label in enumerate(labels.tolist())}  # the last vector of an id wins
        replaced = [i for i in last if i in self._ids]
        if replaced:  # Milvus has no in-place update: delete, then insert like the new ones
            self.client.delete(self.name, ids=replaced)
        order = list(last.items())
        for start in range(0, len(order), self._rows_per_request()):
            chunk = order[start : start + self._rows_per_request()]
            self.client.insert(self.name, [{"id": i, "vector": stored[row].tolist()} for i, row in chunk])
        self._ids.update(last)

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Delete items; returns how many were present."""
        present = sorted({int(i) for i in ids} & self._ids)
        if present:
            self.client.delete(self.name, ids=present)
        self._ids.difference_update(present)
        return len(present)

    # --- reads ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        return np.sort(np.fromiter(self._ids, dtype=np.int64, count=len(self._ids)))

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors (±1 codes for hamming, unit vectors for cosine) in the order of `ids`."""
        wanted = [int(i) for i in ids]
        rows: dict[int, list[float]] = {}
        for start in range(0, len(wanted), ID_QUERY_CHUNK):  # small: Lite compares each id with every row
            chunk = wanted[start : start + ID_QUERY_CHUNK]
            rows |= {r["id"]: r["vector"] for r in self.client.query(self.name, ids=chunk, output_fields=["vector"])}
        missing = [i for i in wanted if i not in rows]
        if missing:
            raise KeyError(f"ids not in {self.name}: {missing[:5]}")
        return np.asarray([rows[i] for i in wanted], dtype=np.float32).reshape(len(wanted), self.dim)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances), each (q, min(k, len)), nearest first, distances in the metric's units."""
        return self.search_stored(self._to_stored(as_matrix(queries, self.dim)), k)

    def search_stored(self, stored: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        stored = as_matrix(stored, self.dim)
        k = min(int(k), len(self))
        if k <= 0:
            empty = np.zeros((len(stored), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        rerank = self.metric == "l1"
        limit = min(len(self), MAX_LIMIT, max(self.params.rerank_candidates, 4 * k) if rerank else k)
        hits: list[list[dict[str, Any]]] = []
        for start in range(0, len(stored), self.queries_per_request):
            hits += self.client.search(
                self.name, data=stored[start : start + self.queries_per_request].tolist(), limit=limit,
                output_fields=["vector"] if rerank else [],
                search_params={"metric_type": MILVUS_METRIC[self.metric], "params": {"ef": max(self.params.ef, limit)}},
            )
        out_ids = np.empty((len(stored), k), np.int64)
        out_d = np.empty((len(stored), k), np.float32)
        for row, (query, found) in enumerate(zip(stored, hits)):
            labels = np.asarray([h["id"] for h in found], np.int64)
            if rerank:
                candidates = np.asarray([h["entity"]["vector"] for h in found], np.float32)
                distances = pairwise(query[None], candidates, "l1")[0]
            else:
                distances = self._from_milvus(np.asarray([h["distance"] for h in found], np.float64))
            order = np.lexsort((labels, distances))[:k]  # ties by id, as the exact scans
            out_ids[row], out_d[row] = labels[order], distances[order]
        return out_ids, out_d

    # --- helpers ----------------------------------------------------------------------------
    def _to_stored(self, matrix: np.ndarray) -> np.ndarray:
        stored = prepare(matrix, self.metric, self.center)
        if self.metric == "cosine":
            stored = stored / np.maximum(np.linalg.norm(stored, axis=1, keepdims=True), 1e-12)
        return stored.astype(np.float32)

    def _from_milvus(self, raw: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            return np.maximum(1.0 - raw, 0).astype(np.float32)  # Milvus reports the similarity
        squared = np.maximum(raw, 0)  # Milvus's L2 is the squared distance
        distances: np.ndarray = (np.rint(squared / 4) if self.metric == "hamming" else np.sqrt(squared))
        return distances.astype(np.float32)

    def _rows_per_request(self) -> int:
        return max(1, REQUEST_BYTES // (4 * self.dim))

    def _read_ids(self) -> set[int]:
        found: set[int] = set()
        iterator = self.client.query_iterator(self.name, batch_size=10_000, filter="id >= 0", output_fields=["id"])
        while batch := iterator.next():
            found.update(row["id"] for row in batch)
        iterator.close()
        return found


def _create_collection(client: MilvusClient, name: str, dim: int, metric: str, params: dict[str, Any],
                       index_type: str, *, with_meta: bool = False) -> None:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("center" if with_meta else "vector", DataType.FLOAT_VECTOR, dim=dim)
    if with_meta:
        schema.add_field("meta", DataType.VARCHAR, max_length=META_MAX_CHARS)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="center" if with_meta else "vector", index_type=index_type,
                           metric_type=metric, params=params)
    client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")


class MilvusBackend:
    """Variant indexes as Milvus collections at `uri` (a Milvus Lite file path or a server URL)."""

    name = "milvus"

    def __init__(self, uri: str, params: HnswParams | None = None, *, token: str = "") -> None:
        self.uri, self.params = uri, params or HnswParams()
        self.client = open_client(uri, token)
        self.queries_per_request = SERVER_QUERIES_PER_REQUEST if "://" in uri else LITE_QUERIES_PER_REQUEST

    def where(self, variant: Variant | None = None) -> str:
        return f"milvus {self.uri}" + (f" collection {collection_name(variant)}" if variant else "")

    def open(self, variant: Variant, expect: dict[str, Any] | None = None) -> MilvusIndex | None:
        name = collection_name(variant)
        if not self.client.has_collection(name):
            return None
        try:
            index = MilvusIndex.open(self.client, name, self.params, queries_per_request=self.queries_per_request)
        except MilvusException as exc:
            raise IndexCorruptError(f"{self.where(variant)} cannot be read: {exc}") from exc
        check_index(index, expect, self.where(variant))
        return index

    def create(self, variant: Variant, vectors: np.ndarray, ids: np.ndarray, meta: dict[str, Any]) -> MilvusIndex:
        return MilvusIndex.create(self.client, collection_name(variant), vectors, ids, variant.metric, self.params, meta,
                                  queries_per_request=self.queries_per_request)

    def save(self, variant: Variant, index: Any) -> None:
        """Vectors are written as they are added; this records the provenance."""
        index.save_meta()

    def stamp(self, variant: Variant) -> str | None:
        """The collection's provenance record, which every build or update rewrites (it names the
        weights' sha256 and the catalog revision): a hot reload polls this instead of a file."""
        name = collection_name(variant)
        try:
            if not self.client.has_collection(name) or not self.client.has_collection(f"{name}__meta"):
                return None
            self.client.load_collection(f"{name}__meta")  # a collection made by another process starts released
            rows = self.client.query(f"{name}__meta", ids=[0], output_fields=["meta"])
        except MilvusException as exc:
            return f"unreadable: {exc}"
        return str(rows[0]["meta"]) if rows else "no provenance record"

    def close(self) -> None:
        self.client.close()
