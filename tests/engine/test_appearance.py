"""Colour descriptors: the product's colour, not its shape or background; a table kept per catalog."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as photos

from engine.appearance import APPEARANCE_DIM, APPEARANCE_FILE, AppearanceTable, colour_descriptor
from engine.catalog import CatalogStore
from tests.factories import COLOURS, draw_product, make_catalog


def distance(a: Image.Image, b: Image.Image) -> float:
    return float(((colour_descriptor(a) - colour_descriptor(b)) ** 2).sum())


def on_photo(product: Image.Image, photo: np.ndarray, side: int = 160) -> Image.Image:
    """`product` (its light background cut away) in the middle of a real photograph, loosely cropped."""
    scene = Image.fromarray(photo).convert("RGB").resize((side, side))
    mask = Image.fromarray((np.asarray(product).min(axis=2) < 200).astype(np.uint8) * 255)
    offset = (side - product.width) // 2
    scene.paste(product, (offset, offset), mask)
    return scene


def test_a_descriptor_is_a_unit_vector_of_fixed_size() -> None:
    vector = colour_descriptor(draw_product("disc", COLOURS["red"]))
    assert vector.shape == (APPEARANCE_DIM,) and vector.dtype == np.float32
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5) and (vector >= 0).all()
    flat = colour_descriptor(Image.new("RGB", (50, 50), (128, 128, 128)))
    assert np.linalg.norm(flat) == pytest.approx(1.0, abs=1e-5)


def test_colour_counts_and_shape_does_not() -> None:
    red_disc, red_bar = draw_product("disc", COLOURS["red"]), draw_product("bar", COLOURS["red"], seed=3)
    for other in ("blue", "green", "orange", "black"):
        assert distance(red_disc, red_bar) < distance(red_disc, draw_product("disc", COLOURS[other]))


@pytest.mark.parametrize("photo", [photos.coffee(), photos.astronaut(), photos.chelsea()])
def test_the_background_of_a_real_photo_is_left_out(photo: np.ndarray) -> None:
    """A red product on a real photograph is nearer a red catalog shot than any other colour's."""
    scene = on_photo(draw_product("square", COLOURS["red"], size=140), photo)
    red = distance(scene, draw_product("square", COLOURS["red"]))
    assert all(red < distance(scene, draw_product("square", COLOURS[c])) for c in COLOURS if c != "red")


def test_a_table_fills_once_and_is_read_back_without_the_images(tmp_path: Path) -> None:
    with make_catalog(tmp_path, n=8) as catalog:
        ids = catalog.ids()
        path = tmp_path / "embeddings" / APPEARANCE_FILE
        table = AppearanceTable(catalog, path)
        assert table.fill(ids) == 8 and path.exists() and table.fill(ids) == 0
        described = table.get(ids)
        for image in (tmp_path / "images").iterdir():
            image.unlink()  # a second table must not need them
        again = AppearanceTable(catalog, path).get(ids[::-1])
    assert np.array_equal(again, described[::-1])
    nearest = np.argmin([((described[0] - colour_descriptor(draw_product("square", rgb))) ** 2).sum()
                         for rgb in COLOURS.values()])
    assert list(COLOURS)[nearest] == "red"  # item 0 is a red square


def test_another_catalogs_table_is_ignored_and_unreadable_images_get_zeros(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with make_catalog(tmp_path / "a", n=4) as first:
        AppearanceTable(first, tmp_path / APPEARANCE_FILE).fill(first.ids())
    with make_catalog(tmp_path / "b", n=4) as second:
        (tmp_path / "b" / "images" / "0001.jpg").write_bytes(b"not a jpeg")
        with caplog.at_level(logging.WARNING):
            rows = AppearanceTable(second, tmp_path / APPEARANCE_FILE).get(second.ids())
    assert "another catalog" in caplog.text and "no colour descriptor for item" in caplog.text
    assert not rows[1].any() and all(np.linalg.norm(rows[i]) == pytest.approx(1, abs=1e-5) for i in (0, 2, 3))


def test_the_engine_describes_what_it_searched(tmp_path: Path) -> None:
    from engine.embedders import load_embedder
    from engine.index import VariantIndex
    from engine.search import Engine

    with make_catalog(tmp_path, n=8) as catalog:
        embedder = load_embedder("random-init", "cpu", allow_random=True)
        images = [Image.open(catalog.resolve_image(item)) for item in catalog.iter_items()]
        index = VariantIndex.build(embedder.embed_images(images), np.asarray(catalog.ids()), "l2")
        engine = Engine(catalog, {"random-init": embedder}, {"random-init/l2": index})
        photo = draw_product("disc", COLOURS["teal"], size=96)
        found = engine.search(photo, k=3, variant="random-init/l2")
        assert found.appearance is not None and np.allclose(found.appearance, colour_descriptor(photo))
        assert found.replaced(found[:1]).appearance is found.appearance
        assert np.allclose(engine.appearance_of([catalog.ids()[2]])[0],
                           colour_descriptor(Image.open(catalog.resolve_image(catalog.get(catalog.ids()[2])))))
        engine.close()


def test_catalog_store_is_reopened_cleanly(tmp_path: Path) -> None:
    make_catalog(tmp_path, n=2).close()
    with CatalogStore(tmp_path / "catalog.sqlite", create=False) as catalog:
        assert AppearanceTable(catalog).get([]).shape == (0, APPEARANCE_DIM)


def test_a_table_of_another_descriptor_version_is_described_again(tmp_path: Path) -> None:
    with make_catalog(tmp_path, n=3) as catalog:
        path = tmp_path / APPEARANCE_FILE
        table = AppearanceTable(catalog, path)
        table.fill(catalog.ids())
        with np.load(path) as stored:
            fields = {name: stored[name] for name in stored.files}
        fields["vectors"] = np.zeros_like(fields["vectors"])
        fields["version"] = np.asarray(int(fields["version"]) - 1)  # written by older maths
        np.savez(path, **fields)
        assert AppearanceTable(catalog, path).fill(catalog.ids()) == 3
        assert np.linalg.norm(AppearanceTable(catalog, path).get(catalog.ids()), axis=1) == pytest.approx(1, abs=1e-5)
