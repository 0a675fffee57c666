"""Import products into <data-dir>/catalog.sqlite from a folder, a CSV, DeepFashion or Fashion-MNIST.

    python scripts/import_catalog.py folder ~/photos            # ~/photos/<category>/<image>
    python scripts/import_catalog.py csv products.csv --skip-bad
    python scripts/import_catalog.py deepfashion ~/DeepFashion/Category --split train --split test
    python scripts/import_catalog.py fashion-mnist --limit 1000   # 1000 per split

Items are appended to the catalog; importing the same DeepFashion, Fashion-MNIST or folder
images twice is refused (their skus repeat). Folder, CSV and DeepFashion images are referenced
where they are; Fashion-MNIST images are written once as PNGs under <data-dir>/images/.
The CSV format is described in engine/catalog/csv_import.py.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from engine.catalog.csv_import import iter_csv
from engine.catalog.deepfashion import iter_deepfashion
from engine.catalog.fashion_mnist import FASHION_MNIST_DIR, FASHION_MNIST_SPLITS, iter_fashion_mnist
from engine.catalog.folder import iter_folder
from engine.catalog.importers import write_items
from engine.catalog.store import CatalogStore, Item
from engine.errors import CatalogError
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger(__name__)

SOURCES = ("folder", "csv", "deepfashion", "fashion-mnist")
SPLITS = ("train", "val", "test")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command line; see the module docstring."""
    parser = cli.parser(
        "Import products into the catalog.", raw=False,
        epilog="CSV columns: path,title,category[,x1,y1,x2,y2][,url][,price][,sku][,split]"
        "[,any attribute]; paths relative to the CSV's folder.",
    )
    parser.add_argument("source", choices=SOURCES, help="kind of input")
    parser.add_argument(
        "path", type=Path, nargs="?", default=None,
        help=f"folder, CSV file or dataset root (fashion-mnist default: {FASHION_MNIST_DIR})",
    )  # fmt: skip
    cli.add_data_dir(parser, settings)
    parser.add_argument(
        "--limit", type=int, default=None,
        help="import at most N items (fashion-mnist: N per split)",
    )  # fmt: skip
    parser.add_argument(
        "--split", action="append", choices=SPLITS, default=None,
        help="only these splits (repeatable; csv, deepfashion, fashion-mnist)",
    )  # fmt: skip
    parser.add_argument(
        "--skip-bad", action="store_true",
        help="csv: log and skip bad rows instead of stopping at the first",
    )  # fmt: skip
    return parser


def select_items(args: argparse.Namespace, data_dir: Path) -> Iterator[Item]:
    """The importer for `args.source`, configured from the command line."""
    splits = set(args.split) if args.split else None
    if args.source == "fashion-mnist":
        return iter_fashion_mnist(
            data_dir / "images" / "fashion-mnist",
            root=args.path or FASHION_MNIST_DIR,
            splits=[s for s in FASHION_MNIST_SPLITS if splits is None or s in splits],
            limit_per_split=args.limit,
        )
    if args.path is None:
        raise CatalogError(f"{args.source} needs a PATH")
    if args.source == "deepfashion":
        return iter_deepfashion(args.path, splits=splits, limit=args.limit)
    if args.source == "csv":
        items = iter_csv(args.path, skip_bad=args.skip_bad, limit=None if splits else args.limit)
        if splits:  # filter first, then limit: --limit counts imported items
            return islice((item for item in items if item.split in splits), args.limit)
        return items
    if splits:
        raise CatalogError("a folder import has no splits; drop --split")
    return iter_folder(args.path, limit=args.limit)


def main(argv: list[str] | None = None) -> int:
    """Run the import; returns the process exit code."""
    args, settings = cli.parse(build_parser, argv)
    if args.limit is not None and args.limit < 1:
        logger.error("--limit must be >= 1")
        return 2
    try:
        items = select_items(args, settings.data_dir)
        with CatalogStore(settings.catalog_path) as store:
            written = write_items(store, items, desc=args.source)
            counts = store.category_counts()
    except CatalogError as exc:
        logger.error("%s", exc)
        return 1
    logger.info("imported %d items; catalog now has %s", written, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
