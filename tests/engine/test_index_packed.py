"""PackedHammingIndex: exact popcount search on packed sign codes, same contract as VariantIndex."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.errors import IndexCorruptError
from engine.index import PackedHammingIndex, VariantIndex, brute_force_knn, prepare
from engine.index.packed import pack_codes


def features(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal((n, dim)), 0).astype(np.float32)  # ReLU-like


@pytest.mark.parametrize("dim", [7, 64, 100, 256])
def test_distances_are_exact_against_brute_force(dim: int) -> None:
    vectors, queries = features(500, dim), features(20, dim, seed=1)
    ids = np.arange(1000, 1500)
    index = PackedHammingIndex.build(vectors, ids)
    index.remove(ids[::7].tolist())  # removed rows are scanned but never returned
    vectors, ids = np.delete(vectors, np.s_[::7], axis=0), np.delete(ids, np.s_[::7])
    got_ids, got = index.search(queries, 10)
    codes = prepare(vectors, "hamming", index.center)
    rows, want = brute_force_knn(prepare(queries, "hamming", index.center), codes, "hamming", 10)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_ids, ids[rows])  # ties broken by insertion order, like brute force


def test_matches_variant_index_hamming() -> None:
    vectors, queries = features(300, 128), features(5, 128, seed=2)
    ids = np.arange(300)
    packed_ids, packed = PackedHammingIndex.build(vectors, ids).search(queries, 8)
    hnsw_ids, hnsw = VariantIndex.build(vectors, ids, "hamming").search(queries, 8)
    np.testing.assert_array_equal(packed, hnsw)


def test_remove_replace_and_revive() -> None:
    vectors = features(50, 32)
    index = PackedHammingIndex.build(vectors, np.arange(50))
    assert index.remove([3, 3, 999]) == 1 and len(index) == 49
    ids, dists = index.search(vectors[3:4], 49)
    assert 3 not in ids[0] and len(ids[0]) == 49
    index.add(vectors[3:4], np.array([3]))  # re-adding revives it
    ids, dists = index.search(vectors[3:4], 1)
    assert ids[0, 0] == 3 and dists[0, 0] == 0
    index.add(vectors[7:8], np.array([3]))  # an existing id gets its new code
    assert len(index) == 50
    assert index.search(vectors[7:8], 2)[1][0].tolist() == [0, 0]


def test_k_larger_than_len_and_empty() -> None:
    index = PackedHammingIndex.build(features(5, 16), np.arange(5))
    ids, dists = index.search(features(2, 16), 50)
    assert ids.shape == (2, 5) and dists.dtype == np.float32
    empty = PackedHammingIndex(16)
    assert empty.search(features(1, 16), 3)[0].shape == (1, 0)


def test_vectors_round_trip_and_search_stored() -> None:
    vectors = features(40, 70)
    index = PackedHammingIndex.build(vectors, np.arange(40))
    stored = index.vectors([5])
    np.testing.assert_array_equal(stored, prepare(vectors[5:6], "hamming", index.center))
    assert index.search_stored(stored, 1)[0][0, 0] == 5


def test_memory_is_one_bit_per_dimension() -> None:
    index = PackedHammingIndex.build(features(1000, 4096), np.arange(1000))
    assert index.nbytes == 1000 * (4096 // 8 + 8 + 1)
    assert pack_codes(np.ones((1, 65), bool)).shape == (1, 2)


def test_save_load(tmp_path: Path) -> None:
    vectors = features(60, 48)
    index = PackedHammingIndex.build(vectors, np.arange(60), meta={"embedder": "x"})
    index.remove([4])
    index.save(tmp_path / "p.npz")
    loaded = PackedHammingIndex.load(tmp_path / "p.npz")
    assert loaded.meta == {"embedder": "x"} and len(loaded) == 59
    np.testing.assert_array_equal(loaded.search(vectors[:3], 5)[1], index.search(vectors[:3], 5)[1])
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(IndexCorruptError):
        PackedHammingIndex.load(tmp_path / "bad.npz")
