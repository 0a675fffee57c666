"""Build the synthetic demo catalog: JPEGs in <data-dir>/images/demo/, items in catalog.sqlite.

    python scripts/make_demo_catalog.py --n 2000 --seed 0

The same --seed and --n always give the same images and items. An existing non-empty catalog
is left alone unless --force, which deletes the catalog file and the old demo images first
(indexes built from the old catalog then no longer match it and must be rebuilt).
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore
from engine.catalog.synthetic import SYNTHETIC_CATEGORIES, iter_synthetic_catalog
from engine.errors import CatalogError
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger(__name__)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command line; see the module docstring."""
    parser = cli.parser(
        "Generate the deterministic synthetic demo catalog "
        f"({', '.join(SYNTHETIC_CATEGORIES)} × colours × patterns).", raw=False,
    )
    parser.add_argument("--n", type=int, default=2000, help="number of items (default: 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default: 0)")
    cli.add_data_dir(parser, settings)
    parser.add_argument(
        "--force", action="store_true",
        help="delete an existing catalog and demo images instead of refusing",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Generate the catalog; returns the process exit code."""
    args, settings = cli.parse(build_parser, argv)
    if args.n < 1 or args.seed < 0:
        logger.error("--n must be >= 1 and --seed >= 0")
        return 2
    catalog_path = settings.catalog_path
    images_dir = settings.data_dir / "images" / "demo"
    if catalog_path.exists():
        with CatalogStore(catalog_path) as store:
            existing = len(store)
        if existing and not args.force:
            logger.error(
                "%s already holds %d items; pass --force to replace it", catalog_path, existing
            )
            return 1
        _remove_catalog(catalog_path, images_dir)
    try:
        with CatalogStore(catalog_path) as store:
            items = iter_synthetic_catalog(images_dir, seed=args.seed, n=args.n)
            written = write_items(store, items, total=args.n, desc="demo catalog")
            counts = store.category_counts()
    except CatalogError as exc:
        logger.error("%s", exc)
        return 1
    logger.info("wrote %d demo items to %s: %s", written, catalog_path, counts)
    return 0


def _remove_catalog(catalog_path: Path, images_dir: Path) -> None:
    # SQLite may leave -wal/-shm/-journal files next to the database; they belong to it.
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{catalog_path}{suffix}").unlink(missing_ok=True)
    if images_dir.exists():
        shutil.rmtree(images_dir)  # a smaller --n must not leave stale images behind
    logger.info("removed the old catalog %s and %s", catalog_path, images_dir)


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
