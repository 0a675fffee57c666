"""Where variant indexes live: one interface, two backends.

    backend = open_backend(settings)          # DOPE_INDEX_BACKEND: hnswlib (default) | milvus
    index = backend.open(variant, expect)     # None when absent; IndexMismatchError, IndexCorruptError
    index = backend.create(variant, vectors, ids, meta)
    index.add(vectors, ids); index.remove(ids); backend.save(variant, index)

* hnswlib: one self-describing file per variant under data/indexes (engine.index.storage), the
  embedded default.
* milvus: one collection per variant in Milvus (engine.index.milvus) through pymilvus:
  DOPE_MILVUS_URI a local file path runs Milvus Lite in-process, a URL reaches a Milvus server.
Both give the same `SearchIndex` surface, so the engine, the build and the bot do not care which.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from engine.atomic import file_stamp
from engine.index.metrics import Metric
from engine.index.storage import load_index, save_index
from engine.index.variant_index import HnswParams, VariantIndex
from engine.provenance import check
from engine.variants import Variant

if TYPE_CHECKING:
    from engine.settings import Settings

BACKENDS = ("hnswlib", "milvus")


class SearchIndex(Protocol):
    """What the engine needs of one variant's index (VariantIndex and MilvusIndex provide it)."""

    metric: Metric
    dim: int
    meta: dict[str, Any]

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray | list[int]) -> int: ...
    def __len__(self) -> int: ...
    def ids(self) -> np.ndarray: ...
    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def search_stored(self, stored: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class IndexBackend(Protocol):
    """Opens, creates and saves the indexes of variants."""

    name: str

    def where(self, variant: Variant | None = None) -> str: ...
    def open(self, variant: Variant, expect: dict[str, Any] | None = None) -> SearchIndex | None: ...
    def create(self, variant: Variant, vectors: np.ndarray, ids: np.ndarray, meta: dict[str, Any]) -> SearchIndex: ...
    def save(self, variant: Variant, index: SearchIndex) -> None: ...
    def stamp(self, variant: Variant) -> str | None:
        """A cheap token that changes whenever the variant's index is replaced or updated (None: none)."""
        ...
    def close(self) -> None: ...


@dataclass
class HnswBackend:
    """hnswlib graphs in atomic, self-describing files, one per variant, under `indexes_dir`."""

    indexes_dir: Path
    params: HnswParams = field(default_factory=HnswParams)
    name: str = "hnswlib"

    def where(self, variant: Variant | None = None) -> str:
        return str(variant.index_path(self.indexes_dir) if variant else self.indexes_dir)

    def open(self, variant: Variant, expect: dict[str, Any] | None = None) -> VariantIndex | None:
        path = variant.index_path(self.indexes_dir)
        return load_index(path, expect=expect) if path.exists() else None

    def create(self, variant: Variant, vectors: np.ndarray, ids: np.ndarray, meta: dict[str, Any]) -> VariantIndex:
        return VariantIndex.build(vectors, ids, variant.metric, params=self.params, meta=meta)

    def save(self, variant: Variant, index: SearchIndex) -> None:
        assert isinstance(index, VariantIndex), "the hnswlib backend saves hnswlib indexes"
        save_index(index, variant.index_path(self.indexes_dir))

    def stamp(self, variant: Variant) -> str | None:
        """The index file's stamp: an atomic save replaces the file."""
        return file_stamp(variant.index_path(self.indexes_dir))

    def close(self) -> None:
        """Nothing held open: every index is a file read whole."""


def check_index(index: SearchIndex, expect: dict[str, Any] | None, where: str) -> None:
    """IndexMismatchError when an opened index's provenance disagrees with `expect`."""
    if expect:
        check(index.meta | {"metric": index.metric, "dim": index.dim}, expect, where)


def hnsw_params(settings: Settings) -> HnswParams:
    return HnswParams(settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)


def open_backend(settings: Settings) -> IndexBackend:
    """The backend `settings.index_backend` names, with the settings' HNSW parameters."""
    if settings.index_backend == "milvus":
        from engine.index.milvus import MilvusBackend  # pymilvus is imported only when used

        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        return MilvusBackend(settings.resolved_milvus_uri, hnsw_params(settings), token=token)
    return HnswBackend(settings.indexes_dir, hnsw_params(settings))


def as_backend(indexes: IndexBackend | Path, params: HnswParams | None = None) -> IndexBackend:
    """A folder means hnswlib files there (the callers that predate backends pass one)."""
    return HnswBackend(indexes, params or HnswParams()) if isinstance(indexes, Path) else indexes
