"""Search the catalog with a photo and print the top-k matches of every variant.

    python scripts/search.py path/to/photo.jpg --k 5
    python scripts/search.py path/to/photo.jpg --bbox 40,30,180,190   # crop the query first

Catalog images are indexed as their bounding-box crops, so when PHOTO is a catalog item's own
image file, the query is cropped to that item's box too (compare like with like); --no-crop
searches with the whole picture instead.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.catalog import CatalogStore
from engine.errors import EngineError
from engine.images import BBox, load_image
from engine.search import Engine
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger("search")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    parser.add_argument("photo", type=Path, help="a JPEG/PNG/WebP file")
    parser.add_argument("--k", type=int, default=settings.top_k, help="matches per variant (default: %(default)s)")
    parser.add_argument("--variants", help="comma-separated variant names (default: all built)")
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedders", help="comma-separated embedders to load (default: settings)")
    parser.add_argument("--bbox", help="crop the photo to x1,y1,x2,y2 (pixels) before searching")
    parser.add_argument("--no-crop", action="store_true", help="never crop a catalog image to its box")
    return parser


def query_box(catalog: CatalogStore, photo: Path, args: argparse.Namespace) -> BBox | None:
    """The explicit --bbox, else the box of the catalog item whose image PHOTO is."""
    if args.bbox:
        x1, y1, x2, y2 = (float(v) for v in args.bbox.split(","))
        return (x1, y1, x2, y2)
    if args.no_crop:
        return None
    target = photo.resolve()
    for item in catalog.iter_items():
        if item.bbox is not None and catalog.resolve_image(item).resolve() == target:
            logger.info("%s is catalog item #%s: cropping to its box %s", photo, item.id, item.bbox)
            return item.bbox
    return None


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    names = cli.names(args.embedders) if args.embedders else None
    try:
        engine = Engine.from_settings(settings, embedder_names=names)
        query = load_image(args.photo, max_pixels=settings.max_image_pixels,
                           bbox=query_box(engine.catalog, args.photo, args))
        variants = cli.names(args.variants) if args.variants else engine.variants()
        for variant in variants:
            print(f"== {variant}")
            for match in engine.search(query, args.k, variant):
                item = match.item
                print(f"{match.rank:>3}  {match.distance:>10.4f}  #{item.id:<6} {item.category:<14} {item.title}")
    except EngineError as exc:
        logger.error("%s", exc)
        return 1
    engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
