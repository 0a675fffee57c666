"""The Embedder: a network *with* its preprocessing, so nobody pairs the wrong transform with it.

`preprocess` runs on the CPU (in DataLoader workers) and returns a uint8 tensor: the float
conversion and normalisation happen on the model's device, which moves 4× fewer bytes to a GPU.
`embed_batch` is the only code in the project that touches the accelerator.
"""
from __future__ import annotations

import contextlib

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from engine.frozen import FreezeError, Graph, frozen_graph
from engine.provenance import describe_embedder

logger = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (x*255 - 127) / 128, i.e. mean 127/255, std 128/255.
TF_LITE_MEAN = (127 / 255,) * 3
TF_LITE_STD = (128 / 255,) * 3
PAD_COLOUR = (255, 255, 255)  # catalog photos are mostly on white: letterbox with white


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """'auto'/None → CUDA when present, else CPU; anything else is passed to torch."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def letterbox(image: Image.Image, size: int, pad: tuple[int, int, int] = PAD_COLOUR) -> Image.Image:
    """Resize keeping the aspect ratio, pad to a size×size square (nothing of the product lost)."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    if new_size == (size, size):
        return resized
    canvas = Image.new("RGB", (size, size), pad)
    canvas.paste(resized, ((size - new_size[0]) // 2, (size - new_size[1]) // 2))
    return canvas


def pil_to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    """HWC uint8 PIL → CHW uint8 tensor, without a float copy."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


@dataclass
class Embedder:
    """A feature extractor: `model` maps a normalised (N, 3, S, S) batch to (N, dim) features."""

    name: str
    model: torch.nn.Module
    dim: int
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    provenance: dict[str, Any] = field(default_factory=dict)
    is_random: bool = False
    cpu_bf16: bool = False  # CPU: channels_last + bf16 autocast (see use_cpu_bf16)
    # A projection (ft:) of a built-in: its name. `model` is then Sequential(built-in, head), and a
    # search records the built-in's features with a vote, so the next retraining can learn from it.
    base: str | None = None
    # Set by `freeze_for_serving`: the network (or, for a projection, its base then its head) as
    # frozen graphs that `embed_batch_and_base` runs instead of `model`.
    _graphs: tuple[Graph, Graph | None] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.model.eval().to(self.device)
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self._mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1) * 255

    # --- CPU side ---------------------------------------------------------------------------
    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """An RGB image (already cropped) → (3, S, S) uint8 tensor ready for `embed_batch`."""
        return pil_to_uint8_tensor(letterbox(image, self.input_size))

    def describe(self) -> dict[str, Any]:
        """Provenance stored beside every index and embedding file built with this embedder."""
        return describe_embedder(self)

    # --- device side ------------------------------------------------------------------------
    def use_cpu_bf16(self, enabled: bool = True) -> Embedder:
        """On a CPU: channels_last layout and bf16 autocast (oneDNN runs it on AVX-512 BF16/AMX).

        About 2× faster ingestion on CPUs that have bf16 units (docs/PERFORMANCE.md); features
        then differ from fp32 by ~1e-2 relative, so index and queries must use the same mode.
        No effect on CUDA (which always runs bf16 autocast) or when `enabled` is False.
        """
        self.cpu_bf16 = enabled and self.device.type == "cpu"
        if self.cpu_bf16:
            self.model.to(memory_format=torch.channels_last)
            self._graphs = None  # fp32 graphs would bypass the autocast
        return self

    def freeze_for_serving(self) -> Embedder:
        """On a CPU in fp32: run forwards as frozen graphs (engine/frozen.py), for the bot's searches.

        Features stay those of `model` (checked to float rounding). No effect on CUDA or with
        cpu_bf16 (autocast is not traced); a network that cannot be frozen stays eager, with a
        warning. Freeze only an embedder whose weights no longer change (a loaded one, not one
        being trained).
        """
        if self.device.type != "cpu" or self.cpu_bf16:
            return self
        generator = torch.Generator().manual_seed(0)
        example = torch.randn(2, 3, self.input_size, self.input_size, generator=generator)
        try:
            if self.base is not None and isinstance(self.model, torch.nn.Sequential):
                trunk, head = self.model
                with torch.no_grad():
                    raw = trunk(example)
                self._graphs = (frozen_graph(trunk, example), frozen_graph(head, raw))
            else:
                self._graphs = (frozen_graph(self.model, example), None)
        except FreezeError as exc:
            logger.warning("%s stays eager: %s", self.name, exc)
        return self

    def compile(self, mode: str | None = None) -> Embedder:
        """Opt-in torch.compile of the network (slow first batches; for bulk GPU ingestion)."""
        compiled = torch.compile(self.model, mode=mode)
        if not isinstance(compiled, torch.nn.Module):  # a Module in, an OptimizedModule (a Module) out
            raise TypeError(f"torch.compile returned {type(compiled).__name__}, not a module")
        self.model = compiled
        self._graphs = None  # frozen graphs of the old model would bypass it
        return self

    def normalise(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, S, S) on any device → normalised float on the model's device."""
        batch = batch.to(self.device, non_blocking=True)
        if self.device.type == "cuda" or self.cpu_bf16:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return (batch.float() - self._mean) / self._std

    def embed_batch(self, batch: torch.Tensor) -> np.ndarray:
        """uint8 batch → float32 features (N, dim) on the CPU."""
        return self.embed_batch_and_base(batch)[0]

    @torch.inference_mode()
    def embed_batch_and_base(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """Features, and for a projection of a built-in (`base` set) that built-in's features too.

        One forward pass: the base network runs once and its output feeds the projection head.
        """
        inputs = self.normalise(batch)
        if self._graphs is not None:
            first, second = self._graphs
            raw = first(inputs)
            if second is None:
                return raw.float().cpu().numpy(), None
            return second(raw).float().cpu().numpy(), raw.float().cpu().numpy()
        autocast = self.device.type == "cuda" or self.cpu_bf16
        with torch.autocast(self.device.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext():
            if self.base is None or not isinstance(self.model, torch.nn.Sequential):
                plain: np.ndarray = self.model(inputs).float().cpu().numpy()
                return plain, None
            trunk, head = self.model
            raw = trunk(inputs)
            features = head(raw)
        out: np.ndarray = features.float().cpu().numpy()
        base: np.ndarray = raw.float().cpu().numpy()
        return out, base

    def embed_images(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Convenience for small lists (queries, tests); bulk ingestion uses engine.ingest."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = []
        for start in range(0, len(images), batch_size):
            batch = torch.stack([self.preprocess(im) for im in images[start : start + batch_size]])
            chunks.append(self.embed_batch(batch))
        return np.concatenate(chunks).astype(np.float32, copy=False)
