"""Serving on the trained photo model: frozen graphs and side-by-side searches answer exactly like
the eager, one-at-a-time engine (same boxes, same matches, same vectors to float rounding)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.catalog import CatalogStore
from engine.frozen import cpu_has_bf16
from engine.localise.regions import box_iou
from engine.search import Engine, Matches
from engine.serving import BatchingSearcher
from engine.settings import Settings
from scripts.lib.photo_queries import synthetic_queries

VARIANT = "ft:photo/cosine"


@pytest.fixture(scope="module")
def photos(photo_settings: Settings) -> list[bytes | Path]:
    with CatalogStore(photo_settings.catalog_path, create=False) as catalog:
        return [query.image for query in synthetic_queries(catalog, 6, seed=11)]


def served(settings: Settings, **update: object) -> Iterator[Engine]:
    engine = Engine.from_settings(settings.model_copy(update=update))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def frozen(photo_settings: Settings) -> Iterator[Engine]:
    """What serves by default: frozen fp32 graphs."""
    yield from served(photo_settings)


@pytest.fixture(scope="module")
def bf16(photo_settings: Settings) -> Iterator[Engine]:
    yield from served(photo_settings, localiser_bf16=True)


@pytest.fixture(scope="module")
def eager(photo_settings: Settings) -> Iterator[Engine]:
    yield from served(photo_settings, frozen_graphs=False)


def assert_same_answer(got: Matches, expected: Matches) -> None:
    assert [m.item.id for m in got] == [m.item.id for m in expected]
    assert len(got.regions) == len(expected.regions)
    for region, other in zip(got.regions, expected.regions):
        assert region.box == pytest.approx(other.box, abs=1e-3)
    assert got.confident == expected.confident and got.photo_size == expected.photo_size
    assert got.vector is not None and expected.vector is not None
    assert np.allclose(got.vector, expected.vector, atol=1e-4)


def test_the_served_models_are_frozen_unless_turned_off(frozen: Engine, eager: Engine) -> None:
    assert frozen.localiser is not None and isinstance(frozen.localiser._graph, torch.jit.ScriptModule)  # fp32
    assert all(e._graphs is not None for e in frozen.embedders.values())
    assert eager.localiser is not None and eager.localiser._graph is None
    assert all(e._graphs is None for e in eager.embedders.values())


def test_frozen_graphs_find_the_same_boxes_and_matches(frozen: Engine, eager: Engine,
                                                        photos: list[bytes | Path]) -> None:
    for photo in photos:
        assert_same_answer(frozen.search(photo, 5, VARIANT), eager.search(photo, 5, VARIANT))


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no bf16 units")
def test_a_bf16_localiser_finds_boxes_like_the_float32_one(bf16: Engine, frozen: Engine,
                                                           photos: list[bytes | Path]) -> None:
    assert bf16.localiser is not None and frozen.localiser is not None
    assert isinstance(frozen.localiser._graph, torch.jit.ScriptModule)
    assert not isinstance(bf16.localiser._graph, torch.jit.ScriptModule)  # the bf16 wrapper, no fallback
    overlaps = []
    for photo in photos:
        got, expected = bf16.search(photo, 5, VARIANT), frozen.search(photo, 5, VARIANT)
        assert got.box is not None and expected.box is not None
        overlaps.append(box_iou(got.box, expected.box))
    assert float(np.median(overlaps)) >= 0.9


def test_searches_side_by_side_answer_like_one_at_a_time(frozen: Engine, photos: list[bytes | Path]) -> None:
    async def all_at_once() -> list[Matches]:
        searcher = BatchingSearcher(frozen, window_ms=0, max_batch=1, workers=3)
        await searcher.initialize()
        try:
            return await asyncio.gather(*(searcher.search(photo, 5, VARIANT) for photo in photos * 2))
        finally:
            await searcher.shutdown()

    answers = asyncio.run(all_at_once())
    for photo, got in zip(photos * 2, answers):
        assert_same_answer(got, frozen.search(photo, 5, VARIANT))
