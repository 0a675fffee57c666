"""Import a CSV listing of products.

Format (UTF-8, comma separated, a header row naming the columns, in any order):

    path,title,category,x1,y1,x2,y2,url,price,sku,split,colour
    shirts/red.jpg,Red gingham shirt,shirt,10,12,200,230,https://shop.example/1,19.99,,train,red

* required: `path` (relative to the CSV's folder, or absolute), `title` (empty → file stem),
  `category` (non-empty);
* optional bounding box as four columns `x1,y1,x2,y2` in pixels (all four columns or none in
  the header; in a row all four filled or all four empty), with x1 < x2 and y1 < y2;
* optional `url`, `price` (a number ≥ 0), `sku` (unique in the catalog), `split`
  (train, val or test);
* any other column becomes an attribute (e.g. `colour`, `pattern`); empty cells are left out.

A bad row raises CatalogError naming the file and line; with `skip_bad=True` it is logged and
skipped instead. All rows are checked before the first item is yielded, so a bad CSV imports
nothing.
"""
from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from engine.catalog.store import Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("path", "title", "category")
BBOX_COLUMNS = ("x1", "y1", "x2", "y2")
KNOWN_COLUMNS = frozenset({*REQUIRED_COLUMNS, *BBOX_COLUMNS, "url", "price", "sku", "split"})
SPLITS = frozenset({"train", "val", "test"})


class _BadRow(ValueError):
    """A row-level problem; turned into CatalogError (or a warning) with the line number."""


def iter_csv(
    csv_path: str | Path, *, skip_bad: bool = False, limit: int | None = None
) -> Iterator[Item]:
    """Yield one Item per valid row of `csv_path` (format in the module docstring)."""
    items = read_csv(csv_path, skip_bad=skip_bad, limit=limit)
    yield from items


def read_csv(
    csv_path: str | Path, *, skip_bad: bool = False, limit: int | None = None
) -> list[Item]:
    """All rows of `csv_path` as Items, validated; see the module docstring for the format."""
    csv_path = Path(csv_path).resolve()
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: Excel's BOM
            reader = csv.DictReader(handle)
            columns = _check_header(csv_path, reader.fieldnames)
            return _read_rows(csv_path, reader, columns, skip_bad=skip_bad, limit=limit)
    except OSError as exc:
        raise CatalogError(f"Cannot read {csv_path}: {exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CatalogError(f"{csv_path} is not a readable UTF-8 CSV file: {exc}") from exc


def _check_header(csv_path: Path, fieldnames: Sequence[str] | None) -> list[str]:
    if not fieldnames:
        raise CatalogError(f"{csv_path} is empty; expected a header row like 'path,title,category'")
    columns = [name.strip().lower() for name in fieldnames]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise CatalogError(f"{csv_path}: header lacks column(s) {', '.join(missing)}")
    present_bbox = [name for name in BBOX_COLUMNS if name in columns]
    if present_bbox and len(present_bbox) != 4:
        raise CatalogError(f"{csv_path}: bbox needs all four columns x1,y1,x2,y2 in the header")
    if len(set(columns)) != len(columns):
        raise CatalogError(f"{csv_path}: repeated column names in the header")
    return columns


def _read_rows(
    csv_path: Path,
    reader: csv.DictReader[str],
    columns: list[str],
    *,
    skip_bad: bool,
    limit: int | None,
) -> list[Item]:
    items: list[Item] = []
    skipped = 0
    for raw in reader:
        if limit is not None and len(items) >= limit:
            break
        line = reader.line_num
        row = {col: (value or "").strip() for col, value in zip(columns, raw.values())}
        if None in raw:  # DictReader puts surplus cells under the key None
            row["__extra__"] = "x"
        try:
            items.append(_row_to_item(row, csv_path.parent))
        except _BadRow as exc:
            if not skip_bad:
                raise CatalogError(f"{csv_path}:{line}: {exc}") from None
            skipped += 1
            logger.warning("skipping %s:%d: %s", csv_path, line, exc)
    if skipped:
        logger.warning("skipped %d bad rows of %s", skipped, csv_path)
    return items


def _row_to_item(row: dict[str, str], base: Path) -> Item:
    if "__extra__" in row:
        raise _BadRow("more cells than header columns")
    if not row["path"]:
        raise _BadRow("empty path")
    path = Path(row["path"])
    path = (path if path.is_absolute() else base / path).resolve()
    if not path.is_file():
        raise _BadRow(f"image not found: {path}")
    if not row["category"]:
        raise _BadRow("empty category")
    split = row.get("split") or None
    if split is not None and split not in SPLITS:
        raise _BadRow(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    attributes = {k: v for k, v in row.items() if k not in KNOWN_COLUMNS and v}
    return Item(
        image_path=str(path),
        title=row["title"] or path.stem.replace("_", " "),
        category=row["category"],
        attributes=attributes,
        bbox=_parse_bbox(row),
        url=row.get("url") or None,
        price=_parse_price(row.get("price", "")),
        split=split,
        sku=row.get("sku") or None,
    )


def _parse_bbox(row: dict[str, str]) -> tuple[float, float, float, float] | None:
    cells = [row.get(name, "") for name in BBOX_COLUMNS]
    if not any(cells):
        return None
    if not all(cells):
        raise _BadRow("bbox needs all of x1,y1,x2,y2 or none")
    try:
        x1, y1, x2, y2 = (float(cell) for cell in cells)
    except ValueError:
        raise _BadRow(f"bbox values must be numbers, got {cells}") from None
    if min(x1, y1) < 0 or x1 >= x2 or y1 >= y2:
        raise _BadRow(f"bbox must satisfy 0 <= x1 < x2 and 0 <= y1 < y2, got {cells}")
    return (x1, y1, x2, y2)


def _parse_price(cell: str) -> float | None:
    if not cell:
        return None
    try:
        price = float(cell)
    except ValueError:
        raise _BadRow(f"price must be a number, got {cell!r}") from None
    if price < 0 or price != price:  # price != price catches NaN
        raise _BadRow(f"price must be a number >= 0, got {cell!r}")
    return price
