"""Import DeepFashion "Category and Attribute Prediction" (Liu et al., 2016) from its own layout.

    root/img/<Folder_Name>/img_00000001.jpg
    root/Anno/list_category_cloth.txt   count, header, `name type` (1 upper, 2 lower, 3 full body)
    root/Anno/list_category_img.txt     count, header, `image_name label` (1-based into the above)
    root/Anno/list_bbox.txt             count, header, `image_name x_1 y_1 x_2 y_2`
    root/Eval/list_eval_partition.txt   optional: count, header, `image_name train|val|test`
    root/Anno/list_attr_cloth.txt       optional: count, header, `attribute name type`
    root/Anno/list_attr_img.txt         optional: count, header, `image_name` then 1000 × -1/0/1

Columns are whitespace separated; attribute names contain single spaces, so an attribute's name
is everything but its last token. Positive attributes become item attributes grouped by type
(`{"texture": "floral", "fabric": "chiffon, lace"}`), plus `{"garment": "upper-body"}`.
The "val" split is kept as "val". Titles come from the image's folder ("Sheer Pleated-Front
Blouse"); the sku is `deepfashion:<image_name>`. Images are referenced in place.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.catalog.store import Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)

CATEGORY_TYPES = {1: "upper-body", 2: "lower-body", 3: "full-body"}
ATTRIBUTE_TYPES = {1: "texture", 2: "fabric", 3: "shape", 4: "part", 5: "style"}
SPLITS = frozenset({"train", "val", "test"})


def iter_deepfashion(
    root: str | Path,
    *,
    splits: set[str] | frozenset[str] | None = None,
    limit: int | None = None,
) -> Iterator[Item]:
    """Yield one Item per image listed in `Anno/list_category_img.txt`, in file order.

    `splits` keeps only those partitions (needs `Eval/list_eval_partition.txt`); `limit` stops
    after that many items. Images missing on disk are skipped with one warning.
    """
    root = Path(root).resolve()
    anno = root / "Anno"
    categories = read_category_cloth(anno / "list_category_cloth.txt")
    labels = _read_category_img(anno / "list_category_img.txt", len(categories))
    bboxes = _read_bboxes(anno / "list_bbox.txt")
    partition = _read_partition(root / "Eval" / "list_eval_partition.txt")
    if splits is not None and partition is None:
        raise CatalogError(f"Cannot filter by split: {root}/Eval/list_eval_partition.txt missing")
    attributes = _read_attributes(anno)
    missing = 0
    yielded = 0
    for image_name, label in labels.items():
        if limit is not None and yielded >= limit:
            break
        split = partition.get(image_name) if partition is not None else None
        if splits is not None and split not in splits:
            continue
        path = root / image_name
        if not path.is_file():
            missing += 1
            continue
        name, ctype = categories[label - 1]
        yield Item(
            image_path=str(path),
            title=Path(image_name).parent.name.replace("_", " "),
            category=name,
            attributes={
                "garment": CATEGORY_TYPES.get(ctype, str(ctype)),
                **attributes.get(image_name, {}),
            },
            bbox=bboxes.get(image_name),
            split=split,
            sku=f"deepfashion:{image_name}",
        )
        yielded += 1
    if missing:
        logger.warning("skipped %d DeepFashion images missing under %s", missing, root)


def read_category_cloth(path: Path) -> list[tuple[str, int]]:
    """The category list: (name, type) in file order; label k means entry k-1."""
    return [_name_and_type(tokens, path, line) for line, tokens in _read_listing(path, 2)]


def _name_and_type(tokens: list[str], path: Path, line: int) -> tuple[str, int]:
    try:
        return " ".join(tokens[:-1]), int(tokens[-1])
    except ValueError:
        raise CatalogError(f"{path}:{line}: type must be an integer, got {tokens[-1]!r}") from None


def _read_category_img(path: Path, n_categories: int) -> dict[str, int]:
    labels: dict[str, int] = {}
    for line, tokens in _read_listing(path, 2):
        try:
            label = int(tokens[1])
        except ValueError:
            raise CatalogError(f"{path}:{line}: category label must be an integer") from None
        if not 1 <= label <= n_categories:
            raise CatalogError(f"{path}:{line}: category label {label} not in 1..{n_categories}")
        labels[tokens[0]] = label
    return labels


def _read_bboxes(path: Path) -> dict[str, tuple[float, float, float, float]]:
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for line, tokens in _read_listing(path, 5):
        try:
            x1, y1, x2, y2 = (float(t) for t in tokens[1:5])
        except ValueError:
            raise CatalogError(f"{path}:{line}: bbox values must be numbers") from None
        boxes[tokens[0]] = (x1, y1, x2, y2)
    return boxes


def _read_partition(path: Path) -> dict[str, str] | None:
    if not path.is_file():
        return None
    partition: dict[str, str] = {}
    for line, tokens in _read_listing(path, 2):
        if tokens[1] not in SPLITS:
            raise CatalogError(f"{path}:{line}: unknown evaluation_status {tokens[1]!r}")
        partition[tokens[0]] = tokens[1]
    return partition


def _read_attributes(anno: Path) -> dict[str, dict[str, str]]:
    """Positive attributes per image, grouped by attribute type; {} when the files are absent."""
    names_path, values_path = anno / "list_attr_cloth.txt", anno / "list_attr_img.txt"
    if not (names_path.is_file() and values_path.is_file()):
        return {}
    names = read_category_cloth(names_path)  # same `name type` layout as the category list
    per_image: dict[str, dict[str, str]] = {}
    for line, text in _iter_rows(values_path):
        image_name, rest = (text.split(None, 1) + [""])[:2]
        values = _parse_values(rest, values_path, line)
        if len(values) != len(names):
            raise CatalogError(
                f"{values_path}:{line}: expected exactly {len(names)} attribute values, "
                f"got {len(values)}"
            )
        groups: dict[str, list[str]] = {}
        for index in np.flatnonzero(values == 1):
            name, atype = names[index]
            groups.setdefault(ATTRIBUTE_TYPES.get(atype, f"type{atype}"), []).append(name)
        per_image[image_name] = {key: ", ".join(sorted(v)) for key, v in groups.items()}
    return per_image


def _parse_values(text: str, path: Path, line: int) -> np.ndarray:
    # The real file is 289k lines × 1,000 values: numpy's parser is ~3× faster than split().
    # On a bad token numpy 2.4+ raises ValueError; older versions warn and stop early, which
    # the caller's length check then reports.
    if not text.strip():
        return np.zeros(0, np.int8)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.fromstring(text, dtype=np.int8, sep=" ")
    except ValueError:
        raise CatalogError(f"{path}:{line}: attribute values must be integers (-1, 0, 1)") from None


def _read_listing(path: Path, min_tokens: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, tokens) of each row with at least `min_tokens` columns."""
    for line, text in _iter_rows(path):
        tokens = text.split()
        if len(tokens) < min_tokens:
            raise CatalogError(
                f"{path}:{line}: expected at least {min_tokens} columns, got {len(tokens)}"
            )
        yield line, tokens


def _iter_rows(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank row after DeepFashion's count and header lines.

    The declared count is checked against the rows, so a truncated file is an error.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"Cannot read DeepFashion file {path}: {exc}") from exc
    with handle:
        count = _read_count(path, handle.readline())
        handle.readline()  # the header line, e.g. "image_name  category_label"
        rows = 0
        for line, text in enumerate(handle, start=3):
            if text.strip():
                rows += 1
                yield line, text
    if rows != count:
        raise CatalogError(f"{path}: first line declares {count} rows but {rows} were found")


def _read_count(path: Path, first_line: str) -> int:
    try:
        return int(first_line.strip())
    except ValueError:
        raise CatalogError(f"{path}:1: expected the row count, not {first_line.strip()!r}") from None
