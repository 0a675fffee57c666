"""Things that are not products, to scatter around a training photo: real object cut-outs.

A localiser trained only on products over landscapes learns "anything that is not scenery is
the product", and then boxes the cat or the coffee cup in a user's photo. Pasting other
objects (fruit, animals, tools, vehicles...) around the product, labelled as background, teaches
it what the product is not.

The objects come from Debian's ``tuxpaint-stamps-default`` (PNG stamps with an alpha channel,
installed by ``scripts/install.sh``). Clothing stamps are left out: they look like catalog
products. Without the package the pool is empty and composites simply carry no clutter.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from engine.photos.cutout import Cutout

logger = logging.getLogger(__name__)

STAMPS_FOLDER = Path("/usr/share/tuxpaint/stamps")
STAMPS_PACKAGE = "tuxpaint-stamps-default"
SKIPPED = ("clothes", "symbols")  # look like products / flat glyphs
MAX_SIDE = 256  # objects are pasted at most about this large (photos are ≤ 800 px)
MIN_OPAQUE = 0.1  # a stamp with less visible area than this is a line drawing, not an object


def _stamp_paths(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.png") if p.is_file()
                  and p.relative_to(folder).parts[0] not in SKIPPED)


@dataclass
class ClutterPool:
    """Object cut-outs, decoded lazily (longest side ≤ MAX_SIDE) and cached; may be empty."""

    paths: list[Path]
    _cache: dict[Path, Cutout | None] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.paths)

    def _load(self, path: Path) -> Cutout | None:
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGBA")
        except OSError:
            return None
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
        alpha = np.asarray(image.getchannel("A"), np.float32) / 255
        if float(alpha.mean()) < MIN_OPAQUE:
            return None
        ys, xs = np.nonzero(alpha > 0.5)
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        crop = image.crop(box)
        mask = alpha[box[1] : box[3], box[0] : box[2]]
        return Cutout(crop.convert("RGB"), mask, box, from_mask=True)

    def sample(self, rng: np.random.Generator) -> Cutout | None:
        """A random object (None when the pool is empty or the drawn stamp is unusable)."""
        if not self.paths:
            return None
        path = self.paths[int(rng.integers(len(self.paths)))]
        if path not in self._cache:
            self._cache[path] = self._load(path)
        return self._cache[path]


def clutter_pool(folder: Path = STAMPS_FOLDER) -> ClutterPool:
    """The installed object cut-outs (empty, with a warning, when the package is missing)."""
    paths = _stamp_paths(folder)
    if not paths:
        logger.warning("no clutter objects under %s (apt-get install %s): training photos will show "
                       "products on bare scenery only", folder, STAMPS_PACKAGE)
    return ClutterPool(paths)
