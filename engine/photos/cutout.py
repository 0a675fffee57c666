"""Cut a product out of its catalog photo: the bbox crop plus a foreground mask.

Catalog photos are studio shots: a product on a plain (often graded) background. The background
colour is estimated row by row from the pixels outside the box (from the crop's own border when
the box fills the frame), and the mask is every pixel that differs from it clearly, closed and
hole-filled. When nothing separates from the background (a white shirt on white), the mask is
the whole box, which is still a valid paste: a product photo with its studio margin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from engine.images import BBox

COLOUR_THRESHOLD = 28.0  # RGB distance from the background that counts as product
MIN_COVERAGE = 0.08  # a mask covering less of the box than this is not trusted


@dataclass(frozen=True)
class Cutout:
    """The product: its RGB crop, a float mask in [0, 1] of the same size, and the box it came from."""

    crop: Image.Image
    mask: np.ndarray  # (h, w) float32
    bbox: tuple[int, int, int, int]
    from_mask: bool  # False: the mask is the whole box (background not separable)


def _int_box(image: Image.Image, bbox: BBox | None) -> tuple[int, int, int, int]:
    if bbox is None:
        return (0, 0, image.width, image.height)
    x1, y1, x2, y2 = bbox
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(image.width, int(round(x2))), min(image.height, int(round(y2)))
    if right - left < 2 or bottom - top < 2:
        return (0, 0, image.width, image.height)
    return (left, top, right, bottom)


def _background_rows(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """(h_box, 3) estimated background colour for each row of the box."""
    left, top, right, bottom = box
    height, width = pixels.shape[:2]
    outside = np.concatenate([pixels[:, :left], pixels[:, right:]], axis=1)
    if outside.shape[1] >= 2:
        rows: np.ndarray = np.median(outside, axis=1)[top:bottom]
        return rows.astype(np.float32)
    # The box spans the width: use the top and bottom strips, or the crop's own border.
    strips = [pixels[:top, left:right].reshape(-1, 3), pixels[bottom:, left:right].reshape(-1, 3)]
    border = np.concatenate([s for s in strips if len(s)] or [np.zeros((0, 3), np.float32)])
    if len(border) < 8:
        crop = pixels[top:bottom, left:right]
        border = np.concatenate([crop[0], crop[-1], crop[:, 0], crop[:, -1]])
    colour = np.median(border, axis=0).astype(np.float32)
    return np.repeat(colour[None], bottom - top, axis=0)


def cut_out(image: Image.Image, bbox: BBox | None = None) -> Cutout:
    """The product inside `bbox` of a studio photo (the whole image when `bbox` is None)."""
    image = image.convert("RGB")
    box = _int_box(image, bbox)
    pixels = np.asarray(image, dtype=np.float32)
    left, top, right, bottom = box
    crop = pixels[top:bottom, left:right]
    background = _background_rows(pixels, box)[:, None, :]
    distance = np.sqrt(((crop - background) ** 2).sum(axis=2))
    mask = distance > COLOUR_THRESHOLD
    mask = ndimage.binary_closing(mask, iterations=2)
    mask = ndimage.binary_fill_holes(mask)
    mask = ndimage.binary_opening(mask, iterations=1)
    labels, count = ndimage.label(mask)
    if count > 1:  # keep the components that matter (a dropped shadow speck does not)
        sizes = ndimage.sum(mask, labels, range(1, count + 1))
        keep = np.flatnonzero(sizes >= 0.02 * mask.size) + 1
        mask = np.isin(labels, keep)
    from_mask = bool(mask.mean() >= MIN_COVERAGE)
    if not from_mask:
        soft = np.ones(mask.shape, np.float32)
    else:
        soft = ndimage.gaussian_filter(mask.astype(np.float32), 0.7)
    return Cutout(image.crop(box), soft.astype(np.float32), box, from_mask)
