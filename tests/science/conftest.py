"""Small real catalogs for the science scripts: the synthetic demo catalog, a labelled toy one."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore
from engine.catalog.synthetic import iter_synthetic_catalog
from tests.factories import make_catalog


@pytest.fixture()
def toy_catalog(tmp_path: Path) -> Path:
    """48 items, 4 shape categories, all in the train split; returns the data folder."""
    make_catalog(tmp_path, n=48, size=64).close()
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        db.execute("UPDATE items SET split = 'train'")
    return tmp_path


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic demo catalog (colour and pattern ground truth), small images, made once."""
    data_dir = tmp_path_factory.mktemp("demo")
    with CatalogStore(data_dir / "catalog.sqlite") as store:
        write_items(store, iter_synthetic_catalog(data_dir / "images" / "demo", seed=0, n=240, size=96),
                    progress=False)
    return data_dir
