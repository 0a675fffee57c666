"""Search the catalog with a photo and print the top-k matches of every variant.

    python scripts/search.py path/to/photo.jpg --k 5
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.errors import EngineError
from engine.search import Engine
from engine.settings import Settings

logger = logging.getLogger("search")


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", type=Path, help="a JPEG/PNG/WebP file")
    parser.add_argument("--k", type=int, default=settings.top_k, help="matches per variant (default: %(default)s)")
    parser.add_argument("--variants", help="comma-separated variant names (default: all built)")
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir)
    parser.add_argument("--embedders", help="comma-separated embedders to load (default: settings)")
    args = parser.parse_args(argv)
    settings = settings.model_copy(update={"data_dir": args.data_dir})
    names = args.embedders.split(",") if args.embedders else None
    try:
        engine = Engine.from_settings(settings, embedder_names=names)
        variants = args.variants.split(",") if args.variants else engine.variants()
        for variant in variants:
            print(f"== {variant}")
            for match in engine.search(args.photo, args.k, variant):
                item = match.item
                print(f"{match.rank:>3}  {match.distance:>10.4f}  #{item.id:<6} {item.category:<14} {item.title}")
    except EngineError as exc:
        logger.error("%s", exc)
        return 1
    engine.close()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
