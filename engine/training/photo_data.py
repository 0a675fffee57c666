"""Training views for the photo model: catalog items as the shop shows them and as people photograph them.

`load_sources` reads each catalog item once (its studio photo, its cut-out, its labels).
`PhotoViews` is a map-style torch Dataset: view i is a composite photo of item i % n on a
training background, in TRAIN_STYLE, seeded by (seed, i), so any worker rebuilds the same view.
It yields the crop the embedder sees (the true box, jittered as a localiser would miss it), the
whole photo letterboxed for the localiser with the product mask at the localiser's output
resolution, and whether this round trains the localiser (the first `localiser_rounds` do).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from engine.catalog.store import CatalogStore, Item
from engine.embedders.base import letterbox, pil_to_uint8_tensor
from engine.images import load_image
from engine.localise.model import LOCALISER_PAD
from engine.localise.regions import Letterbox
from engine.photos import BackgroundPool, Cutout, PhotoStyle, compose, cut_out
from engine.photos.clutter import ClutterPool

LOCALISER_STRIDE = 8


@dataclass(frozen=True)
class ItemSource:
    """One catalog item, decoded once: studio photo, cut-out and its row in the label tables."""

    item: Item
    image: Image.Image
    cutout: Cutout


def load_sources(catalog: CatalogStore, items: list[Item] | None = None) -> list[ItemSource]:
    """Every item (or `items`) with its photo and cut-out, in catalog order."""
    chosen = items if items is not None else list(catalog.iter_items())
    sources = []
    for item in chosen:
        image = load_image(catalog.resolve_image(item))
        sources.append(ItemSource(item, image, cut_out(image, item.bbox)))
    return sources


def jitter_box(box: tuple[float, float, float, float], size: tuple[int, int], rng: np.random.Generator,
               amount: float) -> tuple[int, int, int, int]:
    """`box` with each edge moved by up to `amount` of the box's size (mostly outwards)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    moves = rng.uniform(-amount, amount * 0.6, 4) * np.array([w, h, w, h])
    x1, y1, x2, y2 = x1 - moves[0], y1 - moves[1], x2 + moves[2], y2 + moves[3]
    left, top = int(max(0, x1)), int(max(0, y1))
    right, bottom = int(min(size[0], max(x2, left + 2))), int(min(size[1], max(y2, top + 2)))
    return (left, top, max(right, left + 2), max(bottom, top + 2))


def letterbox_mask(mask: np.ndarray, input_size: int, grid: int) -> np.ndarray:
    """A (h, w) photo mask placed like `letterbox` places the photo, averaged to grid × grid."""
    height, width = mask.shape
    box = Letterbox.fit((width, height), input_size)
    new_w, new_h = max(1, round(width * box.scale)), max(1, round(height * box.scale))
    resized = Image.fromarray((mask * 255).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (input_size, input_size), 0)
    canvas.paste(resized, (int(box.offset_x), int(box.offset_y)))
    return np.asarray(canvas.resize((grid, grid), Image.Resampling.BOX), np.float32) / 255


def clean_crop(source: ItemSource) -> Image.Image:
    """The crop the index embeds for this item (its bbox, as engine ingestion crops it)."""
    return source.image.crop(source.cutout.bbox) if source.item.bbox is not None else source.image


class PhotoViews(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """View i = a training composite of item i % n (round i // n)."""

    def __init__(self, sources: list[ItemSource], backgrounds: BackgroundPool, style: PhotoStyle, *,
                 rounds: int, localiser_rounds: int, seed: int, input_size: int, localiser_input: int,
                 jitter: float, clutter: ClutterPool | None = None) -> None:
        self.sources, self.backgrounds, self.style, self.clutter = sources, backgrounds, style, clutter
        self.rounds, self.localiser_rounds, self.seed = rounds, localiser_rounds, seed
        self.input_size, self.localiser_input, self.jitter = input_size, localiser_input, jitter
        self.grid = localiser_input // LOCALISER_STRIDE

    def __len__(self) -> int:
        return len(self.sources) * self.rounds

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        n = len(self.sources)
        position, round_ = index % n, index // n
        rng = np.random.default_rng([self.seed, round_, position])
        source = self.sources[position]
        distractor = self.sources[int(rng.integers(n))].cutout
        photo = compose(source.cutout, self.backgrounds, rng, self.style, distractor=distractor,
                        studio=source.image, clutter=self.clutter)
        crop = photo.image.crop(jitter_box(photo.box, photo.image.size, rng, self.jitter))
        return {
            "pixels": pil_to_uint8_tensor(letterbox(crop, self.input_size)),
            "item": torch.tensor(position),
            "has_mask": torch.tensor(round_ < self.localiser_rounds),
            "photo": pil_to_uint8_tensor(letterbox(photo.image, self.localiser_input, LOCALISER_PAD)),
            "mask": torch.from_numpy(letterbox_mask(photo.mask, self.localiser_input, self.grid)),
        }


class CleanViews(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Each item's catalog crop, as the index sees it."""

    def __init__(self, sources: list[ItemSource], input_size: int) -> None:
        self.sources, self.input_size = sources, input_size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        crop = clean_crop(self.sources[index])
        return {"pixels": pil_to_uint8_tensor(letterbox(crop, self.input_size)), "item": torch.tensor(index)}
