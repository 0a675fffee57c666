"""Folder and CSV importers on real JPEGs in tmp_path."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from engine.catalog.csv_import import iter_csv
from engine.catalog.folder import iter_folder
from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore
from engine.errors import CatalogError


def jpeg(path: Path, colour: tuple[int, int, int] = (200, 30, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), colour).save(path, quality=90)
    return path


def test_folder_categories_titles_and_relative_paths(tmp_path: Path) -> None:
    data = tmp_path / "data"
    photos = data / "images" / "shop"  # under the catalog folder → stored relative
    jpeg(photos / "shirts" / "red_gingham_shirt.jpg")
    jpeg(photos / "shirts" / "summer" / "blue_shirt.png")
    jpeg(photos / "bags" / "tote.jpeg")
    jpeg(photos / "stray.jpg")  # no category folder: skipped
    (photos / "bags" / "notes.txt").write_text("not an image")
    jpeg(photos / "bags" / ".hidden" / "x.jpg")
    with CatalogStore(data / "catalog.sqlite") as store:
        assert write_items(store, iter_folder(photos), progress=False) == 3
        items = list(store.iter_items())
        assert [(i.category, i.title) for i in items] == [
            ("bags", "tote"), ("shirts", "red gingham shirt"), ("shirts", "blue shirt"),
        ]  # fmt: skip
        assert items[0].image_path == "images/shop/bags/tote.jpeg"
        assert store.resolve_image(items[0]).is_file()
        with pytest.raises(CatalogError, match="already in the catalog"):
            write_items(store, iter_folder(photos), progress=False)


def test_folder_outside_catalog_keeps_absolute_paths_and_limit(tmp_path: Path) -> None:
    for n in range(5):
        jpeg(tmp_path / "photos" / "mugs" / f"mug{n}.jpg")
    with CatalogStore(tmp_path / "data" / "catalog.sqlite") as store:
        write_items(store, iter_folder(tmp_path / "photos", limit=2), progress=False)
        paths = [Path(i.image_path) for i in store.iter_items()]
    assert len(paths) == 2 and all(p.is_absolute() and p.is_file() for p in paths)


def test_folder_without_images_raises(tmp_path: Path) -> None:
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(CatalogError, match="No images"):
        list(iter_folder(tmp_path / "empty"))
    with pytest.raises(CatalogError, match="not a folder"):
        list(iter_folder(tmp_path / "absent"))


HEADER = "path,title,category,x1,y1,x2,y2,url,price,sku,split,colour\n"


def write_csv(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    jpeg(tmp_path / "img" / "a.jpg")
    jpeg(tmp_path / "img" / "b.jpg")
    path = tmp_path / "products.csv"
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_csv_fields(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        'img/a.jpg,"Red shirt, slim",shirt,1,2,30.5,40,https://x.example/a,19.99,A1,train,red\n'
        "img/b.jpg,,bag,,,,,,,,,\n",
    )
    a, b = list(iter_csv(path))
    assert (a.title, a.category, a.bbox, a.url, a.price, a.sku, a.split) == (
        "Red shirt, slim", "shirt", (1.0, 2.0, 30.5, 40.0), "https://x.example/a", 19.99, "A1", "train",
    )  # fmt: skip
    assert a.attributes == {"colour": "red"}
    assert Path(a.image_path) == (tmp_path / "img" / "a.jpg").resolve()
    assert (b.title, b.bbox, b.url, b.price, b.sku, b.split, b.attributes) == ("b", None, None, None, None, None, {})


def test_csv_minimal_header_any_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "shirt,img/a.jpg,Red\n", header="category,path,title\n")
    (item,) = iter_csv(path)
    assert (item.category, item.title) == ("shirt", "Red")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("img/missing.jpg,t,shirt,,,,,,,,,", "image not found"),
        (",t,shirt,,,,,,,,,", "empty path"),
        ("img/a.jpg,t,,,,,,,,,,", "empty category"),
        ("img/a.jpg,t,shirt,1,2,,,,,,,", "all of x1"),
        ("img/a.jpg,t,shirt,5,2,3,4,,,,,", "x1 < x2"),
        ("img/a.jpg,t,shirt,a,2,3,4,,,,,", "numbers"),
        ("img/a.jpg,t,shirt,,,,,,-1,,,", "price"),
        ("img/a.jpg,t,shirt,,,,,,,,dev,", "split"),
        ("img/a.jpg,t,shirt,,,,,,,,,,extra", "more cells"),
    ],
)
def test_csv_bad_row_names_line(tmp_path: Path, row: str, message: str) -> None:
    path = write_csv(tmp_path, f"img/a.jpg,ok,shirt,,,,,,,,,\n{row}\n")
    with pytest.raises(CatalogError, match=rf"products\.csv:3: .*{message}"):
        list(iter_csv(path))


def test_csv_skip_bad_keeps_good_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_csv(tmp_path, "img/a.jpg,ok,shirt,,,,,,,,,\nimg/x.jpg,t,shirt,,,,,,,,,\nimg/b.jpg,ok,bag,,,,,,,,,\n")
    with caplog.at_level(logging.WARNING):
        items = list(iter_csv(path, skip_bad=True))
    assert [i.category for i in items] == ["shirt", "bag"]
    assert "products.csv:3" in caplog.text


@pytest.mark.parametrize(
    ("header", "message"),
    [("", "empty"), ("path,title\n", "category"), ("path,title,category,x1,y1\n", "all four")],
)
def test_csv_bad_header(tmp_path: Path, header: str, message: str) -> None:
    path = write_csv(tmp_path, "", header=header)
    with pytest.raises(CatalogError, match=message):
        list(iter_csv(path))


def test_bad_csv_writes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "img/a.jpg,ok,shirt,,,,,,,,,\nimg/x.jpg,t,shirt,,,,,,,,,\n")
    with CatalogStore(tmp_path / "catalog.sqlite") as store:
        with pytest.raises(CatalogError):
            write_items(store, iter_csv(path), batch_size=1, progress=False)
        assert len(store) == 0
