"""The reference study's table for every variant (embedder × metric) on the catalog.

    python scripts/evaluate.py --embedders pixels,efficientnet-lite0,ft:lite0-head --input-size 64
    python scripts/evaluate.py --gallery-split test --query-split test --out results/fmnist.json

Samples --sample gallery items (default 20,000, or all) and --queries queries (default 1,000) with
--seed. With queries drawn from the gallery, each query's own item is excluded from its
neighbours. For each variant: the share of queries whose nearest neighbour has the same category
(beside the random-pair baseline), precision@k, same-colour/pattern rates where the catalog has
those attributes, and the same through the hnswlib index with its recall@k against brute force.
`pixels` is the raw-pixel baseline (letterboxed RGB crops at --pixel-size).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from engine.catalog import CatalogStore, Item
from engine.embedders import load_embedder
from engine.embedders.registry import BUILTIN_EMBEDDERS
from engine.errors import EngineError
from scripts.lib.evaluation import VariantScores, markdown_table, score_variant
from engine.index import METRICS
from engine.ingest.runner import cache_folder
from engine.settings import Settings
from engine.training.features import embed_items, pixel_features
from scripts.lib import cli

logger = logging.getLogger("evaluate")
PIXELS = "pixels"


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedders", default=",".join([PIXELS, *settings.embedders]),
                        help="comma-separated embedders; 'pixels' = raw-pixel baseline (default: %(default)s)")
    parser.add_argument("--metrics", default=",".join(METRICS), help="default: %(default)s")
    parser.add_argument("--sample", type=int, default=20_000, help="gallery items sampled (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=1_000, help="queries sampled (default: %(default)s)")
    parser.add_argument("--k", type=int, default=5, help="precision@k and recall@k (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gallery-split", help="gallery = items of this split (default: all items)")
    parser.add_argument("--query-split", help="queries from this split (default: from the gallery)")
    parser.add_argument("--input-size", type=int, help="input size for built-in embedders (ft: keep theirs)")
    parser.add_argument("--pixel-size", type=int, default=28, help="side of the raw-pixel baseline's crops")
    parser.add_argument("--attributes", default="colour,pattern", help="attributes to score where present")
    parser.add_argument("--no-ann", action="store_true", help="brute force only")
    parser.add_argument("--out", type=Path, help="write JSON here (and the table beside it as .md)")
    cli.add_device(parser, settings)
    parser.add_argument("--workers", type=int, default=2)
    cli.add_allow_random_weights(parser, settings)
    cli.add_quiet(parser)
    return parser


def select_items(catalog: CatalogStore, args: argparse.Namespace) -> tuple[list[Item], list[Item], np.ndarray | None]:
    """(gallery, queries, exclude): exclude[q] is query q's gallery row when queries come from it."""
    rng = np.random.default_rng(args.seed)
    gallery = [i for i in catalog.iter_items(split=args.gallery_split) if i.category]
    if len(gallery) > args.sample:
        gallery = [gallery[r] for r in np.sort(rng.choice(len(gallery), args.sample, replace=False))]
    if args.query_split is None or args.query_split == args.gallery_split:
        rows = np.sort(rng.choice(len(gallery), min(args.queries, len(gallery)), replace=False))
        return gallery, [gallery[r] for r in rows], rows
    pool = [i for i in catalog.iter_items(split=args.query_split) if i.category]
    picks = np.sort(rng.choice(len(pool), min(args.queries, len(pool)), replace=False))
    return gallery, [pool[r] for r in picks], None


def features_for(name: str, items: list[Item], catalog: CatalogStore, settings: Settings,
                 args: argparse.Namespace) -> tuple[str, np.ndarray]:
    """(label for the table, features of `items` in order)."""
    if name == PIXELS:
        return f"{PIXELS}@{args.pixel_size}", pixel_features(
            items, catalog.root, args.pixel_size, workers=args.workers, progress=not args.quiet)
    size = args.input_size if name in BUILTIN_EMBEDDERS else None
    embedder = load_embedder(name, args.device, models_dir=settings.models_dir, weights_dir=settings.weights_dir,
                             allow_random=args.allow_random_weights, input_size=size)
    label = f"{name}@{size}" if size else name
    folder = cache_folder(settings.embeddings_dir, label.replace("@", "-at-"))
    _, features = embed_items(items, catalog.root, embedder, folder, {"catalog_id": catalog.catalog_id},
                              workers=args.workers, progress=not args.quiet)
    return label, features


def evaluate(catalog: CatalogStore, settings: Settings, args: argparse.Namespace) -> tuple[list[VariantScores], list[str]]:
    gallery, queries, exclude = select_items(catalog, args)
    logger.info("gallery %d items, %d queries (%s)", len(gallery), len(queries),
                "from the gallery, self excluded" if exclude is not None else f"split {args.query_split}")
    attributes = [a for a in args.attributes.split(",") if a and any(a in i.attributes for i in gallery)]
    g_attr = {a: [i.attributes.get(a, "") for i in gallery] for a in attributes}
    q_attr = {a: [i.attributes.get(a, "") for i in queries] for a in attributes}
    g_labels, q_labels = [i.category for i in gallery], [i.category for i in queries]
    unique = {int(i.id or 0): i for i in gallery + queries}
    position = {item_id: row for row, item_id in enumerate(unique)}
    rows: list[VariantScores] = []
    for name in cli.names(args.embedders):
        label, features = features_for(name, list(unique.values()), catalog, settings, args)
        g_feat = features[[position[int(i.id or 0)] for i in gallery]]
        q_feat = features[[position[int(i.id or 0)] for i in queries]]
        for metric in cli.metric_names(args.metrics):
            scores = score_variant(f"{label}/{metric}", g_feat, g_labels, q_feat, q_labels, metric,
                                   k=args.k, exclude=exclude, gallery_attributes=g_attr,
                                   query_attributes=q_attr, use_ann=not args.no_ann)
            logger.info("%s: NN %.3f, P@%d %.3f, ANN recall %s", scores.variant, scores.nn_accuracy, scores.k,
                        scores.precision_at_k, scores.ann_recall_at_k)
            rows.append(scores)
    return rows, attributes


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    try:
        with CatalogStore(settings.catalog_path, create=False) as catalog:
            rows, attributes = evaluate(catalog, settings, args)
    except (EngineError, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    table = markdown_table(rows, attributes)
    print(table)
    if args.out:
        cli.write_json(args.out, {"setup": vars(args), "rows": [r.as_dict() for r in rows]}, table=table)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
