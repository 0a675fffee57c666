"""The "pca" checkpoint kind: fit, save, `load_embedder('ft:...')`, same output as base + projection."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.embedders import CHECKPOINT_KINDS, available_embedders, load_embedder
from engine.embedders.checkpoints import load_checkpoint
from engine.embedders.pca import PCA_KIND, fit_pca, save_pca_checkpoint
from tests.factories import draw_product, COLOURS


def test_fit_pca_matches_the_svd_definition() -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((300, 20)) @ rng.standard_normal((20, 20))
    fit = fit_pca(data, 5)
    np.testing.assert_allclose(fit.components @ fit.components.T, np.eye(5), atol=1e-5)
    small = fit_pca(data[:10], 5)  # fewer items than dimensions: the SVD branch
    assert small.components.shape == (5, 20)
    projected = fit.transform(data)
    variances = projected.var(axis=0, ddof=1)
    assert np.all(np.diff(variances) <= 1e-3)  # sorted by explained variance
    whitened = fit_pca(data, 5, whiten=True).transform(data)
    np.testing.assert_allclose(whitened.var(axis=0, ddof=1), 1, rtol=1e-3)
    with pytest.raises(ValueError):
        fit_pca(data, 21)


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_checkpoint_round_trip(tmp_path: Path, whiten: bool) -> None:
    base = load_embedder("random-init", "cpu", allow_random=True)
    images = [draw_product(s, c, 80, seed=i) for i, (s, c) in
              enumerate(zip(["disc", "square", "bar", "triangle"] * 6, list(COLOURS.values()) * 3))]
    features = base.embed_images(images)
    fit = fit_pca(features, 8, whiten=whiten)
    save_pca_checkpoint(tmp_path / "small-pca8.pt", base, fit, fitted_on={"items": len(images)})
    assert load_checkpoint(tmp_path / "small-pca8.pt")["kind"] == PCA_KIND
    assert PCA_KIND in CHECKPOINT_KINDS
    assert "ft:small-pca8" in available_embedders(tmp_path)

    reduced = load_embedder("ft:small-pca8", "cpu", models_dir=tmp_path)
    assert reduced.dim == 8 and reduced.is_random and reduced.input_size == base.input_size
    assert reduced.describe()["checkpoint"]["base"] == "random-init"
    np.testing.assert_allclose(reduced.embed_images(images), fit.transform(features), atol=1e-4)


def test_projection_moves_with_the_model(tmp_path: Path) -> None:
    base = load_embedder("random-init", "cpu", allow_random=True)
    fit = fit_pca(np.random.default_rng(1).standard_normal((40, base.dim)), 4)
    save_pca_checkpoint(tmp_path / "p.pt", base, fit, fitted_on={})
    reduced = load_embedder("ft:p", "cpu", models_dir=tmp_path)
    buffers = dict(reduced.model.named_buffers())
    assert any(name.endswith("components") for name in buffers)
    assert all(b.device == torch.device("cpu") for b in buffers.values())
