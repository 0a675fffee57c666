"""The reference study's table: how often a variant's nearest neighbour shares the query's category.

`score_variant` is a pure function of vectors and labels (no catalog, no model): exact k-NN by
brute force (engine.index.metrics) and the same search through the hnswlib `VariantIndex`, giving
nearest-neighbour same-category accuracy, precision@k, same-attribute rates, and the ANN's
recall@k against the exact answer. `random_pair_baseline` is the chance that two distinct random
items share a label, computed exactly from the label counts.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.index import VariantIndex, brute_force_knn, prepare
from engine.index.metrics import Metric

QUERY_CHUNK = 16  # queries per brute-force block: L1 materialises (chunk, n, d) differences


@dataclass
class VariantScores:
    """One row of the table; rates are fractions in [0, 1]."""

    variant: str
    metric: str
    n_gallery: int
    n_queries: int
    k: int
    nn_accuracy: float
    precision_at_k: float
    baseline: float
    ann_nn_accuracy: float | None = None
    ann_recall_at_k: float | None = None
    attribute_nn: dict[str, float] = field(default_factory=dict)
    attribute_precision_at_k: dict[str, float] = field(default_factory=dict)
    attribute_baseline: dict[str, float] = field(default_factory=dict)
    seconds_exact: float = 0.0
    seconds_ann: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def random_pair_baseline(labels: Sequence[object] | np.ndarray) -> float:
    """P(two distinct items drawn at random share a label); missing labels ('' / None) are skipped."""
    counts = Counter(label for label in labels if label not in ("", None))
    n = sum(counts.values())
    if n < 2:
        return float("nan")
    return sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))


def exact_knn(
    queries: np.ndarray, gallery: np.ndarray, metric: Metric, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k gallery rows per query, skipping row `exclude[q]` (the query itself)."""
    center = gallery.mean(axis=0) if metric == "hamming" else None
    stored = prepare(gallery, metric, center)
    rows, dists = [], []
    for start in range(0, len(queries), QUERY_CHUNK):
        block = prepare(queries[start : start + QUERY_CHUNK], metric, center)
        r, d = brute_force_knn(block, stored, metric, k + (exclude is not None))
        rows.append(r)
        dists.append(d)
    return _drop_self(np.concatenate(rows), np.concatenate(dists), exclude, k)


def ann_knn(
    queries: np.ndarray, gallery: np.ndarray, metric: Metric, k: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The same search through the engine's hnswlib index (labels = gallery rows)."""
    index = VariantIndex.build(gallery, np.arange(len(gallery)), metric)
    rows, dists = [], []
    for start in range(0, len(queries), QUERY_CHUNK):
        r, d = index.search(queries[start : start + QUERY_CHUNK], k + (exclude is not None))
        rows.append(r)
        dists.append(d)
    return _drop_self(np.concatenate(rows), np.concatenate(dists), exclude, k)


def _drop_self(rows: np.ndarray, dists: np.ndarray, exclude: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    if exclude is None:
        return rows[:, :k], dists[:, :k]
    keep = rows != exclude[:, None]
    # Each row keeps its first k non-self entries (if self is absent, the last one is dropped).
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(rows, order, 1), np.take_along_axis(dists, order, 1)


def same_label_rates(neighbours: np.ndarray, query_labels: np.ndarray, gallery_labels: np.ndarray) -> tuple[float, float]:
    """(top-1 same-label rate, mean share of the top-k with the query's label), known labels only."""
    known = np.asarray([label not in ("", None) for label in query_labels])
    if not known.any():
        return float("nan"), float("nan")
    same = gallery_labels[neighbours[known]] == query_labels[known][:, None]
    return float(same[:, 0].mean()), float(same.mean())


def recall_at_k(ann_dists: np.ndarray, exact_dists: np.ndarray) -> float:
    """Share of ANN results no farther than the exact k-th neighbour (ties count as found)."""
    kth = exact_dists[:, -1:]
    tolerance = 1e-4 * np.maximum(np.abs(kth), 1.0)
    return float((ann_dists <= kth + tolerance).mean())


def score_variant(
    variant: str,
    gallery: np.ndarray,
    gallery_labels: Sequence[str] | np.ndarray,
    queries: np.ndarray,
    query_labels: Sequence[str] | np.ndarray,
    metric: Metric,
    *,
    k: int = 5,
    exclude: np.ndarray | None = None,
    gallery_attributes: Mapping[str, Sequence[str]] | None = None,
    query_attributes: Mapping[str, Sequence[str]] | None = None,
    use_ann: bool = True,
) -> VariantScores:
    """Score one variant. `exclude[q]` is query q's own gallery row (queries drawn from the gallery)."""
    gallery_labels, query_labels = np.asarray(gallery_labels, dtype=object), np.asarray(query_labels, dtype=object)
    k = min(k, len(gallery) - (exclude is not None))
    started = time.perf_counter()
    rows, dists = exact_knn(queries, gallery, metric, k, exclude)
    seconds_exact = time.perf_counter() - started
    nn_acc, p_at_k = same_label_rates(rows, query_labels, gallery_labels)
    scores = VariantScores(variant, metric, len(gallery), len(queries), k, nn_acc, p_at_k,
                           random_pair_baseline(gallery_labels), seconds_exact=seconds_exact)
    for name, values in (gallery_attributes or {}).items():
        g, q = np.asarray(values, dtype=object), np.asarray((query_attributes or {})[name], dtype=object)
        scores.attribute_nn[name], scores.attribute_precision_at_k[name] = same_label_rates(rows, q, g)
        scores.attribute_baseline[name] = random_pair_baseline(g)
    if use_ann:
        started = time.perf_counter()
        ann_rows, ann_dists = ann_knn(queries, gallery, metric, k, exclude)
        scores.seconds_ann = time.perf_counter() - started
        scores.ann_nn_accuracy = same_label_rates(ann_rows, query_labels, gallery_labels)[0]
        scores.ann_recall_at_k = recall_at_k(ann_dists, dists)
    return scores


def markdown_table(rows: Sequence[VariantScores], attributes: Sequence[str] = ()) -> str:
    """The study's table: one line per variant, rates in percent."""
    if not rows:
        return "(no variants)\n"
    k = rows[0].k
    header = ["variant", "NN same category", f"P@{k}", "random pair", "ANN NN", f"ANN recall@{k}"]
    header += [f"NN same {a}" for a in attributes]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"`{row.variant}`", _pct(row.nn_accuracy), _pct(row.precision_at_k), _pct(row.baseline),
                 _pct(row.ann_nn_accuracy), _pct(row.ann_recall_at_k)]
        cells += [_pct(row.attribute_nn.get(a)) for a in attributes]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "–" if value is None or value != value else f"{100 * value:.1f}%"
