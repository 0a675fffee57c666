"""Which catalog items a finetune run trains and validates on, and their class labels."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from engine.catalog.store import CatalogStore, Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """Train and validation items with integer labels into `categories` (most common first)."""

    categories: list[str]
    train: list[Item]
    train_labels: np.ndarray
    val: list[Item]
    val_labels: np.ndarray


def select_training_data(
    catalog: CatalogStore,
    *,
    split: str = "train",
    top_categories: int | None = None,
    val_fraction: float = 0.1,
    limit: int | None = None,
    seed: int = 0,
) -> TrainingData:
    """Items of `split` (all items if the catalog has no splits), a seeded validation hold-out.

    `top_categories` keeps the N most common categories; `limit` samples that many items first
    (seeded), for quick runs.
    """
    items = [item for item in catalog.iter_items(split=split) if item.category]
    if not items:
        items = [item for item in catalog.iter_items() if item.category and not item.split]
        if items:
            logger.warning("no items with split %r: training on the %d unsplit items", split, len(items))
    if not items:
        raise CatalogError(f"No labelled items with split {split!r} in {catalog.path}")
    rng = np.random.default_rng(seed)
    if limit is not None and limit < len(items):
        items = [items[i] for i in np.sort(rng.choice(len(items), size=limit, replace=False))]
    counts = Counter(item.category for item in items)
    categories = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if top_categories is not None:
        categories = categories[:top_categories]
    if len(categories) < 2:
        raise CatalogError(f"Need at least 2 categories to train a classifier, found {categories}")
    index = {c: i for i, c in enumerate(categories)}
    items = [item for item in items if item.category in index]
    labels = np.asarray([index[item.category] for item in items], dtype=np.int64)
    order = rng.permutation(len(items))
    n_val = max(1, int(round(val_fraction * len(items)))) if val_fraction > 0 else 0
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    logger.info("training data: %d train, %d val items in %d categories", len(train_rows), len(val_rows), len(categories))
    return TrainingData(
        categories, [items[i] for i in train_rows], labels[train_rows],
        [items[i] for i in val_rows], labels[val_rows],
    )
