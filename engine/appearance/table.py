"""Every catalog item's colour descriptor, computed once and kept in embeddings/appearance.npz.

Retraining fills the table for the whole catalog when it fits personal adapters; the bot reads
it to re-rank a user's candidates, computing (and keeping in memory) any item it lacks, such as
one added since. The file records the catalog id and the descriptor's version: a table of another
catalog, or made by other descriptor maths, is ignored (and replaced on the next fill).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.appearance.descriptor import APPEARANCE_DIM, DESCRIPTOR_VERSION, colour_descriptor
from engine.atomic import atomic_write
from engine.catalog.store import CatalogStore
from engine.errors import InvalidImageError
from engine.images import load_image

logger = logging.getLogger(__name__)

APPEARANCE_FILE = "appearance.npz"


class AppearanceTable:
    """item id → colour descriptor for one catalog; thread-safe; `path` None keeps it in memory only."""

    def __init__(self, catalog: CatalogStore, path: Path | None = None) -> None:
        self.catalog = catalog
        self.path = path
        self._rows: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def get(self, ids: Sequence[int]) -> np.ndarray:
        """(len(ids), APPEARANCE_DIM) descriptors; items not yet described are described now.

        An item whose image cannot be read gets a zero row (as far from every colour as can be).
        """
        with self._lock:
            self._load_once()
            missing = [int(i) for i in ids if int(i) not in self._rows]
            if missing:
                self._describe(missing)
            return np.stack([self._rows[int(i)] for i in ids]) if len(ids) else np.zeros((0, APPEARANCE_DIM), np.float32)

    def fill(self, ids: Sequence[int]) -> int:
        """Describe every item of `ids` not yet in the table and save the file; returns how many were new."""
        with self._lock:
            self._load_once()
            missing = [int(i) for i in ids if int(i) not in self._rows]
            self._describe(missing)
            if missing:
                self._save()
            return len(missing)

    def _describe(self, ids: list[int]) -> None:
        items = self.catalog.get_many(ids)
        zero = np.zeros(APPEARANCE_DIM, np.float32)
        for item_id in ids:
            item = items.get(item_id)
            if item is None:
                self._rows[item_id] = zero
                continue
            try:
                image = load_image(self.catalog.resolve_image(item), bbox=item.bbox)
            except (InvalidImageError, OSError) as error:
                logger.warning("no colour descriptor for item %d: %s", item_id, error)
                self._rows[item_id] = zero
                continue
            self._rows[item_id] = colour_descriptor(image)

    def _load_once(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None or not self.path.exists():
            return
        try:
            with np.load(self.path) as data:
                if str(data["catalog_id"]) != self.catalog.catalog_id:
                    logger.warning("ignoring %s: made for another catalog", self.path)
                    return
                if "version" not in data.files or int(data["version"]) != DESCRIPTOR_VERSION:
                    logger.warning("ignoring %s: made by another version of the colour descriptor", self.path)
                    return
                self._rows = {int(i): v for i, v in zip(data["ids"].tolist(), data["vectors"].astype(np.float32))}
        except (OSError, KeyError, ValueError) as error:
            logger.warning("ignoring unreadable %s: %s", self.path, error)

    def _save(self) -> None:
        if self.path is None:
            return
        ids = sorted(self._rows)
        vectors = np.stack([self._rows[i] for i in ids]) if ids else np.zeros((0, APPEARANCE_DIM), np.float32)
        with atomic_write(self.path) as handle:
            np.savez(handle, ids=np.asarray(ids, np.int64), vectors=vectors,
                     catalog_id=np.asarray(self.catalog.catalog_id), version=np.asarray(DESCRIPTOR_VERSION))
