"""The whole engine on a small real catalog: build_index.py → Engine → search, sync and async.

Every test on the `built` catalog runs twice: indexes in hnswlib files and in Milvus (Lite).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.errors import EngineError, IndexMismatchError, InvalidImageError, UnknownNameError
from engine.index import METRICS
from engine.index.backends import BACKENDS
from engine.search import Engine, Query
from engine.serving import BatchingSearcher
from engine.settings import Settings
from scripts import build_index, search
from tests.factories import jpeg_bytes, make_catalog, truncated_jpeg


@pytest.fixture(scope="module", params=BACKENDS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"engine-data-{request.param}")
    make_catalog(data_dir, n=40).close()
    argv = ["--data-dir", str(data_dir), "--embedders", "random-init", "--allow-random-weights",
            "--workers", "0", "--quiet", "--index-backend", request.param]
    assert build_index.main(argv) == 0
    return Settings(_env_file=None, data_dir=data_dir, embedders=["random-init"], allow_random_weights=True,  # type: ignore[call-arg]
                    device="cpu", index_backend=request.param)


@pytest.fixture(autouse=True)
def _backend_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripts read their Settings from the environment: point them at the test's backend."""
    if "built" in request.fixturenames:
        monkeypatch.setenv("DOPE_INDEX_BACKEND", request.getfixturevalue("built").index_backend)


@pytest.fixture(scope="module")
def engine(built: Settings) -> Iterator[Engine]:
    engine = Engine.from_settings(built)
    yield engine
    engine.close()


def test_all_variants_are_built_with_a_report(built: Settings, engine: Engine) -> None:
    assert engine.variants() == sorted(f"random-init/{m}" for m in METRICS)
    report = json.loads((built.indexes_dir / "build_report.json").read_text())
    assert report["embedders"]["random-init"]["items"] == 40 and report["index_backend"] == built.index_backend
    assert report["peak_rss_mib"] > 0


@pytest.mark.parametrize("metric", METRICS)
def test_a_catalog_image_finds_itself_first(built: Settings, engine: Engine, metric: str) -> None:
    for item_id in (1, 17, 40):
        item = engine.catalog.get(item_id)
        assert item is not None
        matches = engine.search(engine.catalog.resolve_image(item), k=5, variant=f"random-init/{metric}")
        assert matches[0].item.id == item_id and matches[0].distance == pytest.approx(0, abs=1e-3)
        assert [m.rank for m in matches] == [1, 2, 3, 4, 5]
        assert all(a.distance <= b.distance for a, b in zip(matches, matches[1:]))


def test_search_script_prints_the_item_first(built: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    photo = built.data_dir / "images" / "0007.jpg"
    argv = [str(photo), "--data-dir", str(built.data_dir), "--embedders", "random-init", "--k", "3"]
    import os
    os.environ["DOPE_ALLOW_RANDOM_WEIGHTS"] = "true"
    try:
        assert search.main(argv) == 0
    finally:
        del os.environ["DOPE_ALLOW_RANDOM_WEIGHTS"]
    blocks = capsys.readouterr().out.split("== ")[1:]
    assert len(blocks) == 4
    for block in blocks:
        first = block.splitlines()[1].split()
        assert first[0] == "1" and first[2] == "#8"  # file 0007 is item id 8


def test_neighbours_of_item_exclude_itself(engine: Engine) -> None:
    for variant in engine.variants():
        matches = engine.neighbours_of_item(5, 3, variant)
        assert len(matches) == 3 and 5 not in [m.item.id for m in matches]


def test_bad_query_fails_alone_in_a_batch(engine: Engine) -> None:
    results = engine.search_many([
        Query(jpeg_bytes("disc", "red"), 3, "random-init/l2"),
        Query(truncated_jpeg(), 3, "random-init/l2"),
        Query(jpeg_bytes("bar", "blue"), 3, "nope/l2"),
    ])
    assert isinstance(results[0], list) and len(results[0]) == 3
    assert isinstance(results[1], InvalidImageError)
    assert isinstance(results[2], UnknownNameError)


def test_batched_and_single_queries_agree(engine: Engine) -> None:
    photos = [jpeg_bytes(s, c, 90, i) for i, (s, c) in enumerate([("disc", "red"), ("bar", "teal"), ("triangle", "black")])]
    batch = engine.search_many([Query(p, 4, "random-init/cosine") for p in photos])
    for photo, result in zip(photos, batch):
        single = engine.search(photo, 4, "random-init/cosine")
        assert [m.item.id for m in single] == [m.item.id for m in result]  # type: ignore[union-attr]


async def test_batching_searcher_serves_concurrent_queries(engine: Engine) -> None:
    searcher = BatchingSearcher(engine, window_ms=20, max_batch=16)
    await searcher.initialize()
    try:
        photos = [jpeg_bytes("square", "green", 90, i) for i in range(12)] + [b"not an image"]
        results = await asyncio.gather(
            *(searcher.search(p, 3, "random-init/hamming") for p in photos), return_exceptions=True
        )
    finally:
        await searcher.shutdown()
    assert all(isinstance(r, list) and len(r) == 3 for r in results[:-1])
    assert isinstance(results[-1], InvalidImageError)
    assert max(searcher.batch_sizes) > 1  # concurrent queries really shared a forward pass


def test_rebuild_is_incremental_and_tracks_removals(built: Settings, tmp_path: Path) -> None:
    from engine.catalog import CatalogStore, Item

    with CatalogStore(built.catalog_path) as catalog:
        catalog.remove_items([40])
        (built.data_dir / "images" / "extra.jpg").write_bytes(jpeg_bytes("disc", "purple", 96, 99))
        new_id = catalog.add_items([Item(image_path="images/extra.jpg", title="extra", category="disc")])[0]
    argv = ["--data-dir", str(built.data_dir), "--embedders", "random-init", "--allow-random-weights",
            "--workers", "0", "--quiet"]
    assert build_index.main(argv) == 0
    report = json.loads((built.indexes_dir / "build_report.json").read_text())
    assert report["embedders"]["random-init"]["embedded_now"] == 1  # only the new item
    fresh = Engine.from_settings(built)
    for variant in fresh.variants():
        ids = fresh.indexes[variant].ids().tolist()
        assert new_id in ids and 40 not in ids
        top = fresh.search(built.data_dir / "images" / "extra.jpg", 1, variant)
        assert top[0].item.id == new_id


def test_index_of_another_catalog_is_refused(built: Settings, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_catalog(other, n=8).close()
    for path in built.indexes_dir.glob("*.idx"):
        (other / "indexes").mkdir(exist_ok=True)
        (other / "indexes" / path.name).write_bytes(path.read_bytes())
    # Milvus: the other catalog's engine is pointed at this catalog's collections
    settings = built.model_copy(update={"data_dir": other, "milvus_uri": built.resolved_milvus_uri})
    with pytest.raises(IndexMismatchError, match="catalog_id"):
        Engine.from_settings(settings)


def test_engine_without_indexes_says_how_to_build(tmp_path: Path) -> None:
    make_catalog(tmp_path, n=4).close()
    settings = Settings(_env_file=None, data_dir=tmp_path, embedders=["random-init"], allow_random_weights=True)  # type: ignore[call-arg]
    with pytest.raises(EngineError, match="build_index.py"):
        Engine.from_settings(settings)


def test_feature_vectors_are_exactly_reproducible(engine: Engine) -> None:
    photo = jpeg_bytes("disc", "orange")
    a = engine.embed([engine.decode(photo)], "random-init")
    b = engine.embed([engine.decode(photo)], "random-init")
    np.testing.assert_array_equal(a, b)


async def test_cpu_searcher_runs_queries_one_at_a_time(engine: Engine) -> None:
    """Auto batch size on CPU is 1: no query waits for others' forward passes."""
    searcher = BatchingSearcher(engine, window_ms=20)
    await searcher.initialize()
    try:
        photos = [jpeg_bytes("disc", "red", 90, i) for i in range(4)]
        results = await asyncio.gather(*(searcher.search(p, 2, "random-init/l2") for p in photos))
    finally:
        await searcher.shutdown()
    assert searcher.max_batch == 1 and searcher.batch_sizes == [1, 1, 1, 1]
    assert all(len(r) == 2 and r.vector is not None for r in results)


def test_search_script_finds_a_cropped_catalog_item_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo items have bounding boxes: the index holds crops, and search.py crops the query alike."""
    from scripts import make_demo_catalog

    assert make_demo_catalog.main(["--n", "24", "--data-dir", str(tmp_path)]) == 0
    assert build_index.main(["--data-dir", str(tmp_path), "--embedders", "random-init",
                             "--allow-random-weights", "--workers", "0", "--quiet"]) == 0
    monkeypatch.setenv("DOPE_ALLOW_RANDOM_WEIGHTS", "true")
    from engine.catalog import CatalogStore

    with CatalogStore(tmp_path / "catalog.sqlite") as catalog:
        items = [i for i in catalog.iter_items() if i.bbox is not None][:3]
        paths = {int(i.id or 0): catalog.resolve_image(i) for i in items}
    assert len(paths) == 3
    for item_id, path in paths.items():
        assert search.main([str(path), "--data-dir", str(tmp_path), "--embedders", "random-init", "--k", "1"]) == 0
        blocks = capsys.readouterr().out.split("== ")[1:]
        assert len(blocks) == len(METRICS)
        for block in blocks:
            rank, distance, item = block.splitlines()[1].split()[:3]
            assert (rank, item) == ("1", f"#{item_id}") and float(distance) == pytest.approx(0, abs=1e-3)
