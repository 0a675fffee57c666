"""Real photographs to paste products onto, in three pools that never share a photo.

Nothing is downloaded: the photos come from installed packages (``scripts/install.sh``).

* ``train``: Debian's ``mate-backgrounds`` (nature photographs), ``lomiri-wallpapers-16.04`` and
  ``-20.04`` (Ubuntu Touch photographs) and the real photographs among ``opencv-doc``'s sample
  data (fruit, a home, a street, a football match, a squirrel...), so that scenes hold objects.
* ``dev``: Debian's ``ukui-wallpapers``: for choosing settings on photos training never saw,
  without touching the evaluation pool.
* ``eval``: the photographs that ship inside the scikit-image and scikit-learn wheels
  (astronaut, cat, coffee, motorcycle, rocket, grass, gravel, brick, camera; China, flower).

A user may add their own folder of photos to any pool (``extra``); each path belongs to one
pool only, and `background_pool` refuses a folder that would put the same file in two.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from engine.errors import EngineError

logger = logging.getLogger(__name__)

Pool = Literal["train", "dev", "eval"]
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
TRAIN_FOLDERS = (
    Path("/usr/share/backgrounds/mate/nature"),  # Debian: mate-backgrounds
    Path("/usr/share/backgrounds"),  # Debian: lomiri-wallpapers-16.04 (top-level *_by_*.jpg)
)
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # Debian: opencv-doc
OPENCV_PHOTOS = (  # the real photographs there (the rest are charts, logos, drawings, text)
    "aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg",
    "box_in_scene.png", "building.jpg", "butterfly.jpg", "ela_original.jpg", "fruits.jpg", "graf1.png",
    "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "messi5.jpg", "orange.jpg",
    "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "stuff.jpg", "sudoku.png",
)
TRAIN_PACKAGES = "mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 opencv-doc"
DEV_LIST = Path("/usr/share/ukui-background-properties/ukui-wallpapers.xml")  # Debian: ukui-wallpapers
DEV_PACKAGES = "ukui-wallpapers"
SKIMAGE_EVAL = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg",
                "grass.png", "gravel.png", "brick.png", "camera.png")
SKLEARN_EVAL = ("china.jpg", "flower.jpg")
MAX_SIDE = 1024  # photos are kept at most this large in memory


class BackgroundsMissingError(EngineError):
    """No background photographs are installed for a pool (the message says what to install)."""


def _train_paths() -> list[Path]:
    paths: list[Path] = []
    nature = TRAIN_FOLDERS[0]
    if nature.is_dir():
        paths += sorted(p for p in nature.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    top = TRAIN_FOLDERS[1]
    if top.is_dir():  # lomiri's photographs are named "<title>_by_<author>.jpg"
        paths += sorted(p for p in top.glob("*_by_*.jpg") if p.is_file())
    paths += [OPENCV_DATA / name for name in OPENCV_PHOTOS if (OPENCV_DATA / name).is_file()]
    return paths


def _dev_paths() -> list[Path]:
    """The files ukui-wallpapers' own list names (they share /usr/share/backgrounds with others)."""
    if not DEV_LIST.is_file():
        return []
    names = re.findall(r"<filename>([^<]+)</filename>", DEV_LIST.read_text(errors="replace"))
    return sorted({Path(name) for name in names if Path(name).suffix.lower() in PHOTO_SUFFIXES
                   and Path(name).is_file()})


def _eval_paths() -> list[Path]:
    paths: list[Path] = []
    try:
        import skimage

        folder = Path(skimage.__file__).parent / "data"
        paths += [folder / name for name in SKIMAGE_EVAL if (folder / name).is_file()]
    except ImportError:
        pass
    try:
        import sklearn.datasets

        folder = Path(sklearn.datasets.__file__).parent / "images"
        paths += [folder / name for name in SKLEARN_EVAL if (folder / name).is_file()]
    except ImportError:
        pass
    return paths


def _folder_photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())


@dataclass
class BackgroundPool:
    """A named list of photographs, decoded lazily (RGB, longest side ≤ MAX_SIDE) and cached."""

    name: str
    paths: list[Path]
    _cache: dict[Path, Image.Image] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> Image.Image:
        path = self.paths[index % len(self.paths)]
        if path not in self._cache:
            with Image.open(path) as opened:
                opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size
                image = opened.convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
            self._cache[path] = image
        return self._cache[path]

    def sample(self, rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
        """A random crop of a random photo, resized to `size` (width, height): a fresh scene."""
        photo = self.image(int(rng.integers(len(self.paths))))
        width, height = size
        aspect = width / height
        # Crop 35–100% of the photo's shorter side, at the target aspect ratio.
        side = rng.uniform(0.35, 1.0) * min(photo.width / aspect, photo.height)
        crop_w, crop_h = min(photo.width, side * aspect), min(photo.height, side)
        left = rng.uniform(0, photo.width - crop_w)
        top = rng.uniform(0, photo.height - crop_h)
        region = photo.crop((int(left), int(top), int(left + crop_w), int(top + crop_h)))
        if rng.random() < 0.5:
            region = region.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return region.resize(size, Image.Resampling.BILINEAR)


POOLS = {"train": _train_paths, "dev": _dev_paths, "eval": _eval_paths}
REMEDIES = {"train": f"apt-get install {TRAIN_PACKAGES}", "dev": f"apt-get install {DEV_PACKAGES}",
            "eval": "pip install scikit-image scikit-learn"}


def background_pool(pool: Pool, extra: Path | None = None) -> BackgroundPool:
    """The `train`, `dev` or `eval` pool (plus photos under `extra`); raises BackgroundsMissingError."""
    paths = POOLS[pool]()
    if extra is not None:
        other = {p.resolve() for name, find in POOLS.items() if name != pool for p in find()}
        added = _folder_photos(Path(extra))
        shared = [p for p in added if p.resolve() in other]
        if shared:
            raise EngineError(f"{extra} holds photos of another pool, e.g. {shared[0]}")
        paths += added
    if not paths:
        remedy = REMEDIES[pool]
        raise BackgroundsMissingError(
            f"No {pool} background photographs found. Install them with `{remedy}` "
            "(scripts/install.sh does), or pass a folder of your own photos."
        )
    return BackgroundPool(pool, paths)
