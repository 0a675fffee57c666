"""Fashion-MNIST from Debian's dataset-fashion-mnist package, when it is installed."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.catalog.fashion_mnist import (
    FASHION_MNIST_CATEGORIES,
    FASHION_MNIST_DIR,
    iter_fashion_mnist,
    load_fashion_mnist,
)
from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore
from engine.errors import CatalogError

needs_dataset = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR} "
    "(apt-get install dataset-fashion-mnist)",
)


@needs_dataset
def test_arrays() -> None:
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,)
    assert np.bincount(labels).tolist() == [1000] * 10  # the published balanced test split
    assert labels[:3].tolist() == [9, 2, 1]  # Ankle boot, Pullover, Trouser


@needs_dataset
def test_import_limited_items(tmp_path: Path) -> None:
    images_dir = tmp_path / "data" / "images" / "fashion-mnist"
    _, labels = load_fashion_mnist("test")
    with CatalogStore(tmp_path / "data" / "catalog.sqlite") as store:
        items = iter_fashion_mnist(images_dir, splits=["train", "test"], limit_per_split=20)
        assert write_items(store, items, progress=False) == 40
        test_items = list(store.iter_items(split="test"))
        assert len(test_items) == 20 and len(list(store.iter_items(split="train"))) == 20
        for index, item in enumerate(test_items):
            assert item.category == FASHION_MNIST_CATEGORIES[labels[index]]
            assert item.attributes == {"label": str(labels[index])}
            assert item.image_path == f"images/fashion-mnist/test/{index}.png"
        image = Image.open(store.resolve_image(test_items[0]))
        assert image.size == (28, 28) and image.mode == "L"


@needs_dataset
def test_reimport_reuses_png_files(tmp_path: Path) -> None:
    list(iter_fashion_mnist(tmp_path, splits=["test"], limit_per_split=5))
    stamp = (tmp_path / "test" / "0.png").stat().st_mtime_ns
    time.sleep(0.01)
    list(iter_fashion_mnist(tmp_path, splits=["test"], limit_per_split=5))
    assert (tmp_path / "test" / "0.png").stat().st_mtime_ns == stamp


def test_missing_files_and_bad_split_raise(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)
    with pytest.raises(CatalogError, match="split"):
        load_fashion_mnist("val", root=tmp_path)
