"""Trained-embedder checkpoints: weights next to the config that made them (nanoGPT style).

A checkpoint is a dict saved with torch.save and read back with `weights_only=True`:
    {"format": CHECKPOINT_FORMAT, "kind": "classifier-head" | ..., "config": {...},
     "state_dict": {...}}
`config` holds everything needed to rebuild the network (backbone, input size, hidden width,
categories) and how it was trained (seed, epochs, data, scores), so provenance travels with it.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.atomic import atomic_write
from engine.embedders.backbones import Backbone, build_backbone
from engine.errors import CheckpointCorruptError

CHECKPOINT_FORMAT = "dope-or-nope/embedder/1"
FINETUNED_PREFIX = "ft:"


class ClassifierHeadNet(nn.Module):
    """Backbone → new dense layer (ReLU) → softmax classifier, as in the reference study.

    The embedding is the dense layer's output; the classifier only exists to train it.
    """

    def __init__(self, backbone: Backbone, hidden: int, n_classes: int, dropout: float = 0.5):
        super().__init__()
        self.trunk = backbone.trunk
        self.dense = nn.Sequential(nn.Linear(backbone.feature_dim, hidden), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        embedding: torch.Tensor = self.dense(self.trunk(x))
        return embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.dropout(self.embed(x)))
        return logits


class EmbeddingOnly(nn.Module):
    """Wraps a ClassifierHeadNet so that calling it returns the embedding, not the logits."""

    def __init__(self, net: ClassifierHeadNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x)


def build_classifier_head(config: dict[str, Any], *, allow_random: bool = False) -> tuple[ClassifierHeadNet, Backbone]:
    """The untrained network a 'classifier-head' config describes (no weights download)."""
    backbone = build_backbone(
        config["backbone"],
        pretrained=False,  # the checkpoint's state_dict overwrites every backbone weight
        allow_random=allow_random,
        input_size=config.get("input_size"),
    )
    net = ClassifierHeadNet(backbone, int(config["hidden"]), len(config["categories"]))
    return net, backbone


def save_checkpoint(path: Path, *, kind: str, config: dict[str, Any], state_dict: dict[str, Any]) -> None:
    """Write atomically: a crash mid-save leaves the previous checkpoint intact."""
    payload = {"format": CHECKPOINT_FORMAT, "kind": kind, "config": config, "state_dict": state_dict}
    with atomic_write(path) as handle:
        torch.save(payload, handle)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read and validate a checkpoint (no pickled code is executed: weights_only=True)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise CheckpointCorruptError(f"Cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointCorruptError(f"{path} is not a dope-or-nope embedder checkpoint")
    return payload


def checkpoint_name(path: Path) -> str:
    """Embedder name of a checkpoint file: models/vgg16-head.pt → 'ft:vgg16-head'."""
    return FINETUNED_PREFIX + path.stem


def list_checkpoints(models_dir: Path | None) -> list[Path]:
    if models_dir is None or not models_dir.is_dir():
        return []
    return sorted(models_dir.glob("*.pt"))
