"""Both index backends (hnswlib files, Milvus Lite) honour one contract, metric by metric."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.errors import EngineError, IndexMismatchError
from engine.index import METRICS, brute_force_knn, prepare
from engine.index.backends import BACKENDS, HnswBackend, IndexBackend
from engine.index.milvus import MilvusBackend, collection_name
from engine.variants import Variant

META = {"embedder": "random-init", "catalog_id": "cat-1", "catalog_revision": 3}


def open_again(kind: str, folder: Path) -> IndexBackend:
    return HnswBackend(folder / "indexes") if kind == "hnswlib" else MilvusBackend(str(folder / "milvus.db"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IndexBackend]:
    opened = open_again(request.param, tmp_path)
    yield opened
    opened.close()


def data(n: int = 400, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim))
    return (centres[rng.integers(0, 12, n)] + 0.5 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("metric", METRICS)
def test_search_returns_exact_neighbours_and_distances(backend: IndexBackend, metric: str) -> None:
    vectors, queries = data(), data(15, seed=1)
    variant = Variant("random-init", metric)  # type: ignore[arg-type]
    index = backend.create(variant, vectors, np.arange(400) + 1000, META)
    found_ids, found_d = index.search(queries, 10)
    center = getattr(index, "center", None)
    _, true_d = brute_force_knn(prepare(queries, metric, center), prepare(vectors, metric, center), metric, 10)  # type: ignore[arg-type]
    assert float(np.mean(found_d <= true_d[:, -1:] + 1e-4)) >= 0.98  # tie-aware recall
    np.testing.assert_allclose(found_d[:, 0], true_d[:, 0], rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(found_d, axis=1) >= -1e-6)
    stored = index.vectors(found_ids[:, 0])
    self_ids, self_d = index.search_stored(stored, 1)
    np.testing.assert_allclose(self_d[:, 0], 0, atol=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_add_remove_revive_then_reopen(backend: IndexBackend, metric: str, tmp_path: Path) -> None:
    vectors = data(300, 64, seed=2)
    variant = Variant("random-init", metric)  # type: ignore[arg-type]
    index = backend.create(variant, vectors[:250], np.arange(250), META)
    index.add(vectors[250:], np.arange(250, 300))
    assert len(index) == 300 and index.search(vectors[260:261], 1)[0][0, 0] == 260
    assert index.remove([260, 261, 99_999]) == 2 and len(index) == 298
    assert 260 not in index.search(vectors[260:261], 20)[0][0]
    index.add(vectors[260:261], np.array([260]))  # re-adding revives
    index.add(vectors[5:6], np.array([6]))  # an existing id gets a new vector: count unchanged
    assert len(index) == 299 and 261 not in index.ids()
    backend.save(variant, index)
    ids, found = index.ids(), index.search(vectors[:5], 3)[0]
    backend.close()  # a fresh connection, as a new process would open it (Milvus: released collections)
    again = open_again(backend.name, tmp_path)
    try:
        reopened = again.open(variant, expect={"embedder": "random-init", "metric": metric, "dim": 64})
        assert reopened is not None and len(reopened) == 299 and reopened.meta == META
        np.testing.assert_array_equal(reopened.ids(), ids)
        np.testing.assert_array_equal(reopened.search(vectors[:5], 3)[0], found)
    finally:
        again.close()


def test_mismatched_provenance_is_refused_and_absent_is_none(backend: IndexBackend) -> None:
    variant = Variant("random-init", "l2")
    assert backend.open(variant) is None
    backend.save(variant, backend.create(variant, data(50), np.arange(50), META))
    with pytest.raises(IndexMismatchError, match="catalog_id"):
        backend.open(variant, expect={"catalog_id": "another"})
    with pytest.raises(IndexMismatchError, match="dim"):
        backend.open(variant, expect={"dim": 4096})


def test_milvus_collection_names_are_valid_and_distinct() -> None:
    names = {collection_name(Variant(e, m)) for e in ("ft:a-b", "ft:a_b", "vgg16-fc7") for m in METRICS}  # type: ignore[arg-type]
    assert len(names) == 12
    assert all(n.replace("_", "a").isalnum() and not n[0].isdigit() for n in names)


def test_milvus_index_opens_in_a_new_process(tmp_path: Path) -> None:
    """Collections written by another process come back released: opening must load them."""
    vectors = data(100, 32)
    np.save(tmp_path / "v.npy", vectors)
    code = textwrap.dedent(f"""
        import numpy as np
        from engine.index.milvus import MilvusBackend
        from engine.variants import Variant
        backend = MilvusBackend({str(tmp_path / "milvus.db")!r})
        variant = Variant("random-init", "hamming")
        vectors = np.load({str(tmp_path / "v.npy")!r})
        backend.save(variant, backend.create(variant, vectors, np.arange(100), {META!r}))
        backend.close()
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    backend = MilvusBackend(str(tmp_path / "milvus.db"))
    try:
        index = backend.open(Variant("random-init", "hamming"), expect={"catalog_id": "cat-1"})
        assert index is not None and len(index) == 100
        assert index.search(vectors[42:43], 1)[0][0, 0] == 42
    finally:
        backend.close()


def test_milvus_lite_path_must_end_in_db(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"\.db"):
        MilvusBackend(str(tmp_path / "milvus"))


def test_a_stamp_changes_when_an_index_is_updated_or_replaced(backend: IndexBackend) -> None:
    variant = Variant("random-init", "l2")
    assert backend.stamp(variant) is None
    vectors = data(60)
    index = backend.create(variant, vectors[:40], np.arange(40), META)
    backend.save(variant, index)
    first = backend.stamp(variant)
    assert first is not None and backend.stamp(variant) == first  # stable while nothing changes
    index.add(vectors[40:], np.arange(40, 60))
    index.meta = META | {"catalog_revision": 4}
    backend.save(variant, index)
    second = backend.stamp(variant)
    assert second not in (None, first)
    backend.save(variant, backend.create(variant, vectors, np.arange(60), META | {"catalog_revision": 5}))
    assert backend.stamp(variant) not in (None, first, second)
