"""Fit a PCA reduction of a built-in embedder on the catalog; save it as models/<name>.pt.

    python scripts/fit_pca.py --embedder vgg16-fc7 --components 256 --name vgg16-fc7-pca256
    python scripts/build_index.py --embedders ft:vgg16-fc7-pca256

The features come from the embedding cache (computed if missing, like build_index.py), fitted
on the catalog's "train" split when it has one. `ft:<name>` then loads like any embedder: the
base network with the projection appended (4096 → 256 floats: 16× less index memory).
"""
from __future__ import annotations

import argparse
import logging

import numpy as np

from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.embedders.pca import fit_pca, save_pca_checkpoint
from engine.ingest import embed_catalog
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger("fit_pca")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedder", default=settings.embedders[0], help="built-in base (default: %(default)s)")
    parser.add_argument("--components", type=int, default=256, help="output dimension (default: %(default)s)")
    parser.add_argument("--whiten", action="store_true", help="scale components to unit variance")
    parser.add_argument("--name", help="checkpoint name (default: <embedder>-pca<components>)")
    cli.add_device(parser, settings)
    parser.add_argument("--workers", type=int, default=2)
    cli.add_allow_random_weights(parser, settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    name = args.name or f"{args.embedder}-pca{args.components}{'w' if args.whiten else ''}"
    embedder = load_embedder(args.embedder, args.device, allow_random=args.allow_random_weights)
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        run = embed_catalog(catalog, embedder, settings.embeddings_dir, num_workers=args.workers)
        train_ids = {item.id for item in catalog.iter_items(split="train") if item.id is not None}
    rows = np.isin(run.ids, list(train_ids)) if train_ids else np.ones(len(run.ids), bool)
    try:
        fit = fit_pca(run.features[rows], args.components, whiten=args.whiten)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    path = settings.models_dir / f"{name}.pt"
    save_pca_checkpoint(path, embedder, fit, fitted_on={"items": int(rows.sum()), "split": "train" if train_ids else "all"})
    logger.info("saved %s: %d → %d, %.1f%% of the variance; use it as ft:%s",
                path, embedder.dim, args.components, 100 * fit.explained_variance_ratio, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
