"""Reader: catalog items → preprocessed uint8 tensors, decoded in parallel DataLoader workers.

An unreadable image does not stop ingestion: it is reported by id and skipped.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from engine.catalog.store import Item
from engine.errors import InvalidImageError
from engine.images import load_image

SampleT = TypeVar("SampleT")

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    ids: list[int]
    pixels: torch.Tensor  # (n, 3, S, S) uint8
    failed: list[tuple[int, str]]  # (item id, reason) of items that could not be read


class CatalogImages(Dataset[tuple[int, torch.Tensor | None, str]]):
    """Item i → (id, preprocessed crop or None, error message)."""

    def __init__(
        self, items: Sequence[Item], root: Path,
        preprocess: Callable[[Image.Image], torch.Tensor], max_pixels: int,
    ) -> None:
        self.items, self.root, self.preprocess, self.max_pixels = list(items), root, preprocess, max_pixels

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> tuple[int, torch.Tensor | None, str]:
        item = self.items[position]
        path = Path(item.image_path)
        path = path if path.is_absolute() else self.root / path
        try:
            image = load_image(path, max_pixels=self.max_pixels, bbox=item.bbox)
        except InvalidImageError as exc:
            return int(item.id or 0), None, str(exc)
        return int(item.id or 0), self.preprocess(image), ""


def collate(samples: list[tuple[int, torch.Tensor | None, str]]) -> Batch:
    good = [(i, t) for i, t, _ in samples if t is not None]
    failed = [(i, err) for i, t, err in samples if t is None]
    pixels = torch.stack([t for _, t in good]) if good else torch.zeros((0, 3, 1, 1), dtype=torch.uint8)
    return Batch([i for i, _ in good], pixels, failed)


def catalog_loader(
    dataset: Dataset[SampleT], *, batch_size: int, num_workers: int, pin_memory: bool,
    collate_fn: Callable[[list[SampleT]], object],
) -> DataLoader[SampleT]:
    """Ordered batches; workers decode JPEGs while the model runs on the previous batch."""
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
        collate_fn=collate_fn, pin_memory=pin_memory,
        persistent_workers=False, prefetch_factor=4 if num_workers else None,
    )
