"""Embedders by name: `available_embedders()` lists them, `load_embedder()` builds one.

Built-in names are fixed; trained checkpoints in the models folder appear as `ft:<file stem>`.
An unknown name raises UnknownNameError listing the valid ones.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.embedders.backbones import (
    efficientnet_lite_trunk,
    load_vgg16,
    small_cnn_trunk,
)
from engine.embedders.base import Embedder, resolve_device
from engine.embedders.checkpoints import (
    FINETUNED_PREFIX,
    EmbeddingOnly,
    build_classifier_head,
    checkpoint_name,
    list_checkpoints,
    load_checkpoint,
)
from engine.embedders.pca import PCA_KIND, PCA_REMEDY, pca_embedder
from engine.embedders.photo import PHOTO_KIND, PHOTO_REMEDY, photo_embedder
from engine.embedders.projection import PROJECTION_KIND, PROJECTION_REMEDY, projection_embedder
from engine.errors import IndexCorruptError, UnknownNameError, WeightsMissingError
from engine.provenance import check_base

logger = logging.getLogger(__name__)

RANDOM_INIT = "random-init"


@dataclass(frozen=True)
class LoadOptions:
    """Where to look for weights, and whether random weights are acceptable (tests only)."""

    models_dir: Path | None = None
    weights_dir: Path | None = None
    weights: Path | None = None
    allow_random: bool = False
    input_size: int | None = None


def _vgg16_layer(layer: str) -> Callable[[torch.device, LoadOptions], Embedder]:
    # classifier = [fc6, relu, dropout, fc7, relu, dropout, fc8]: fc6 ends at 2, fc7 at 5.
    cut = {"fc6": 2, "fc7": 5}[layer]

    def load(device: torch.device, options: LoadOptions) -> Embedder:
        model, source = load_vgg16(options.weights, options.weights_dir, options.allow_random)
        head = nn.Sequential(*list(model.classifier.children())[:cut])
        net = nn.Sequential(model.features, model.avgpool, nn.Flatten(), head)
        from engine.embedders.base import IMAGENET_MEAN, IMAGENET_STD

        return Embedder(
            f"vgg16-{layer}", net, 4096, options.input_size or 224, IMAGENET_MEAN, IMAGENET_STD,
            device, {"weights": source, "layer": layer}, is_random=source == "random",
        )

    return load


def _efficientnet_lite0(device: torch.device, options: LoadOptions) -> Embedder:
    backbone = efficientnet_lite_trunk(
        "efficientnet-lite0", options.weights, options.allow_random, options.input_size
    )
    return _from_backbone_name("efficientnet-lite0", backbone, device)


def _random_init(device: torch.device, options: LoadOptions) -> Embedder:
    if not options.allow_random:
        raise WeightsMissingError(
            f"'{RANDOM_INIT}' has untrained weights and exists for tests only; "
            "set DOPE_ALLOW_RANDOM_WEIGHTS=true if you really mean it."
        )
    backbone = small_cnn_trunk(options.input_size or 64)
    return _from_backbone_name(RANDOM_INIT, backbone, device, is_random=True)


def _from_backbone_name(name: str, backbone: Any, device: torch.device, is_random: bool = False) -> Embedder:
    return Embedder(
        name, backbone.trunk, backbone.feature_dim, backbone.input_size, backbone.mean,
        backbone.std, device, {"weights": backbone.weights_source},
        is_random=is_random or backbone.weights_source == "random",
    )


BUILTIN_EMBEDDERS: dict[str, Callable[[torch.device, LoadOptions], Embedder]] = {
    "efficientnet-lite0": _efficientnet_lite0,
    "vgg16-fc6": _vgg16_layer("fc6"),
    "vgg16-fc7": _vgg16_layer("fc7"),
    RANDOM_INIT: _random_init,
}


# --- trained checkpoints ------------------------------------------------------------------
def _classifier_head(payload: dict[str, Any], name: str, device: torch.device) -> Embedder:
    config = payload["config"]
    net, backbone = build_classifier_head(config, allow_random=True)
    net.load_state_dict(payload["state_dict"])
    return Embedder(
        name, EmbeddingOnly(net), int(config["hidden"]), backbone.input_size, backbone.mean,
        backbone.std, device, {"checkpoint": config},
    )


CheckpointLoader = Callable[[dict[str, Any], str, torch.device], Embedder]


def on_checked_base(build: Callable[[dict[str, Any], str, Embedder], Embedder], remedy: str) -> CheckpointLoader:
    """A loader for a derived kind: load the built-in base its config names, check it, then `build` on it.

    The derived modules (pca, projection) only build on a base they are handed, so they never
    import this registry: the dependency runs one way.
    """

    def load(payload: dict[str, Any], name: str, device: torch.device) -> Embedder:
        return build(payload, name, load_checkpoint_base(payload["config"], name, remedy, device))

    return load


# kind → loader; other modules may register their own kinds here (see engine.embedders).
CHECKPOINT_KINDS: dict[str, CheckpointLoader] = {
    "classifier-head": _classifier_head,
    PCA_KIND: on_checked_base(pca_embedder, PCA_REMEDY),
    PROJECTION_KIND: on_checked_base(projection_embedder, PROJECTION_REMEDY),
    PHOTO_KIND: on_checked_base(photo_embedder, PHOTO_REMEDY),
}


def load_checkpoint_base(config: dict[str, Any], name: str, remedy: str, device: torch.device) -> Embedder:
    """The built-in embedder a derived checkpoint (pca, projection) was fitted on, checked.

    A projection fitted on one set of weights is meaningless on another, so a base that loads
    with other weights (random vs pretrained) or another dimension is refused; `remedy` says
    which script rebuilds the checkpoint (CheckpointMismatchError, engine.provenance.check_base).
    """
    if config["base"] not in BUILTIN_EMBEDDERS:
        raise UnknownNameError(f"{name}: base {config['base']!r} is not a built-in embedder")
    base = load_embedder(config["base"], device, allow_random=bool(config["base_random"]),
                         input_size=config["input_size"])
    check_base(config, base, name, remedy)
    return base


def available_embedders(models_dir: Path | None = None, *, include_random: bool = False) -> list[str]:
    """Names `load_embedder` accepts: built-ins, then `ft:*` checkpoints in `models_dir`."""
    names = [n for n in BUILTIN_EMBEDDERS if include_random or n != RANDOM_INIT]
    return names + [checkpoint_name(path) for path in list_checkpoints(models_dir)]


def load_embedder(
    name: str,
    device: str | torch.device | None = None,
    *,
    models_dir: Path | None = None,
    weights_dir: Path | None = None,
    weights: Path | None = None,
    allow_random: bool = False,
    input_size: int | None = None,
) -> Embedder:
    """The embedder called `name`, on `device` (default: CUDA when present, else CPU)."""
    torch_device = resolve_device(device)
    options = LoadOptions(models_dir, weights_dir, weights, allow_random, input_size)
    if name in BUILTIN_EMBEDDERS:
        embedder = BUILTIN_EMBEDDERS[name](torch_device, options)
    elif name.startswith(FINETUNED_PREFIX):
        embedder = _load_trained(name, torch_device, options)
    else:
        valid = ", ".join(available_embedders(models_dir, include_random=True))
        raise UnknownNameError(f"Unknown embedder {name!r}; available: {valid}")
    logger.info("loaded embedder %s (%d-d) on %s", name, embedder.dim, torch_device)
    return embedder


def _load_trained(name: str, device: torch.device, options: LoadOptions) -> Embedder:
    path = (options.models_dir or Path(".")) / f"{name[len(FINETUNED_PREFIX):]}.pt"
    if not path.is_file():
        valid = ", ".join(available_embedders(options.models_dir, include_random=True))
        raise UnknownNameError(f"No checkpoint {path} for {name!r}; available: {valid}")
    before = file_sha256(path)
    payload = load_checkpoint(path)
    if file_sha256(path) != before:  # replaced while we read it: the hash must name what we loaded
        raise IndexCorruptError(f"{path} changed while it was being loaded; try again")
    loader = CHECKPOINT_KINDS.get(payload.get("kind", ""))
    if loader is None:
        raise UnknownNameError(
            f"{path} has kind {payload.get('kind')!r}; known kinds: {sorted(CHECKPOINT_KINDS)}"
        )
    embedder = loader(payload, name, device)
    # Which file, exactly: indexes record it, so an index built for older weights is refused.
    embedder.provenance["checkpoint_sha256"] = before
    return embedder


def file_sha256(path: Path) -> str:
    """Hex digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
