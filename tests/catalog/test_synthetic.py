"""The synthetic demo catalog: deterministic, labelled, with honest bounding boxes."""
from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.catalog.synthetic import (
    SYNTHETIC_CATEGORIES,
    SYNTHETIC_COLOURS,
    SYNTHETIC_PATTERNS,
    generate_synthetic,
    iter_synthetic_catalog,
    synthetic_sample,
)


@pytest.fixture(scope="module")
def samples() -> list:
    return list(generate_synthetic(seed=3, n=200))


def test_same_seed_same_bytes_and_items() -> None:
    first = list(generate_synthetic(seed=7, n=5))
    second = list(generate_synthetic(seed=7, n=5))
    assert [s.jpeg for s in first] == [s.jpeg for s in second]
    assert [s.item for s in first] == [s.item for s in second]
    # Item i does not depend on how many items are generated.
    assert synthetic_sample(7, 4).jpeg == first[4].jpeg


def test_different_seed_differs() -> None:
    a = list(generate_synthetic(seed=0, n=5))
    b = list(generate_synthetic(seed=1, n=5))
    assert all(x.jpeg != y.jpeg for x, y in zip(a, b))
    assert [x.item.sku for x in a] != [y.item.sku for y in b]


def test_items_are_complete(samples: list) -> None:
    for sample in samples:
        item = sample.item
        assert item.category in SYNTHETIC_CATEGORIES
        assert item.attributes["colour"] in SYNTHETIC_COLOURS
        assert item.attributes["pattern"] in SYNTHETIC_PATTERNS
        assert item.attributes["colour"].capitalize() in item.title and item.category in item.title
        assert item.url and item.url.startswith("https://") and item.price and item.price > 0
        assert item.split in ("train", "test") and item.sku
    seen = Counter(s.item.attributes["pattern"] for s in samples)
    assert set(seen) == set(SYNTHETIC_PATTERNS)
    assert {s.item.attributes["colour"] for s in samples} == set(SYNTHETIC_COLOURS)


def test_category_distribution_is_imbalanced(samples: list) -> None:
    counts = Counter(s.item.category for s in samples)
    assert len(counts) >= len(SYNTHETIC_CATEGORIES) - 1  # rare ones may be missing in 200
    ordered = sorted(counts.values(), reverse=True)
    assert ordered[0] >= 5 * ordered[-1]
    assert counts["t-shirt"] == ordered[0]


def test_bbox_is_inside_and_tight_around_the_object(samples: list) -> None:
    for sample in samples[:100]:
        pixels = np.asarray(Image.open(io.BytesIO(sample.jpeg)).convert("RGB"), np.float32)
        height, width, _ = pixels.shape
        x1, y1, x2, y2 = (int(v) for v in sample.item.bbox)
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        # The background is a vertical gradient: outside the box (with a margin for JPEG
        # ringing), every pixel is close to its row's background colour.
        margin = 8
        outside = np.ones((height, width), bool)
        outside[max(0, y1 - margin) : y2 + margin, max(0, x1 - margin) : x2 + margin] = False
        row_bg = np.median(np.where(outside[..., None], pixels, np.nan), axis=1, keepdims=True)
        rows = ~np.isnan(row_bg[:, 0, 0])
        deviation = np.abs(pixels - row_bg)[outside & rows[:, None]]
        assert np.percentile(deviation, 99.5) < 20, sample.item.title
        # Inside the box the object covers a good share of the pixels, touching each edge.
        bg = np.nanmedian(row_bg, axis=0)[0]
        difference = np.abs(pixels[y1:y2, x1:x2] - bg).max(axis=2)
        assert (difference > 40).mean() > 0.3, sample.item.title
        # Tight: the object shows within 3 px of every edge (tips are antialiased, hence > 20).
        seen = difference > 20
        assert seen[:3].any() and seen[-3:].any() and seen[:, :3].any() and seen[:, -3:].any()


def test_writes_jpeg_files(tmp_path: Path) -> None:
    items = list(iter_synthetic_catalog(tmp_path / "demo", seed=0, n=40))
    assert len(items) == 40
    for item in items[:5]:
        image = Image.open(item.image_path)
        assert image.format == "JPEG" and image.size == (224, 224)
    assert Path(items[0].image_path).read_bytes() == synthetic_sample(0, 0).jpeg
