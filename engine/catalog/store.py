"""Catalog items in one SQLite file: the single source of truth for ids, images and labels.

Image paths are stored relative to the folder that holds the database, so a data folder can be
moved as a whole. Every change bumps `revision`; indexes remember the catalog id and revision
they were built from, so a stale or foreign index is noticed on load.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import CatalogError

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reuse ids: votes and caches refer to them
    sku TEXT UNIQUE,
    image_path TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    bbox TEXT,
    url TEXT,
    price REAL,
    split TEXT
);
CREATE INDEX IF NOT EXISTS items_category ON items(category);
"""


@dataclass(frozen=True)
class Item:
    """One product. `id` is assigned by the store; `bbox` is (x1, y1, x2, y2) in pixels."""

    image_path: str
    title: str = ""
    category: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None
    url: str | None = None
    price: float | None = None
    split: str | None = None
    sku: str | None = None
    id: int | None = None


class CatalogStore:
    """Owns the catalog database. Open with `CatalogStore(path)`; use as a context manager."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise CatalogError(
                f"No catalog at {self.path}. Create one with scripts/make_demo_catalog.py "
                "or scripts/import_catalog.py."
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._db:
            self._db.executescript(SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO catalog_meta(key, value) VALUES ('catalog_id', ?)",
                (uuid.uuid4().hex,),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO catalog_meta(key, value) VALUES ('revision', '0')"
            )

    # --- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- metadata ---------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """Folder that relative image paths are resolved against."""
        return self.path.parent

    @property
    def catalog_id(self) -> str:
        return self._meta("catalog_id")

    @property
    def revision(self) -> int:
        return int(self._meta("revision"))

    def _meta(self, key: str) -> str:
        row = self._db.execute("SELECT value FROM catalog_meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def _bump_revision(self) -> None:
        self._db.execute(
            "UPDATE catalog_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'"
        )

    # --- writes -----------------------------------------------------------------------------
    def add_items(self, items: Iterable[Item]) -> list[int]:
        """Insert items in one transaction; returns their new ids. A repeated sku is an error."""
        ids: list[int] = []
        try:
            with self._db:
                for item in items:
                    cursor = self._db.execute(
                        "INSERT INTO items(id, sku, image_path, title, category, attributes, bbox,"
                        " url, price, split) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _to_row(item),
                    )
                    ids.append(int(cursor.lastrowid or 0))
                if ids:
                    self._bump_revision()
        except sqlite3.IntegrityError as exc:
            raise CatalogError(f"Could not add items: {exc}") from exc
        return ids

    def remove_items(self, ids: Iterable[int]) -> int:
        """Delete items by id; returns how many existed."""
        with self._db:
            removed = self._db.executemany(
                "DELETE FROM items WHERE id = ?", [(int(i),) for i in ids]
            ).rowcount
            if removed:
                self._bump_revision()
        return int(removed)

    # --- reads ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def get(self, item_id: int) -> Item | None:
        row = self._db.execute("SELECT * FROM items WHERE id = ?", (int(item_id),)).fetchone()
        return _from_row(row) if row else None

    def get_many(self, ids: Sequence[int]) -> dict[int, Item]:
        """Items by id for a result list; missing ids are simply absent."""
        if not ids:
            return {}
        found: dict[int, Item] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = [int(i) for i in ids[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT * FROM items WHERE id IN ({marks})", chunk):
                item = _from_row(row)
                found[int(item.id or 0)] = item
        return found

    def iter_items(self, *, split: str | None = None) -> Iterator[Item]:
        """All items in id order, optionally only one split ('train', 'test')."""
        if split is None:
            rows = self._db.execute("SELECT * FROM items ORDER BY id")
        else:
            rows = self._db.execute("SELECT * FROM items WHERE split = ? ORDER BY id", (split,))
        for row in rows:
            yield _from_row(row)

    def ids(self) -> list[int]:
        return [int(r[0]) for r in self._db.execute("SELECT id FROM items ORDER BY id")]

    def category_counts(self) -> dict[str, int]:
        """Category → item count, most common first."""
        rows = self._db.execute(
            "SELECT category, COUNT(*) AS n FROM items GROUP BY category ORDER BY n DESC, category"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def resolve_image(self, item: Item) -> Path:
        """Absolute path of an item's image."""
        path = Path(item.image_path)
        return path if path.is_absolute() else self.root / path


def _to_row(item: Item) -> tuple[object, ...]:
    return (
        item.id,
        item.sku,
        item.image_path,
        item.title,
        item.category,
        json.dumps(item.attributes, sort_keys=True),
        json.dumps(list(item.bbox)) if item.bbox is not None else None,
        item.url,
        item.price,
        item.split,
    )


def _from_row(row: sqlite3.Row) -> Item:
    bbox = json.loads(row["bbox"]) if row["bbox"] else None
    return Item(
        id=int(row["id"]),
        sku=row["sku"],
        image_path=row["image_path"],
        title=row["title"],
        category=row["category"],
        attributes=json.loads(row["attributes"]),
        bbox=tuple(bbox) if bbox else None,
        url=row["url"],
        price=row["price"],
        split=row["split"],
    )
