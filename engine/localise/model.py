"""The localiser: frozen EfficientNet-Lite0 layers + a small trained head → foreground heatmap.

ImageNet activations alone fire on whatever is salient (a cat, a flower), not on the product,
so a head is trained on composites of the catalog's own boxed items pasted onto training
photographs (engine.training.localiser). It reads the stride-8 and stride-16 maps of the
frozen trunk and predicts, at stride 8, the probability that each cell shows a product; the
boxes come from `regions.regions_from_heatmap`. The checkpoint holds the head only: the trunk is
the built-in efficientnet-lite0 embedder's network, loaded and checked like any derived
checkpoint's base (engine.provenance.check_base).
"""
from __future__ import annotations

import contextlib
import copy
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from engine.embedders.backbones import efficientnet_of
from engine.embedders.base import Embedder, letterbox, pil_to_uint8_tensor, resolve_device
from engine.embedders.checkpoints import load_checkpoint, save_checkpoint
from engine.embedders.registry import load_checkpoint_base, load_embedder
from engine.errors import CheckpointMismatchError
from engine.frozen import FreezeError, Graph, cpu_has_bf16, frozen_graph
from engine.localise.regions import FOREGROUND_THRESHOLD, Letterbox, Region, regions_from_heatmap
from engine.provenance import describe_base

logger = logging.getLogger(__name__)

LOCALISER_KIND = "localiser"
LOCALISER_PAD = (124, 116, 104)  # ImageNet mean colour: padding reads as "nothing here"
TAP_STRIDE8, TAP_STRIDE16 = 4, 10  # EfficientNet-Lite0 block indices (40 ch at /8, 112 ch at /16)



class LocaliserNet(nn.Module):
    """Frozen Lite0 stem + blocks 0..10, tapped at strides 8 and 16, and a trainable head."""

    def __init__(self, trunk: nn.Module, width: int = 64) -> None:
        super().__init__()
        self.trunk = trunk  # efficientnet_lite_pytorch EfficientNet
        for parameter in self.trunk.parameters():
            parameter.requires_grad_(False)
        self.lateral16 = nn.Conv2d(112, width, 1)
        self.lateral8 = nn.Conv2d(40, width // 2, 1)
        self.head = nn.Sequential(
            nn.Conv2d(width + width // 2, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, 1, 1),
        )

    @torch.no_grad()
    def taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen stride-8 and stride-16 feature maps of a normalised batch."""
        net: Any = self.trunk  # efficientnet_lite_pytorch ships no types
        h = net._swish(net._bn0(net._conv_stem(x)))
        stride8 = h
        for index, block in enumerate(net._blocks[: TAP_STRIDE16 + 1]):
            h = block(h)
            if index == TAP_STRIDE8:
                stride8 = h
        return stride8, h

    def head_logits(self, stride8: torch.Tensor, stride16: torch.Tensor) -> torch.Tensor:
        """(N, 1, H/8, W/8) foreground logits from the two taps (trainable part)."""
        up = nn.functional.interpolate(self.lateral16(stride16), size=stride8.shape[-2:], mode="nearest")
        heatmap: torch.Tensor = self.head(torch.cat([up, self.lateral8(stride8)], dim=1))
        return heatmap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head_logits(*self.taps(x))

    def head_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("trunk.")}


LOCALISER_REMEDY = "retrain it with scripts/train_photo.py"
# A bf16 graph is checked against the eager bf16 network: BatchNorm folded in bf16 moves logits a little.
BF16_TOLERANCE = (0.1, 1.0)


def as_bf16(batch: torch.Tensor) -> torch.Tensor:
    """A float batch as the bf16 graph takes it: bfloat16, channels-last."""
    return batch.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)


def localiser_base(input_size: int, device: torch.device | str | None = None, *,
                   allow_random: bool = False) -> Embedder:
    """The built-in efficientnet-lite0 embedder at the localiser's input size (its frozen trunk)."""
    return load_embedder("efficientnet-lite0", device, allow_random=allow_random, input_size=input_size)


def build_localiser_net(base: Embedder, width: int = 64) -> LocaliserNet:
    """An untrained head on `base`'s frozen trunk."""
    return LocaliserNet(efficientnet_of(base.model), width)


class Localiser:
    """`locate(image)` → product regions, best first. Thread-safe; runs on `device`."""

    def __init__(self, net: LocaliserNet, input_size: int, config: dict[str, Any],
                 device: torch.device | str | None = None, *, threshold: float = FOREGROUND_THRESHOLD,
                 confident: float = 0.9, dominant: float = 0.7) -> None:
        self.device = resolve_device(device)
        self.net = net.eval().to(self.device)
        self.input_size = input_size
        self.config = config
        self.threshold = threshold
        self.confident = confident
        self.dominant = dominant
        mean = torch.tensor((127.0,) * 3).view(1, 3, 1, 1)
        self._mean, self._std = mean.to(self.device), torch.full((1, 3, 1, 1), 128.0, device=self.device)
        # BatchNorm in eval is stateless: CPU forwards may run side by side (concurrent searches);
        # on a GPU the lock keeps one forward at a time.
        self._lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if self.device.type == "cuda" else contextlib.nullcontext())
        self._graph: Graph | None = None

    def freeze_for_serving(self, *, bf16: bool = False) -> Localiser:
        """On a CPU: run the network as a frozen graph (engine/frozen.py; same heatmaps to float
        rounding, a third less CPU and no GIL hand-offs inside the forward). Call it on a loaded
        localiser, not on one being trained; one that cannot be frozen stays eager, with a warning.

        `bf16`, on a CPU with bf16 units: the graph runs in bfloat16 (2.5× faster again). Its
        heatmaps differ slightly; on the dev pool (400 photos, efficientnet-lite0/cosine) the boxes
        were as good: IoU ≥ 0.5 88.0 → 90.0 %, exact@5 41.5 → 42.5, colour@1 42.5 → 41.8.
        """
        if self.device.type != "cpu":
            return self
        example = torch.randn(1, 3, self.input_size, self.input_size, generator=torch.Generator().manual_seed(0))
        if bf16 and cpu_has_bf16():
            try:
                self._graph = self._bf16_graph(example)
                return self
            except FreezeError as exc:
                logger.warning("localiser stays float32: %s", exc)
        try:
            self._graph = frozen_graph(self.net, example)
        except FreezeError as exc:
            logger.warning("localiser stays eager: %s", exc)
        return self

    def _bf16_graph(self, example: torch.Tensor) -> Graph:
        """The network in bfloat16 (channels-last) as a frozen graph taking and giving float32."""
        net = copy.deepcopy(self.net).to(torch.bfloat16).to(memory_format=torch.channels_last)
        graph = frozen_graph(net, as_bf16(example), tolerance=BF16_TOLERANCE)

        def run(inputs: torch.Tensor) -> torch.Tensor:
            return graph(as_bf16(inputs)).float()

        return run

    def heatmap(self, image: Image.Image) -> tuple[np.ndarray, Letterbox]:
        """Foreground probability (H/8, W/8) over the letterboxed photo, and the letterbox."""
        box = Letterbox.fit(image.size, self.input_size)
        pixels = pil_to_uint8_tensor(letterbox(image, self.input_size, LOCALISER_PAD))[None]
        with torch.inference_mode(), self._lock:
            inputs = (pixels.to(self.device).float() - self._mean) / self._std
            probability = torch.sigmoid((self._graph or self.net)(inputs))[0, 0]
            probability = nn.functional.interpolate(probability[None, None], scale_factor=2, mode="bilinear",
                                                    align_corners=False)[0, 0]
        return probability.float().cpu().numpy(), box

    def locate(self, image: Image.Image) -> list[Region]:
        """Regions of `image` that hold a product, most prominent first (may be empty)."""
        probability, box = self.heatmap(image)
        return regions_from_heatmap(probability, box, threshold=self.threshold)

    def is_confident(self, regions: list[Region]) -> bool:
        """False when nothing clear was found: the bot then suggests cropping to the product.

        Clear means a sure peak in a region that holds most of the photo's foreground: on the dev
        pool, the 10% of photos whose best region holds under 70% of it got a good box half the
        time, the others 90% of the time.
        """
        return bool(regions) and regions[0].score >= self.confident and regions[0].mass >= self.dominant


def save_localiser(path: Path, net: LocaliserNet, base: Embedder, config: dict[str, Any]) -> None:
    """Write the head and what it needs: input size, width and its base's provenance."""
    save_checkpoint(path, kind=LOCALISER_KIND, config={**config, **describe_base(base)}, state_dict=net.head_state())


def load_localiser(path: Path, device: torch.device | str | None = None) -> Localiser:
    """A saved localiser on its checked base; raises CheckpointMismatchError when they differ."""
    payload = load_checkpoint(path)
    if payload.get("kind") != LOCALISER_KIND:
        raise CheckpointMismatchError(f"{path} is a {payload.get('kind')!r} checkpoint, not a localiser")
    config = payload["config"]
    base = load_checkpoint_base(config, path.name, LOCALISER_REMEDY, resolve_device(device))
    net = build_localiser_net(base, int(config.get("width", 64)))
    missing, unexpected = net.load_state_dict(payload["state_dict"], strict=False)
    if unexpected or any(not key.startswith("trunk.") for key in missing):
        raise CheckpointMismatchError(f"{path}: head weights do not fit ({unexpected or missing}); {LOCALISER_REMEDY}")
    logger.info("loaded localiser %s (input %d px)", path, config["input_size"])
    return Localiser(net, int(config["input_size"]), config, device)
