"""Ray Data ingestion on a local Ray (2 CPUs): the same cache and indexes as the local path, resumable.

One module-scoped Ray session (it is slow to start) serves every test here.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.ingest import embed_catalog
from engine.ingest.distributed import EmbedderSpec, embed_catalog_ray
from engine.ingest.runner import cache_folder
from scripts import build_index
from tests.factories import make_catalog

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_path_writes_the_local_paths_embeddings_and_resumes(local_ray: None, tmp_path: Path) -> None:
    make_catalog(tmp_path, n=24).close()
    with CatalogStore(tmp_path / "catalog.sqlite") as catalog:
        (tmp_path / "images" / "0003.jpg").write_bytes(b"not a jpeg")  # one unreadable item
        embedder = load_embedder("random-init", "cpu", allow_random=True)
        local = embed_catalog(catalog, embedder, tmp_path / "local", num_workers=0, progress=False)
        spec = EmbedderSpec("random-init", allow_random=True)
        items = list(catalog.iter_items())
        # a first run that stopped after half the catalog (as if killed): its shards stay
        first = embed_catalog_ray(catalog, embedder, spec, tmp_path / "ray", batch_size=4, shard_size=4,
                                  items=items[:12])
        shards = sorted((cache_folder(tmp_path / "ray", "random-init")).glob("part-*.npz"))
        assert first.embedded_now == 11 and len(shards) >= 3 and [i for i, _ in first.failed] == [4]
        resumed = embed_catalog_ray(catalog, embedder, spec, tmp_path / "ray", batch_size=4, shard_size=4)
    assert resumed.embedded_now == 12  # only what the first run had not done (+ the bad item again)
    np.testing.assert_array_equal(resumed.ids, local.ids)
    assert float(np.abs(resumed.features - local.features).max()) <= 1e-5
    assert [i for i, _ in resumed.failed] == [4]


def test_build_index_with_ray_builds_the_same_indexes(local_ray: None, tmp_path: Path) -> None:
    from engine.search import Engine
    from engine.settings import Settings

    make_catalog(tmp_path, n=16).close()
    argv = ["--data-dir", str(tmp_path), "--embedders", "random-init", "--allow-random-weights",
            "--workers", "0", "--quiet", "--metrics", "l2,hamming"]
    assert build_index.main([*argv, "--ray", "--shard-size", "5"]) == 0
    settings = Settings(_env_file=None, data_dir=tmp_path, embedders=["random-init"],  # type: ignore[call-arg]
                        metrics=["l2", "hamming"], allow_random_weights=True, device="cpu")
    engine = Engine.from_settings(settings)
    try:
        for variant in engine.variants():
            assert len(engine.indexes[variant]) == 16
            item = engine.catalog.get(9)
            assert item is not None
            assert engine.search(engine.catalog.resolve_image(item), 1, variant)[0].item.id == 9
    finally:
        engine.close()
