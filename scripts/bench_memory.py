"""Memory per catalog item of each index layout (measured, then extrapolated to 1M items), and
what the compact layouts cost in accuracy.

    python scripts/bench_memory.py                     # layouts + accuracy on 400 demo photos
    python scripts/bench_memory.py --quick             # CI-sized

Layouts: hnswlib float32 at 4096-d (also what the engine's Hamming VariantIndex stores: ±1
floats), fp16 flat, PCA-256 in hnswlib, packed 4096- and 256-bit codes (PackedHammingIndex).
Bytes per item are measured on --measure-n items (hnswlib `index_file_size()`, RSS growth, array
sizes) and × 1,000,000 gives the 1M-item figure; the formula is printed beside it.
Accuracy: same-category nearest-neighbour accuracy (scripts.lib.evaluation.score_variant, leave one
out) on the synthetic demo catalog with efficientnet-lite0 features: full float vs PCA-k vs
binary sign codes (Hamming). A compact layout should lose at most 2 points.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from engine.embedders import load_embedder
from engine.embedders.pca import fit_pca
from engine.index import PackedHammingIndex
from engine.index.metrics import Metric
from engine.ingest import embed_catalog
from scripts.lib import cli
from scripts.lib.benchmarking import (
    RESULTS_DIR, Row, base_parser, current_rss_bytes, markdown_table, report, synthetic_catalog,
)
from scripts.lib.evaluation import score_variant

logger = logging.getLogger("bench_memory")

MILLION = 1_000_000
BUDGET_GIB = 4.0
LAYOUT_COLUMNS = ["layout", "dim", "measured_n", "bytes_per_item", "formula", "gib_at_1M", "fits_4_GiB"]
ACCURACY_COLUMNS = ["features", "metric", "dim", "bytes_per_item", "nn_accuracy", "colour_nn",
                    "delta_points"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_memory", __doc__)
    parser.add_argument("--measure-n", type=int, default=5000, help="items per measured layout")
    parser.add_argument("--M", type=int, default=16, help="hnswlib graph degree")
    parser.add_argument("--catalog-n", type=int, default=400, help="demo photos for the accuracy part")
    parser.add_argument("--embedder", default="efficientnet-lite0", help="default: %(default)s")
    parser.add_argument("--components", default="256,128,64", help="PCA sizes to score")
    parser.add_argument("--cache", type=Path, default=RESULTS_DIR / "cache", help="rendered catalog cache")
    args = parser.parse_args(argv)
    if args.quick:
        args.measure_n, args.catalog_n, args.embedder, args.components = 500, 24, "random-init", "16,8"
    return args


def hnsw_layout(name: str, dim: int, n: int, M: int) -> Row:
    """Measured bytes/item of an hnswlib float32 index: its file size and the RSS it added."""
    data = np.maximum(np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32), 0)
    before = current_rss_bytes()
    index = hnswlib.Index(space="l2", dim=dim)
    index.init_index(max_elements=n, M=M, ef_construction=40)
    index.add_items(data)
    rss = current_rss_bytes() - before
    per_item = index.index_file_size() / n
    formula = f"4·d + 8·M + 12 + upper layers = {4 * dim + 8 * M + 12} + ε (RSS +{rss / n:.0f} B/item)"
    return layout_row(name, dim, n, per_item, formula)


def layout_row(name: str, dim: int, n: int, per_item: float, formula: str) -> Row:
    gib = per_item * MILLION / 2**30
    return {"layout": name, "dim": dim, "measured_n": n, "bytes_per_item": round(per_item, 1),
            "formula": formula, "gib_at_1M": round(gib, 2), "fits_4_GiB": "yes" if gib <= BUDGET_GIB else "no"}


def layout_rows(args: argparse.Namespace) -> list[Row]:
    n = args.measure_n
    rows = [hnsw_layout("hnswlib float32 (l2/l1/cosine; engine hamming stores ±1 floats)", 4096, n, args.M)]
    rows.append(layout_row("flat fp16", 4096, n, np.zeros((n, 4096), np.float16).nbytes / n, "2·d"))
    rows.append(hnsw_layout("PCA-256 → hnswlib float32", 256, n, args.M))
    rows.append(layout_row("PCA-256 flat fp16", 256, n, np.zeros((n, 256), np.float16).nbytes / n, "2·d"))
    for bits in (4096, 256):
        features = np.random.default_rng(1).standard_normal((n, bits), dtype=np.float32)
        index = PackedHammingIndex.build(features, np.arange(n))
        rows.append(layout_row(f"packed {bits}-bit codes (PackedHammingIndex)", bits, n, index.nbytes / n,
                               "d/8 + 8 (id) + 1 (live flag)"))
    return rows


def accuracy_rows(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    """Leave-one-out same-category NN accuracy, full vs PCA-k vs sign codes, on demo photos."""
    catalog = synthetic_catalog(args.cache, args.catalog_n, size=224 if not args.quick else 96)
    embedder = load_embedder(args.embedder, "cpu", allow_random=True)
    with tempfile.TemporaryDirectory() as scratch:
        run = embed_catalog(catalog, embedder, Path(scratch), num_workers=0 if args.quick else 2, progress=False)
    items = catalog.get_many(run.ids.tolist())
    labels = [items[int(i)].category for i in run.ids]
    colours = [items[int(i)].attributes.get("colour", "") for i in run.ids]
    train = np.asarray([items[int(i)].split == "train" for i in run.ids])
    catalog.close()
    feats, dim = run.features, run.features.shape[1]
    variants: list[tuple[str, Metric, np.ndarray, float]] = [
        (f"full {dim}-d float32", "l2", feats, 4 * dim), (f"full {dim}-d float32", "cosine", feats, 4 * dim),
        (f"sign codes {dim} bits", "hamming", feats, dim / 8),
    ]
    for k in [int(c) for c in args.components.split(",")]:
        if k < min(int(train.sum()), dim):
            reduced = fit_pca(feats[train], k).transform(feats)  # fitted on the train split only
            variants += [(f"PCA-{k} float32", "l2", reduced, 4 * k), (f"PCA-{k} float32", "cosine", reduced, 4 * k),
                         (f"PCA-{k} sign codes", "hamming", reduced, k / 8)]
    rows: list[Row] = []
    reference: dict[str, float] = {}
    for name, metric, vectors, size in variants:
        scores = score_variant(name, vectors, labels, vectors, labels, metric, k=5,
                               exclude=np.arange(len(vectors)), use_ann=False,
                               gallery_attributes={"colour": colours}, query_attributes={"colour": colours})
        base = reference.setdefault(metric if metric != "hamming" else "l2", scores.nn_accuracy)
        rows.append({"features": name, "metric": metric, "dim": vectors.shape[1], "bytes_per_item": size,
                     "nn_accuracy": round(scores.nn_accuracy, 4), "colour_nn": round(scores.attribute_nn["colour"], 4),
                     "delta_points": round(100 * (scores.nn_accuracy - base), 1)})
        logger.info("%s", rows[-1])
    return rows, {"items": len(run.ids), "embedder": args.embedder, "random_weights": embedder.is_random,
                  "baseline": round(scores.baseline, 4)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    layouts = layout_rows(args)
    accuracy, about = accuracy_rows(args)
    report(args.out, "memory", layouts, LAYOUT_COLUMNS,
           f"Memory per item, extrapolated to {MILLION:,} items (budget {BUDGET_GIB:g} GiB)",
           accuracy=accuracy, accuracy_setup=about, args=vars(args))
    print(f"\nAccuracy cost: same-category 1-NN (leave one out), {about['items']} demo photos, "
          f"{about['embedder']}; chance {about['baseline']}; delta vs full float (hamming vs l2)\n")
    print(markdown_table(accuracy, ACCURACY_COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
