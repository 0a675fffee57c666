"""PCA-reduced embedders: a built-in backbone followed by a fitted linear projection.

4096-d VGG features cost 16 KB per item in float32; their first 256 principal components cost
1 KB and keep nearly all of the neighbourhood structure. A "pca" checkpoint stores the base
embedder's name and weights' provenance, the mean and the components (and, if whitened, the
per-component scale), so `load_embedder("ft:<name>")` behaves like any other embedder:
    {"kind": "pca", "config": {"base": "vgg16-fc7", "n_components": 256, ...},
     "state_dict": {"mean": (d,), "components": (k, d), "scale": (k,)}}
Fit one with scripts/fit_pca.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.embedders.base import Embedder
from engine.embedders.checkpoints import save_checkpoint
from engine.provenance import describe_base

logger = logging.getLogger(__name__)

PCA_KIND = "pca"
PCA_REMEDY = "refit with scripts/fit_pca.py"


@dataclass
class PcaFit:
    """mean (d,), components (k, d) orthonormal rows, scale (k,): 1, or 1/σ when whitened."""

    mean: np.ndarray
    components: np.ndarray
    scale: np.ndarray
    explained_variance_ratio: float

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, features: np.ndarray) -> np.ndarray:
        """(n, d) → (n, k) float32, the same maths as the checkpoint's Projection module."""
        centred = np.asarray(features, np.float32) - self.mean
        reduced: np.ndarray = ((centred @ self.components.T) * self.scale).astype(np.float32)
        return reduced


def fit_pca(features: np.ndarray, n_components: int, *, whiten: bool = False) -> PcaFit:
    """Principal components of `features` (n, d), computed in float64 for stability."""
    matrix = np.asarray(features, np.float64)
    n, d = matrix.shape
    if not 0 < n_components <= min(n, d):
        raise ValueError(f"n_components must be in 1..{min(n, d)} for {n} × {d} features")
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    if n > d:  # covariance eigendecomposition: d × d, cheap for many items
        values, vectors = np.linalg.eigh(centred.T @ centred / max(1, n - 1))
        order = np.argsort(values)[::-1]
        variances, components = values[order], vectors[:, order].T
    else:  # fewer items than dimensions: economy SVD of the data itself
        _, singular, components = np.linalg.svd(centred, full_matrices=False)
        variances = singular**2 / max(1, n - 1)
    variances = np.maximum(variances, 0)
    kept = variances[:n_components]
    scale = 1 / np.sqrt(kept + 1e-12) if whiten else np.ones(n_components)
    ratio = float(kept.sum() / variances.sum()) if variances.sum() > 0 else 1.0
    return PcaFit(mean.astype(np.float32), components[:n_components].astype(np.float32),
                  scale.astype(np.float32), ratio)


class Projection(nn.Module):
    """x ↦ ((x − mean) · componentsᵀ) · scale, as fixed buffers (moves with the model)."""

    mean: torch.Tensor
    components: torch.Tensor
    scale: torch.Tensor

    def __init__(self, mean: torch.Tensor, components: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("components", components.float())
        self.register_buffer("scale", scale.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.float() - self.mean) @ self.components.T) * self.scale


def save_pca_checkpoint(path: Path, base: Embedder, fit: PcaFit, *, fitted_on: dict[str, Any]) -> None:
    """Write a "pca" checkpoint for `base` (a built-in embedder) with its provenance."""
    config = describe_base(base) | {
        "n_components": fit.n_components,
        "whiten": bool(np.any(fit.scale != 1)),
        "explained_variance_ratio": round(fit.explained_variance_ratio, 6),
        "fitted_on": fitted_on,
    }
    state = {name: torch.from_numpy(np.ascontiguousarray(getattr(fit, name)))
             for name in ("mean", "components", "scale")}
    save_checkpoint(path, kind=PCA_KIND, config=config, state_dict=state)


def pca_embedder(payload: dict[str, Any], name: str, base: Embedder) -> Embedder:
    """A "pca" checkpoint on its (already loaded and checked) base: the base with the projection appended."""
    config, state = payload["config"], payload["state_dict"]
    projection = Projection(state["mean"], state["components"], state["scale"])
    return Embedder(
        name, nn.Sequential(base.model, projection), int(config["n_components"]), base.input_size,
        base.mean, base.std, base.device, {"checkpoint": config}, is_random=base.is_random,
    )
