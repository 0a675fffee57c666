"""Importers turn a source (folder, CSV, DeepFashion, Fashion-MNIST, synthetic) into Items;
`write_items` puts them into a CatalogStore in batches.

Each source lives in its own module and yields `Item`s with *absolute* image paths, so the
importers need not know where the catalog is. `write_items` makes paths under the catalog's
folder relative (the store's convention: a data folder moves as a whole) and leaves outside
paths (a DeepFashion checkout elsewhere on disk) absolute.

Every batch is its own transaction: an import that fails half-way keeps the batches written
before the failure. The CSV importer validates every row before it yields the first item, so
a bad CSV writes nothing.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from engine.catalog.csv_import import iter_csv
from engine.catalog.deepfashion import iter_deepfashion
from engine.catalog.fashion_mnist import (
    FASHION_MNIST_CATEGORIES,
    FASHION_MNIST_DIR,
    iter_fashion_mnist,
    load_fashion_mnist,
)
from engine.catalog.folder import IMAGE_EXTENSIONS, iter_folder
from engine.catalog.store import CatalogStore, Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000

__all__ = [
    "FASHION_MNIST_CATEGORIES",
    "FASHION_MNIST_DIR",
    "IMAGE_EXTENSIONS",
    "iter_csv",
    "iter_deepfashion",
    "iter_fashion_mnist",
    "iter_folder",
    "load_fashion_mnist",
    "relative_to_catalog",
    "write_items",
]


def write_items(
    store: CatalogStore,
    items: Iterable[Item],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    total: int | None = None,
    desc: str = "import",
    progress: bool = True,
) -> int:
    """Add `items` to `store` in batches of `batch_size` (one transaction each); returns the count.

    Image paths under the catalog folder are stored relative to it. `total` only sizes the
    progress bar. A repeated sku (the same source imported twice) raises CatalogError.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    written = 0
    iterator: Iterator[Item] = iter(items)
    with tqdm(total=total, desc=desc, unit="item", disable=not progress) as bar:
        while batch := [relative_to_catalog(store, item) for item in islice(iterator, batch_size)]:
            try:
                store.add_items(batch)
            except CatalogError as exc:
                raise CatalogError(
                    f"{exc} (items {written + 1}..{written + len(batch)}; a repeated sku usually "
                    "means this source is already in the catalog)"
                ) from exc
            written += len(batch)
            bar.update(len(batch))
    logger.info("wrote %d items into %s (revision %d)", written, store.path, store.revision)
    return written


def relative_to_catalog(store: CatalogStore, item: Item) -> Item:
    """The item with its image path made relative to the catalog folder when it lies inside it."""
    path = Path(item.image_path)
    if not path.is_absolute():
        return item
    root = store.root.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        return item
    return dataclasses.replace(item, image_path=resolved.relative_to(root).as_posix())
