"""Each metric's index returns the brute-force ground truth, with exact distances.

Recall is tie-aware: Hamming distances are integers, so equally distant items may legitimately
swap places; what must hold is that every returned item is as close as the true k-th neighbour
and that the returned distances are the true ones.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.index import METRICS, HnswParams, VariantIndex, brute_force_knn, prepare
from engine.index.metrics import hamming_packed, pack_bits, pairwise, sign_bits

K = 10


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int = 40) -> np.ndarray:
    centres = rng.normal(size=(clusters, dim))
    return (centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim))).astype(np.float32)


def tie_aware_recall(found_d: np.ndarray, true_d: np.ndarray) -> float:
    """Share of returned neighbours no farther than the true k-th nearest (ties count as hits)."""
    kth = true_d[:, -1:]
    return float(np.mean(found_d <= kth + 1e-4))


def ground_truth(index: VariantIndex, base: np.ndarray, queries: np.ndarray, metric: str):
    stored_db = prepare(base, metric, index.center)  # type: ignore[arg-type]
    stored_q = prepare(queries, metric, index.center)  # type: ignore[arg-type]
    return brute_force_knn(stored_q, stored_db, metric, K)  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("data", ["clustered", "gaussian"])
def test_results_equal_brute_force(metric: str, data: str) -> None:
    rng = np.random.default_rng(7)
    make = clustered if data == "clustered" else (lambda r, n, d: r.normal(size=(n, d)).astype(np.float32))
    base, queries = make(rng, 2000, 64), make(rng, 100, 64)
    ids = np.arange(len(base)) + 10_000  # labels are item ids, not row numbers
    index = VariantIndex.build(base, ids, metric)  # type: ignore[arg-type]
    found_ids, found_d = index.search(queries, K)
    true_rows, true_d = ground_truth(index, base, queries, metric)

    assert tie_aware_recall(found_d, true_d) >= 0.98
    # distances reported are the exact distances of the returned items...
    exact = pairwise(prepare(queries, metric, index.center), prepare(base, metric, index.center), metric)  # type: ignore[arg-type]
    rows = found_ids - 10_000
    np.testing.assert_allclose(found_d, np.take_along_axis(exact, rows, axis=1), rtol=1e-4, atol=1e-4)
    # ...sorted nearest first, and (exact metrics) identical to the truth
    assert np.all(np.diff(found_d, axis=1) >= -1e-6)
    if metric in ("l1", "hamming"):
        np.testing.assert_allclose(found_d, true_d, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["l1", "hamming"])
@pytest.mark.parametrize("data", ["clustered", "gaussian"])
def test_candidate_rerank_path_matches_brute_force(metric: str, data: str) -> None:
    """Above exact_threshold: HNSW candidates + exact rerank; recall ≥ 0.98, exact distances."""
    rng = np.random.default_rng(3)
    make = clustered if data == "clustered" else (lambda r, n, d: r.normal(size=(n, d)).astype(np.float32))
    base, queries = make(rng, 3000, 48), make(rng, 100, 48)
    index = VariantIndex.build(base, np.arange(3000), metric, params=HnswParams(exact_threshold=0))  # type: ignore[arg-type]
    found_ids, found_d = index.search(queries, K)
    _, true_d = ground_truth(index, base, queries, metric)
    assert tie_aware_recall(found_d, true_d) >= 0.98
    stored_q = prepare(queries, metric, index.center)  # type: ignore[arg-type]
    stored_db = prepare(base, metric, index.center)  # type: ignore[arg-type]
    exact = np.stack([pairwise(q[None], stored_db[r], metric)[0] for q, r in zip(stored_q, found_ids)])  # type: ignore[arg-type]
    np.testing.assert_allclose(found_d, exact, rtol=1e-5)
    # within what it returns, ranks are exact: never a closer candidate after a farther one
    assert np.all(np.diff(found_d, axis=1) >= 0)


def test_hamming_distances_are_bit_counts_of_packed_codes() -> None:
    """Independent check with popcount on packed bits (no ±1 trick involved)."""
    rng = np.random.default_rng(5)
    base, queries = rng.normal(size=(500, 100)).astype(np.float32), rng.normal(size=(20, 100)).astype(np.float32)
    index = VariantIndex.build(base, np.arange(500), "hamming")
    found_ids, found_d = index.search(queries, K)
    codes, query_codes = pack_bits(sign_bits(base, index.center)), pack_bits(sign_bits(queries, index.center))
    popcount = hamming_packed(query_codes, codes)
    np.testing.assert_array_equal(found_d, np.take_along_axis(popcount, found_ids, axis=1))
    np.testing.assert_array_equal(found_d, np.sort(popcount, axis=1)[:, :K])


def test_hamming_codes_are_centred() -> None:
    """Non-negative (ReLU) features would all be 'positive' without centring."""
    rng = np.random.default_rng(0)
    relu = np.maximum(rng.normal(size=(300, 32)), 0).astype(np.float32) + 0.01
    index = VariantIndex.build(relu, np.arange(300), "hamming")
    codes = index.vectors(np.arange(300))
    assert 0.2 < float((codes > 0).mean()) < 0.8


@pytest.mark.parametrize("metric", METRICS)
def test_add_and_remove_without_rebuild(metric: str) -> None:
    rng = np.random.default_rng(1)
    base = clustered(rng, 600, 32)
    index = VariantIndex.build(base[:500], np.arange(500), metric)  # type: ignore[arg-type]
    index.add(base[500:], np.arange(500, 600))
    assert len(index) == 600
    assert index.search(base[550:551], 1)[0][0, 0] == 550
    assert index.remove([550, 551, 99_999]) == 2
    assert len(index) == 598
    assert 550 not in index.search(base[550:551], 20)[0][0]
    index.add(base[550:551], np.array([550]))  # re-adding revives
    assert index.search(base[550:551], 1)[0][0, 0] == 550
    assert 550 in index.ids()


def test_k_larger_than_index_and_empty_index() -> None:
    base = np.eye(4, dtype=np.float32)
    index = VariantIndex.build(base, np.arange(4), "l2")
    ids, dists = index.search(base[:1], 50)
    assert ids.shape == (1, 4) and dists[0, 0] == 0
    index.remove([0, 1, 2, 3])
    assert index.search(base[:1], 5)[0].shape == (1, 0)


def test_wrong_dimension_is_refused() -> None:
    index = VariantIndex.build(np.eye(4, dtype=np.float32), np.arange(4), "l2")
    with pytest.raises(ValueError, match="expected 4-d"):
        index.search(np.ones((1, 5), np.float32), 1)
