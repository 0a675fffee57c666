"""A product's colour as a 52-bin histogram: pure pixels in, a unit vector out.

The product is told from its background by distance to the border's median colour (catalog
shots and the localiser's crops both have the product in the middle, scenery at the edges).
Its pixels then vote, weighted by how far they are from that background colour, into
  * 12 hues × 3 brightness levels for coloured pixels (chroma = saturation × value ≥ 0.15; a hue
    shares its vote between its two nearest hue centres),
  * 4 grey levels (black … white) for the rest.
The square root of the normalised histogram is returned: squared L2 distance between two of them
is twice the Hellinger distance of the histograms, in [0, 2].
"""
from __future__ import annotations

import numpy as np
from PIL import Image

DESCRIPTOR_VERSION = 3  # bump whenever the maths below changes: stored tables are then rebuilt
HUES = 12
LEVELS = 3
GREYS = 4
APPEARANCE_DIM = HUES * LEVELS + GREYS
SIDE = 64  # pixels per side the photo is reduced to: colour needs no detail
CHROMA = 0.15  # below this chroma a pixel counts as grey
BACKGROUND_DISTANCE = 0.3  # RGB distance (0..√3) from the border colour at which a pixel is fully product
MIN_FOREGROUND = 20.0  # fewer product pixels than this: the whole picture counts
CENTRE_SIGMA = 0.25  # the product is in the middle: a pixel's vote falls off as a Gaussian of this
# width (a share of the side) with its distance from the centre, so scenery at the edges weighs little
_axis = (np.arange(SIDE) + 0.5) / SIDE - 0.5
CENTRE_PRIOR = np.exp(-(_axis[:, None] ** 2 + _axis[None, :] ** 2) / (2 * CENTRE_SIGMA**2)).astype(np.float32)


def colour_descriptor(image: Image.Image) -> np.ndarray:
    """(APPEARANCE_DIM,) float32 unit vector of the product's colours in `image` (RGB or not)."""
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    small = rgb_image.resize((SIDE, SIDE), Image.Resampling.BILINEAR, reducing_gap=3.0)  # big photos: reduce first
    rgb = np.asarray(small, dtype=np.float32) / 255
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    weight = np.clip(np.linalg.norm(rgb - np.median(border, axis=0), axis=-1) / BACKGROUND_DISTANCE, 0, 1)
    if weight.sum() < MIN_FOREGROUND:  # a flat picture, or a product that fills it
        weight = np.ones_like(weight)
    weight = weight * CENTRE_PRIOR
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32) / 255
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    coloured = saturation * value >= CHROMA
    # A hue splits its vote between the two nearest of the 12 hue centres (0°, 30°, …), so red and
    # orange, or a hue on a boundary, are not one bin apart or together by accident.
    position = hue * HUES
    lower = np.floor(position).astype(np.int64) % HUES
    upper_share = position - np.floor(position)
    level = np.minimum((value * LEVELS).astype(np.int64), LEVELS - 1)
    grey = np.minimum((value * GREYS).astype(np.int64), GREYS - 1)
    bins = np.concatenate([
        np.where(coloured, lower * LEVELS + level, HUES * LEVELS + grey).ravel(),
        (((lower + 1) % HUES) * LEVELS + level)[coloured],
    ])
    votes = np.concatenate([
        (weight * np.where(coloured, 1 - upper_share, 1.0)).ravel(),
        (weight * upper_share)[coloured],
    ])
    histogram = np.bincount(bins, weights=votes, minlength=APPEARANCE_DIM)
    total = histogram.sum()
    if total <= 0:
        histogram = np.full(APPEARANCE_DIM, 1.0)
        total = float(APPEARANCE_DIM)
    descriptor: np.ndarray = np.sqrt(histogram / total).astype(np.float32)
    return descriptor
