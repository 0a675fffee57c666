"""The trained photo model end to end: checkpoints, refusal of mismatches, the localiser inside
Engine.search, explicit boxes, and the photo benchmark, on a small demo catalog."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.embedders.checkpoints import load_checkpoint, save_checkpoint
from engine.errors import CheckpointMismatchError
from scripts.lib.photo_queries import synthetic_queries
from engine.search import Engine
from engine.settings import Settings
from scripts import evaluate_photos
from tests.photos.conftest import PHOTO_CATALOG


@pytest.fixture(scope="module")
def engine(photo_settings: Settings) -> Engine:
    return Engine.from_settings(photo_settings)


def test_checkpoints_load_as_a_unit_length_embedder(photo_settings: Settings) -> None:
    assert (photo_settings.localisers_dir / "photo.pt").is_file()
    embedder = load_embedder("ft:photo", "cpu", models_dir=photo_settings.models_dir)
    assert embedder.dim == 256 and not embedder.is_random
    from PIL import Image

    vectors = embedder.embed_images([Image.new("RGB", (120, 90), (200, 30, 30))])
    assert vectors.shape == (1, 256)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(1.0, abs=1e-4)


def test_a_checkpoint_trained_on_other_trunk_weights_is_refused(photo_settings: Settings) -> None:
    payload = load_checkpoint(photo_settings.models_dir / "photo.pt")
    payload["config"]["base_random"] = True  # as if trained on the random trunk
    save_checkpoint(photo_settings.models_dir / "forged.pt", kind=payload["kind"], config=payload["config"],
                    state_dict=payload["state_dict"])
    try:
        with pytest.raises(CheckpointMismatchError, match="train_photo"):
            load_embedder("ft:forged", "cpu", models_dir=photo_settings.models_dir)
    finally:
        (photo_settings.models_dir / "forged.pt").unlink()


def test_engine_localises_then_searches(engine: Engine, photo_settings: Settings) -> None:
    assert engine.localiser is not None
    with CatalogStore(photo_settings.catalog_path, create=False) as catalog:
        query = next(synthetic_queries(catalog, 1, seed=5))
    matches = engine.search(query.image, 5, "ft:photo/cosine")
    assert len(matches) == 5 and matches.regions and matches.box == matches.regions[0].box
    from PIL import Image
    import io

    assert matches.photo_size == Image.open(io.BytesIO(query.image)).size  # type: ignore[arg-type]
    # An explicit box is searched as given: no localisation, and the crop changes the answer's vector.
    box = (0.0, 0.0, 50.0, 50.0)
    corner = engine.search(query.image, 5, "ft:photo/cosine", box=box)
    assert corner.box == box and corner.regions == []
    assert not np.allclose(corner.vector, matches.vector)


def test_a_box_is_searched_as_the_mean_of_its_crop_views(engine: Engine, photo_settings: Settings) -> None:
    from engine.images import load_image
    from engine.search import CROP_INSETS, view_box

    with CatalogStore(photo_settings.catalog_path, create=False) as catalog:
        query = next(synthetic_queries(catalog, 1, seed=6))
    photo = load_image(query.image)
    box = (30.0, 40.0, 230.0, 260.0)
    matches = engine.search(query.image, 5, "ft:photo/cosine", box=box)
    crops = [photo.crop(view_box(box, inset)) for inset in CROP_INSETS]
    assert len(crops) >= 2 and crops[1].size[0] < crops[0].size[0]  # the inner view is smaller
    views = engine.embed(crops, "ft:photo")
    assert matches.vector == pytest.approx(views.mean(axis=0), abs=1e-5)
    assert not np.allclose(matches.vector, views[0], atol=1e-4)  # not the outer crop alone
    assert view_box((10.0, 10.0, 11.0, 11.0), 0.04) == (10, 10, 12, 12)  # never under 2×2 px


def test_localiser_can_be_turned_off(photo_settings: Settings) -> None:
    off = Engine.from_settings(photo_settings.model_copy(update={"localiser": "none"}))
    try:
        assert off.localiser is None
        with CatalogStore(photo_settings.catalog_path, create=False) as catalog:
            query = next(synthetic_queries(catalog, 1, seed=5))
        matches = off.search(query.image, 3, "ft:photo/cosine")
        assert matches.box is None and matches.regions == [] and matches.confident
    finally:
        off.close()


def test_a_localiser_of_another_catalog_needs_naming(photo_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    payload = torch.load(photo_settings.localisers_dir / "photo.pt", weights_only=True)
    payload["config"]["catalog_id"] = "another-catalog"
    other = photo_settings.localisers_dir / "other.pt"
    torch.save(payload, other)
    renamed = photo_settings.localisers_dir / "photo.pt.bak"
    (photo_settings.localisers_dir / "photo.pt").rename(renamed)
    try:
        with caplog.at_level(logging.WARNING):
            automatic = Engine.from_settings(photo_settings)  # 'auto' skips it
            named = Engine.from_settings(photo_settings.model_copy(update={"localiser": "other"}))
        assert automatic.localiser is None and named.localiser is not None
        assert "trained on another catalog" in caplog.text
        automatic.close()
        named.close()
    finally:
        other.unlink()
        renamed.rename(photo_settings.localisers_dir / "photo.pt")


def test_photo_benchmark_beats_chance_and_reports_every_figure(photo_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "photo.json"
    argv = ["--data-dir", str(photo_settings.data_dir), "--embedders", "ft:photo", "--metrics", "cosine",
            "--photos", "24", "--own", "24", "--clean", "24", "--out", str(out)]
    assert evaluate_photos.main(argv) == 0
    rows = {row["source"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"photo", "own-image", "clean"}
    assert out.with_suffix(".md").read_text().count("ft:photo/cosine") == 3
    photo, own = rows["photo"], rows["own-image"]
    assert photo["n"] == own["n"] == PHOTO_CATALOG
    for key in ("exact_at_1", "exact_at_k", "category_at_1", "category_precision_at_k", "iou50"):
        assert 0.0 <= photo[key] <= 1.0
    assert set(photo["attribute_at_1"]) == {"colour", "pattern"}
    # Trained briefly on 24 items, it must still beat chance clearly (top-5 of 24 = 21%).
    assert photo["exact_at_k"] >= 0.5
    assert own["exact_at_1"] >= 0.75
    assert photo["latency_p50_ms"] > 0
