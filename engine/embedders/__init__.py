"""Feature extractors: a CLIP-like surface of `available_embedders` and `load_embedder`."""
from engine.embedders.base import Embedder, resolve_device
from engine.embedders.registry import (
    CHECKPOINT_KINDS,
    RANDOM_INIT,
    available_embedders,
    load_embedder,
)

__all__ = [
    "CHECKPOINT_KINDS",
    "RANDOM_INIT",
    "Embedder",
    "available_embedders",
    "load_embedder",
    "resolve_device",
]
