"""Fashion-MNIST (Zalando, MIT licence) as arrays for science code, or as catalog items.

Debian's `dataset-fashion-mnist` installs the four IDX files in /usr/share/datasets/fashion-mnist.
The importer writes each 28×28 greyscale image once as `<images_dir>/<split>/<index>.png` and
skips files already there, so re-importing is quick. Titles are "Trouser #17", skus
`fashion-mnist:<split>:<index>`, and `attributes["label"]` keeps the numeric class.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from engine.catalog.idx import read_idx
from engine.catalog.store import Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CATEGORIES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_SPLITS = ("train", "test")
_FILE_PREFIX = {"train": "train", "test": "t10k"}  # the files call the test split "t10k"


def load_fashion_mnist(
    split: str = "train", root: str | Path = FASHION_MNIST_DIR
) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 28, 28) and labels uint8 (N,) of one split ('train' or 'test')."""
    if split not in _FILE_PREFIX:
        raise CatalogError(f"Fashion-MNIST splits are {FASHION_MNIST_SPLITS}, not {split!r}")
    root = Path(root)
    images = read_idx(_find_file(root, f"{_FILE_PREFIX[split]}-images-idx3-ubyte"))
    labels = read_idx(_find_file(root, f"{_FILE_PREFIX[split]}-labels-idx1-ubyte"))
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise CatalogError(f"Fashion-MNIST {split} images are {images.shape}, {images.dtype}")
    if labels.shape != (images.shape[0],):
        raise CatalogError(f"Fashion-MNIST {split}: {len(labels)} labels for {len(images)} images")
    if labels.size and int(labels.max()) >= len(FASHION_MNIST_CATEGORIES):
        raise CatalogError(f"Fashion-MNIST {split}: label {int(labels.max())} out of range")
    return images, labels


def iter_fashion_mnist(
    images_dir: str | Path,
    *,
    root: str | Path = FASHION_MNIST_DIR,
    splits: Iterable[str] = FASHION_MNIST_SPLITS,
    limit_per_split: int | None = None,
) -> Iterator[Item]:
    """Yield Items for the first `limit_per_split` images of each split, writing missing PNGs.

    `images_dir` is normally `<data_dir>/images/fashion-mnist`.
    """
    images_dir = Path(images_dir).resolve()
    for split in splits:
        images, labels = load_fashion_mnist(split, root)
        count = len(images) if limit_per_split is None else min(limit_per_split, len(images))
        split_dir = images_dir / split
        split_dir.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            path = split_dir / f"{index}.png"
            if not path.exists():
                _write_png(images[index], path)
            label = int(labels[index])
            yield Item(
                image_path=str(path),
                title=f"{FASHION_MNIST_CATEGORIES[label]} #{index}",
                category=FASHION_MNIST_CATEGORIES[label],
                attributes={"label": str(label)},
                split=split,
                sku=f"fashion-mnist:{split}:{index}",
            )


def _write_png(pixels: np.ndarray, path: Path) -> None:
    # Write then rename: an interrupted import must not leave a truncated PNG that the
    # next import would skip as "already there".
    partial = path.with_name(path.name + ".partial")
    Image.fromarray(pixels).save(partial, format="PNG")
    partial.replace(path)


def _find_file(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise CatalogError(
        f"Fashion-MNIST file {stem}(.gz) not found in {root}; "
        "install it with `apt-get install dataset-fashion-mnist`"
    )
