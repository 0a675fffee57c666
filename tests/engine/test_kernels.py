"""The faiss-backed exact kernels agree with the numpy reference, ties and edge cases included."""
from __future__ import annotations

import numpy as np
import pytest

from engine.index.kernels import hamming_blocked, knn_hamming, knn_l1
from engine.index.metrics import hamming_packed, pack_bits, pairwise
from engine.index.packed import pack_codes


@pytest.mark.parametrize("bits", [5, 64, 200, 1024])
def test_knn_hamming_matches_popcount_reference(bits: int) -> None:
    rng = np.random.default_rng(bits)
    base, queries = rng.random((700, bits)) > 0.5, rng.random((9, bits)) > 0.5
    rows, dists = knn_hamming(pack_bits(queries), pack_bits(base), 15)
    reference = hamming_packed(pack_bits(queries), pack_bits(base))
    np.testing.assert_array_equal(hamming_blocked(pack_codes(queries), pack_codes(base)), reference)
    np.testing.assert_array_equal(dists, np.take_along_axis(reference, rows, 1))
    np.testing.assert_array_equal(dists, np.sort(reference, axis=1)[:, :15])
    # ties: the lowest rows among equals, in row order
    order = np.lexsort((np.broadcast_to(np.arange(700), reference.shape), reference), axis=1)[:, :15]
    np.testing.assert_array_equal(rows, order)


def test_knn_l1_matches_pairwise() -> None:
    rng = np.random.default_rng(0)
    base, queries = rng.standard_normal((500, 48)).astype(np.float32), rng.standard_normal((7, 48)).astype(np.float32)
    rows, dists = knn_l1(queries, base, 10)
    exact = pairwise(queries, base, "l1")
    np.testing.assert_allclose(dists, np.take_along_axis(exact, rows, 1), rtol=1e-5)
    np.testing.assert_array_equal(rows, np.argsort(exact, axis=1)[:, :10])


def test_k_beyond_n_and_empty_inputs() -> None:
    codes = pack_bits(np.eye(4, 16, dtype=bool))
    rows, dists = knn_hamming(codes[:1], codes, 50)
    assert rows.shape == (1, 4) and dists[0, 0] == 0 and rows[0, 0] == 0
    assert knn_hamming(codes[:1], codes[:0], 3)[0].shape == (1, 0)
    assert knn_l1(np.ones((2, 3), np.float32), np.zeros((0, 3), np.float32), 3)[1].shape == (2, 0)

