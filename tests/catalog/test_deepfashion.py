"""DeepFashion importer on a tiny fixture written in the dataset's exact layout."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from engine.catalog.deepfashion import iter_deepfashion
from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore
from engine.errors import CatalogError

IMAGES = {
    "img/Sheer_Pleated-Front_Blouse/img_00000001.jpg": (3, (72, 79, 232, 273), "train"),
    "img/Sheer_Pleated-Front_Blouse/img_00000002.jpg": (3, (67, 59, 155, 161), "val"),
    "img/Cutoff_Denim_Shorts/img_00000001.jpg": (2, (10, 20, 200, 280), "test"),
    "img/Floral_Maxi_Dress/img_00000001.jpg": (4, (5, 6, 190, 290), "train"),
}
CATEGORIES = [("Anorak", 1), ("Shorts", 2), ("Blouse", 1), ("Dress", 3)]
ATTRIBUTES = [("a-line", 3), ("abstract chevron", 1), ("floral", 1), ("denim", 2)]
POSITIVE = {  # per image: the attribute vector in file order
    "img/Sheer_Pleated-Front_Blouse/img_00000001.jpg": [-1, 1, -1, -1],
    "img/Sheer_Pleated-Front_Blouse/img_00000002.jpg": [-1, -1, -1, -1],
    "img/Cutoff_Denim_Shorts/img_00000001.jpg": [-1, -1, -1, 1],
    "img/Floral_Maxi_Dress/img_00000001.jpg": [1, -1, 1, -1],
}


def _listing(path: Path, header: str, rows: list[str]) -> None:
    """DeepFashion's layout: row count, header line, then space-padded rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{len(rows)}\n{header}\n" + "".join(f"{r}\n" for r in rows))


def write_fixture(root: Path, *, partition: bool = True, attributes: bool = True) -> None:
    for i, name in enumerate(IMAGES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (300, 300), (40 * i, 90, 160)).save(root / name, quality=85)
    anno = root / "Anno"
    _listing(anno / "list_category_cloth.txt", "category_name  category_type",
             [f"{n:<29}{t}" for n, t in CATEGORIES])  # fmt: skip
    _listing(anno / "list_category_img.txt", "image_name  category_label",
             [f"{n:<70}{v[0]}" for n, v in IMAGES.items()])  # fmt: skip
    _listing(anno / "list_bbox.txt", "image_name  x_1  y_1  x_2  y_2",
             [f"{n:<70}{'  '.join(map(str, v[1]))}" for n, v in IMAGES.items()])  # fmt: skip
    if partition:
        _listing(root / "Eval" / "list_eval_partition.txt", "image_name  evaluation_status",
                 [f"{n:<70}{v[2]}" for n, v in IMAGES.items()])  # fmt: skip
    if attributes:
        _listing(anno / "list_attr_cloth.txt", "attribute_name  attribute_type",
                 [f"{n:<29}{t}" for n, t in ATTRIBUTES])  # fmt: skip
        _listing(anno / "list_attr_img.txt", "image_name  attribute_labels",
                 [f"{n:<70}{' '.join(f'{x:2d}' for x in v)}" for n, v in POSITIVE.items()])  # fmt: skip


def test_imports_categories_bboxes_splits_attributes(tmp_path: Path) -> None:
    root = tmp_path / "DeepFashion"
    write_fixture(root)
    with CatalogStore(tmp_path / "data" / "catalog.sqlite") as store:
        assert write_items(store, iter_deepfashion(root), progress=False) == 4
        items = {item.sku: item for item in store.iter_items()}
        blouse = items["deepfashion:img/Sheer_Pleated-Front_Blouse/img_00000001.jpg"]
        assert blouse.category == "Blouse"
        assert blouse.title == "Sheer Pleated-Front Blouse"
        assert blouse.bbox == (72, 79, 232, 273)
        assert blouse.split == "train"
        assert blouse.attributes == {"garment": "upper-body", "texture": "abstract chevron"}
        assert store.resolve_image(blouse) == root / "img/Sheer_Pleated-Front_Blouse/img_00000001.jpg"
        dress = items["deepfashion:img/Floral_Maxi_Dress/img_00000001.jpg"]
        assert dress.attributes == {"garment": "full-body", "shape": "a-line", "texture": "floral"}
        shorts = items["deepfashion:img/Cutoff_Denim_Shorts/img_00000001.jpg"]
        assert (shorts.category, shorts.split, shorts.attributes["fabric"]) == ("Shorts", "test", "denim")
        assert store.category_counts() == {"Blouse": 2, "Dress": 1, "Shorts": 1}
        assert sorted(i.split or "" for i in items.values()) == ["test", "train", "train", "val"]


def test_split_filter_and_limit(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    train = list(iter_deepfashion(tmp_path, splits={"train"}))
    assert [i.category for i in train] == ["Blouse", "Dress"]
    assert len(list(iter_deepfashion(tmp_path, limit=3))) == 3


def test_optional_files_may_be_absent(tmp_path: Path) -> None:
    write_fixture(tmp_path, partition=False, attributes=False)
    items = list(iter_deepfashion(tmp_path))
    assert len(items) == 4
    assert all(i.split is None and set(i.attributes) == {"garment"} for i in items)
    with pytest.raises(CatalogError, match="list_eval_partition"):
        list(iter_deepfashion(tmp_path, splits={"train"}))


def test_missing_images_are_skipped(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    (tmp_path / "img/Cutoff_Denim_Shorts/img_00000001.jpg").unlink()
    assert {i.category for i in iter_deepfashion(tmp_path)} == {"Blouse", "Dress"}


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("Anno/list_category_img.txt", "1\nimage_name  category_label\nimg/a.jpg 9\n", "not in 1..4"),
        ("Anno/list_category_img.txt", "5\nimage_name  category_label\nimg/a.jpg 1\n", "declares 5"),
        ("Anno/list_bbox.txt", "1\nimage_name  x_1  y_1  x_2  y_2\nimg/a.jpg 1 2 3\n", "columns"),
        ("Anno/list_category_cloth.txt", "four\ncategory_name  category_type\n", "row count"),
        ("Eval/list_eval_partition.txt", "1\nimage_name  evaluation_status\nimg/a.jpg dev\n", "dev"),
        ("Anno/list_attr_img.txt", "1\nimage_name  attribute_labels\nimg/a.jpg 1 -1\n", "exactly 4"),
        ("Anno/list_attr_img.txt", "1\nimage_name  attribute_labels\nimg/a.jpg 1 -1 x 1\n", r":3: attribute values"),
    ],
)
def test_malformed_files_raise_with_location(tmp_path: Path, file: str, text: str, message: str) -> None:
    write_fixture(tmp_path)
    (tmp_path / file).write_text(text)
    with pytest.raises(CatalogError, match=message):
        list(iter_deepfashion(tmp_path))
