"""Score photo queries through `Engine.search`, the path the bot uses (localisation included).

Pure bookkeeping on top of the engine: for each query, was the photographed item first / in the
top k, do the top matches share its category (and colour, pattern), did the searched box overlap
the product's true box (IoU ≥ 0.5), and how long did the search take.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.catalog.store import Item
from engine.localise.regions import box_iou
from scripts.lib.photo_queries import PhotoQuery
from engine.search import Engine, Match

ATTRIBUTES = ("colour", "pattern")


@dataclass
class PhotoScores:
    """One row of the photo benchmark; rates are fractions in [0, 1], latencies in ms."""

    variant: str
    source: str
    n: int
    k: int
    exact_at_1: float
    exact_at_k: float
    category_at_1: float
    category_precision_at_k: float
    attribute_at_1: dict[str, float] = field(default_factory=dict)
    iou50: float | None = None  # share of queries whose searched box has IoU ≥ 0.5 with the truth
    mean_iou: float | None = None
    unsure: float = 0.0  # share of queries where the localiser was not confident
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _rate(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


@dataclass
class _LabelTally:
    """Category @1 / P@k, attribute @1 and latency, kept the same way for photo and clean queries."""

    category_at_1: list[float] = field(default_factory=list)
    category_at_k: list[float] = field(default_factory=list)
    attributes: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in ATTRIBUTES})
    latencies: list[float] = field(default_factory=list)

    def add(self, truth: Item, matches: Sequence[Match], seconds: float) -> None:
        self.latencies.append(seconds * 1000)
        self.category_at_1.append(float(bool(matches) and matches[0].item.category == truth.category))
        self.category_at_k.append(_rate([m.item.category == truth.category for m in matches]) if matches else 0.0)
        for name in ATTRIBUTES:
            if truth.attributes.get(name):
                self.attributes[name].append(
                    float(bool(matches) and matches[0].item.attributes.get(name) == truth.attributes[name]))

    def figures(self) -> dict[str, Any]:
        """The PhotoScores fields this tally fills."""
        return {
            "category_at_1": _rate(self.category_at_1), "category_precision_at_k": _rate(self.category_at_k),
            "attribute_at_1": {name: _rate(v) for name, v in self.attributes.items() if v},
            "latency_p50_ms": float(np.percentile(self.latencies, 50)) if self.latencies else 0.0,
            "latency_p95_ms": float(np.percentile(self.latencies, 95)) if self.latencies else 0.0,
        }


def score_photo_queries(engine: Engine, queries: Sequence[PhotoQuery], variant: str, k: int = 5,
                        source: str = "synthetic") -> PhotoScores:
    """Search every query photo with `engine.search` and score it (see the module docstring)."""
    truth_items = engine.catalog.get_many([q.item_id for q in queries])
    tally = _LabelTally()
    exact1, exactk, ious, unsure = [], [], [], []
    for query in queries:
        started = time.perf_counter()
        matches = engine.search(query.image, k, variant)
        tally.add(truth_items[query.item_id], matches, time.perf_counter() - started)
        ids = [m.item.id for m in matches]
        exact1.append(float(bool(ids) and ids[0] == query.item_id))
        exactk.append(float(query.item_id in ids))
        unsure.append(float(not matches.confident))
        if query.box is not None and query.source != "own-image":
            width, height = matches.photo_size or (0, 0)
            photo_box = matches.box or (0.0, 0.0, float(width), float(height))
            ious.append(box_iou(photo_box, query.box))
    return PhotoScores(
        variant=variant, source=source, n=len(queries), k=k,
        exact_at_1=_rate(exact1), exact_at_k=_rate(exactk),
        iou50=_rate([float(i >= 0.5) for i in ious]) if ious else None,
        mean_iou=_rate(ious) if ious else None, unsure=_rate(unsure), **tally.figures(),
    )


def clean_scores(engine: Engine, item_ids: Sequence[int], variant: str, k: int = 5) -> PhotoScores:
    """The same figures for clean catalog crops (the seed protocol): each item's stored vector
    against the rest of the catalog, itself excluded, so exact-item figures do not apply."""
    items = engine.catalog.get_many(list(item_ids))
    tally = _LabelTally()
    for item_id in item_ids:
        started = time.perf_counter()
        matches = engine.neighbours_of_item(item_id, k, variant)
        tally.add(items[item_id], matches, time.perf_counter() - started)
    return PhotoScores(
        variant=variant, source="clean", n=len(item_ids), k=k, exact_at_1=float("nan"), exact_at_k=float("nan"),
        **tally.figures(),
    )


def markdown(rows: Sequence[PhotoScores]) -> str:
    """The benchmark table, one row per (variant, query source)."""
    def pct(value: float | None) -> str:
        return "–" if value is None or value != value else f"{100 * value:.1f}"

    lines = ["| variant | queries | n | exact@1 | exact@5 | category@1 | P@5 | colour@1 | pattern@1 | IoU≥0.5 | unsure | p50 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.variant} | {r.source} | {r.n} | {pct(r.exact_at_1)} | {pct(r.exact_at_k)} | {pct(r.category_at_1)} | "
            f"{pct(r.category_precision_at_k)} | {pct(r.attribute_at_1.get('colour'))} | "
            f"{pct(r.attribute_at_1.get('pattern'))} | {pct(r.iou50)} | {pct(r.unsure)} | {r.latency_p50_ms:.0f} |")
    return "\n".join(lines)
