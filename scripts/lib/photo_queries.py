"""Query photos for the photo benchmark: synthesised from the catalog, or a user's real ones.

`synthetic_queries` draws items uniformly and photographs each on an *evaluation* background in
EVAL_STYLE (neither seen in training), or on a *dev* background for choosing settings.
`real_queries` reads a CSV (`photo,item_id`, optional `x1,y1,x2,y2` for the product's box) or a
folder laid out as `<item_id>/<photo>`.
`own_image_queries` are the catalog items' own full (uncropped) photos.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from engine.catalog.store import CatalogStore, Item
from engine.images import load_image
from engine.photos.backgrounds import background_pool
from engine.photos.composite import DEV_STYLE, EVAL_STYLE, compose
from engine.photos.cutout import cut_out

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PhotoQuery:
    """One query photo (encoded bytes or a path), the item it shows and, when known, its box."""

    image: bytes | Path
    item_id: int
    box: Box | None = None
    source: str = "synthetic"


def synthetic_queries(catalog: CatalogStore, n: int, *, seed: int = 1, pool: Literal["eval", "dev"] = "eval",
                      extra_backgrounds: Path | None = None) -> Iterator[PhotoQuery]:
    """`n` phone-like photos of uniformly drawn catalog items: on the evaluation pool's photos in
    EVAL_STYLE, or (`pool="dev"`, for choosing settings) on the dev pool's in DEV_STYLE."""
    backgrounds = background_pool(pool, extra_backgrounds)
    style = EVAL_STYLE if pool == "eval" else DEV_STYLE
    items = [(item.id, item) for item in catalog.iter_items() if item.id is not None]
    rng = np.random.default_rng([seed, 8])
    picks = rng.choice(len(items), size=min(n, len(items)), replace=False)
    for position, row in enumerate(picks):
        item_id, item = items[int(row)]
        image = load_image(catalog.resolve_image(item))
        photo = compose(cut_out(image, item.bbox), backgrounds, np.random.default_rng([seed, 9, position]), style)
        yield PhotoQuery(photo.jpeg, item_id, photo.box)


def own_image_queries(catalog: CatalogStore, n: int, *, seed: int = 1) -> Iterator[PhotoQuery]:
    """`n` catalog items' own full photos, uncropped (the index holds their bbox crops)."""
    items: list[tuple[int, Item]] = [(item.id, item) for item in catalog.iter_items() if item.id is not None]
    rng = np.random.default_rng([seed, 10])
    for row in rng.choice(len(items), size=min(n, len(items)), replace=False):
        item_id, item = items[int(row)]
        yield PhotoQuery(catalog.resolve_image(item), item_id, item.bbox, source="own-image")


def real_queries(path: Path) -> list[PhotoQuery]:
    """Real photos with their true item: a CSV (photo,item_id[,x1,y1,x2,y2]) or <item_id>/ folders."""
    path = Path(path)
    queries: list[PhotoQuery] = []
    if path.is_dir():
        for folder in sorted(p for p in path.iterdir() if p.is_dir() and p.name.isdigit()):
            for photo in sorted(folder.iterdir()):
                if photo.is_file():
                    queries.append(PhotoQuery(photo, int(folder.name), source="real"))
        return queries
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            photo = Path(row["photo"])
            photo = photo if photo.is_absolute() else path.parent / photo
            box = None
            if all(row.get(key) not in (None, "") for key in ("x1", "y1", "x2", "y2")):
                x1, y1, x2, y2 = (float(row[key]) for key in ("x1", "y1", "x2", "y2"))
                box = (x1, y1, x2, y2)
            queries.append(PhotoQuery(photo, int(row["item_id"]), box, source="real"))
    return queries
