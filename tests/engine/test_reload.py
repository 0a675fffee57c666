"""Hot reloads: new/changed checkpoints and indexes are swapped in while the engine serves;
broken or mismatched ones are refused with one log line and the old model keeps serving."""
from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

from engine.embedders.registry import file_sha256
from engine.reload import ModelReloader
from engine.search import Engine, Query
from engine.settings import Settings
from scripts import build_index
from tests.factories import jpeg_bytes, make_catalog, make_projection_model

BASE = "random-init"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    make_catalog(tmp_path, n=24).close()
    argv = ["--data-dir", str(tmp_path), "--embedders", BASE, "--metrics", "l2", "--allow-random-weights",
            "--workers", "0", "--quiet"]
    assert build_index.main(argv) == 0
    return Settings(_env_file=None, data_dir=tmp_path, embedders=[BASE], metrics=["l2"],  # type: ignore[call-arg]
                    allow_random_weights=True, device="cpu")


@pytest.fixture
def engine(settings: Settings) -> Engine:
    engine = Engine.from_settings(settings)
    yield engine
    engine.close()


def _top_ids(engine: Engine, variant: str, photo: bytes) -> tuple[list[int], str | None]:
    matches = engine.search(photo, k=5, variant=variant)
    return [int(m.item.id or 0) for m in matches], matches.model_version


def test_a_new_checkpoint_is_served_after_reload(settings: Settings, engine: Engine) -> None:
    reloader = ModelReloader(engine, settings)
    assert reloader.changed([BASE, "ft:a"]) == ["ft:a"]  # the served base is adopted as it is
    path = make_projection_model(settings, "a", seed=1)
    report = reloader.reload([BASE, "ft:a"])
    assert report.loaded == ["ft:a"] and report.generation == 1 and not report.refused
    assert engine.variants() == ["ft:a/l2", f"{BASE}/l2"]
    ids, version = _top_ids(engine, "ft:a/l2", jpeg_bytes())
    assert len(ids) == 5 and version == file_sha256(path)
    again = reloader.reload([BASE, "ft:a"])
    assert again.generation == 1 and again.kept == [BASE, "ft:a"] and not again.swapped
    assert reloader.changed([BASE, "ft:a"]) == []


def test_a_checkpoint_newer_than_its_index_is_refused_then_taken(
        settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    reloader = ModelReloader(engine, settings)
    old_path = make_projection_model(settings, "a", seed=1)
    reloader.reload([BASE, "ft:a"])
    old_version = file_sha256(old_path)
    stale_index = settings.indexes_dir / "ft--a__l2.idx"
    kept_index = stale_index.read_bytes()
    make_projection_model(settings, "a", seed=2)  # new weights and index...
    stale_index.write_bytes(kept_index)  # ...but the index on disk is still the old one
    with caplog.at_level(logging.WARNING, logger="engine.reload"):
        report = reloader.reload([BASE, "ft:a"])
    assert "ft:a" in report.refused and "checkpoint_sha256" in report.refused["ft:a"]
    refusals = [r for r in caplog.records if r.name == "engine.reload"]
    assert len(refusals) == 1 and "\n" not in refusals[0].getMessage()
    assert "keeps serving" in refusals[0].getMessage()
    assert _top_ids(engine, "ft:a/l2", jpeg_bytes())[1] == old_version  # old model still serves
    assert reloader.changed([BASE, "ft:a"]) == []  # the same refused files are not retried
    make_projection_model(settings, "a", seed=2)  # the index catches up
    assert reloader.reload([BASE, "ft:a"]).loaded == ["ft:a"]
    assert _top_ids(engine, "ft:a/l2", jpeg_bytes())[1] == file_sha256(old_path)  # the new file now
    assert file_sha256(old_path) != old_version


def test_a_corrupt_checkpoint_is_refused_and_nothing_else_changes(settings: Settings, engine: Engine) -> None:
    reloader = ModelReloader(engine, settings)
    path = make_projection_model(settings, "a", seed=1)
    reloader.reload([BASE, "ft:a"])
    before = _top_ids(engine, "ft:a/l2", jpeg_bytes())
    path.write_bytes(path.read_bytes()[:200])
    report = reloader.reload([BASE, "ft:a"])
    assert list(report.refused) == ["ft:a"] and "Cannot read checkpoint" in report.refused["ft:a"]
    assert report.generation == 1 and _top_ids(engine, "ft:a/l2", jpeg_bytes()) == before
    never = reloader.reload([BASE, "ft:a", "ft:missing"])
    assert "ft:missing" in never.refused and "ft:missing/l2" not in engine.variants()


def test_dropping_a_model_removes_its_variants(settings: Settings, engine: Engine) -> None:
    reloader = ModelReloader(engine, settings)
    make_projection_model(settings, "a", seed=1)
    reloader.reload([BASE, "ft:a"])
    report = reloader.reload([BASE])
    assert report.removed == ["ft:a"] and engine.variants() == [f"{BASE}/l2"]
    assert reloader.reload([]).removed == [] and engine.variants() == [f"{BASE}/l2"]  # never empty


def test_settled_waits_for_files_to_stop_changing(settings: Settings, engine: Engine) -> None:
    reloader = ModelReloader(engine, settings)
    reloader.reload([BASE])
    assert not reloader.settled([BASE])  # nothing changed
    make_projection_model(settings, "a", seed=1)
    assert not reloader.settled([BASE, "ft:a"])  # changed since the last look: wait one more poll
    assert reloader.settled([BASE, "ft:a"])


def test_swaps_under_concurrent_searches_never_mix_models(settings: Settings, engine: Engine,
                                                           tmp_path: Path) -> None:
    """Threads search while the same name flips between two weights 10 times: every result is
    exactly what the weights it is stamped with return."""
    reloader = ModelReloader(engine, settings)
    versions = {}
    for seed in (1, 2):
        path = make_projection_model(settings, "a", seed=seed)
        shutil.copy(path, tmp_path / f"a{seed}.pt")
        shutil.copy(settings.indexes_dir / "ft--a__l2.idx", tmp_path / f"a{seed}.idx")
        versions[file_sha256(path)] = seed
    photos = [jpeg_bytes(shape, colour) for shape in ("disc", "bar") for colour in ("red", "blue", "teal")]
    expected: dict[int, list[list[int]]] = {}
    for seed in (1, 2):
        shutil.copy(tmp_path / f"a{seed}.pt", settings.models_dir / "a.pt")
        shutil.copy(tmp_path / f"a{seed}.idx", settings.indexes_dir / "ft--a__l2.idx")
        reloader.reload([BASE, "ft:a"])
        expected[seed] = [_top_ids(engine, "ft:a/l2", p)[0] for p in photos]
    assert expected[1] != expected[2]
    errors: list[str] = []
    seen: dict[int, int] = {1: 0, 2: 0}
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            results = engine.search_many([Query(p, 5, "ft:a/l2") for p in photos])
            for number, result in enumerate(results):
                seed = versions[result.model_version]
                seen[seed] += 1
                if [int(m.item.id or 0) for m in result] != expected[seed][number]:
                    errors.append(f"photo {number} stamped seed {seed} but ranked otherwise")

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for swap in range(10):
            seed = 1 + swap % 2
            shutil.copy(tmp_path / f"a{seed}.pt", settings.models_dir / "a.pt")
            shutil.copy(tmp_path / f"a{seed}.idx", settings.indexes_dir / "ft--a__l2.idx")
            assert reloader.reload([BASE, "ft:a"]).loaded == ["ft:a"]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == [] and seen[1] > 0 and seen[2] > 0


def test_an_updated_milvus_index_is_noticed_and_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under Milvus there is no index file to watch: the collection's provenance record is the stamp."""
    from engine.catalog import CatalogStore, Item

    make_catalog(tmp_path, n=24).close()
    monkeypatch.setenv("DOPE_INDEX_BACKEND", "milvus")
    argv = ["--data-dir", str(tmp_path), "--embedders", BASE, "--metrics", "l2", "--allow-random-weights",
            "--workers", "0", "--quiet"]
    assert build_index.main(argv) == 0
    settings = Settings(_env_file=None, data_dir=tmp_path, embedders=[BASE], metrics=["l2"],  # type: ignore[call-arg]
                        allow_random_weights=True, device="cpu", index_backend="milvus")
    engine = Engine.from_settings(settings)
    try:
        reloader = ModelReloader(engine, settings)
        assert reloader.changed([BASE]) == [] and not list(tmp_path.glob("indexes/*.idx"))  # no file to watch
        (tmp_path / "images" / "new.jpg").write_bytes(jpeg_bytes("disc", "teal", 96, seed=99))
        with CatalogStore(tmp_path / "catalog.sqlite") as catalog:  # the catalog grows; the index is updated
            new_id = catalog.add_items([Item(image_path="images/new.jpg", title="new", category="disc")])[0]
        assert build_index.main(argv) == 0
        assert reloader.changed([BASE]) == [BASE]
        assert new_id not in engine.indexes[f"{BASE}/l2"].ids().tolist()  # still the old one until the swap
        report = reloader.reload([BASE])
        assert report.loaded == [BASE] and report.generation == 1
        assert new_id in engine.indexes[f"{BASE}/l2"].ids().tolist() and reloader.changed([BASE]) == []
    finally:
        engine.close()
