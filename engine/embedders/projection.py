"""Vote-trained embedders: a built-in backbone, then a learned linear projection, L2-normalised.

scripts/retrain.py learns the projection from 👍/👎 votes (engine.feedback.retrain) and writes a
"projection" checkpoint; `load_embedder("ft:<name>")` then behaves like any other embedder:
    {"kind": "projection", "config": {"base": "efficientnet-lite0", "input_size": 224, "dim": 256, ...},
     "state_dict": {"weight": (dim, base_dim), "bias": (dim,),
                    "user_ids": (u,), "user_weights": (u, dim, base_dim), "user_biases": (u, dim)}}
The per-user projections are applied at search time by `engine.feedback.personal.UserAdapters`;
the embedder itself is the same for everybody.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.embedders.base import Embedder
from engine.embedders.checkpoints import save_checkpoint
from engine.provenance import describe_base

PROJECTION_KIND = "projection"
PROJECTION_REMEDY = "retrain it with scripts/retrain.py"


class NormalisedLinear(nn.Module):
    """x ↦ normalise(x·Wᵀ + b): unit vectors, so L2 and cosine rank alike."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.linear(x.float()), dim=-1)


def project(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The same maths as NormalisedLinear, in numpy (for cached base features)."""
    z = np.asarray(features, np.float32) @ weight.T + bias
    unit: np.ndarray = (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return unit


def save_projection_checkpoint(
    path: Path, base: Embedder, weight: np.ndarray, bias: np.ndarray,
    adapters: dict[int, tuple[np.ndarray, np.ndarray]], *, trained_on: dict[str, Any],
) -> None:
    """Write a "projection" checkpoint for `base` (a built-in embedder) with its provenance."""
    user_ids = sorted(adapters)
    dim = int(weight.shape[0])
    weights = np.stack([adapters[u][0] for u in user_ids]) if user_ids else np.zeros((0, *weight.shape))
    biases = np.stack([adapters[u][1] for u in user_ids]) if user_ids else np.zeros((0, dim))
    config = describe_base(base) | {"dim": dim, "users": user_ids, "trained_on": trained_on}
    state = {
        "weight": torch.from_numpy(np.ascontiguousarray(weight, np.float32)),
        "bias": torch.from_numpy(np.ascontiguousarray(bias, np.float32)),
        "user_ids": torch.tensor(user_ids, dtype=torch.int64),
        "user_weights": torch.from_numpy(np.ascontiguousarray(weights, np.float32)),
        "user_biases": torch.from_numpy(np.ascontiguousarray(biases, np.float32)),
    }
    save_checkpoint(path, kind=PROJECTION_KIND, config=config, state_dict=state)


def projection_embedder(payload: dict[str, Any], name: str, base: Embedder) -> Embedder:
    """A "projection" checkpoint on its (already loaded and checked) base: base, then the learned head."""
    config, state = payload["config"], payload["state_dict"]
    head = NormalisedLinear(state["weight"], state["bias"])
    summary = {k: v for k, v in config.items() if k != "trained_on"}
    return Embedder(
        name, nn.Sequential(base.model, head), int(config["dim"]), base.input_size, base.mean, base.std,
        base.device, {"weights": base.describe().get("weights"), "checkpoint": summary},
        is_random=base.is_random, base=base.name,
    )
