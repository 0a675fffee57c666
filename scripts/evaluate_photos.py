"""The photo-query benchmark: phone-like photos of catalog products through `Engine.search`.

    python scripts/evaluate_photos.py --embedders efficientnet-lite0,ft:photo --metrics cosine
    python scripts/evaluate_photos.py --real my_photos.csv          # photo,item_id[,x1,y1,x2,y2]
    python scripts/evaluate_photos.py --no-localiser                # ablation: whole photos
    python scripts/evaluate_photos.py --pool dev                    # choose settings here, not on eval

For each variant it reports, side by side: synthetic photos (items pasted onto the *evaluation*
backgrounds in the evaluation style, neither seen in training: engine/photos/), the catalog
items' own uncropped photos, real photos when given, and the clean seed protocol (catalog crops
against each other). Figures: exact item @1/@5, category @1, category P@5, colour/pattern @1
where the catalog has them, the share of searched boxes with IoU ≥ 0.5, and latency per photo
(decode + localise + embed + search; the first query of each variant is a warm-up, not timed).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.catalog import CatalogStore
from scripts.lib.photo_evaluation import PhotoScores, clean_scores, markdown, score_photo_queries
from scripts.lib.photo_queries import own_image_queries, real_queries, synthetic_queries
from engine.search import Engine
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger("evaluate_photos")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedders", default=",".join(settings.embedders), help="default: %(default)s")
    parser.add_argument("--metrics", default="cosine", help="comma-separated (default: %(default)s)")
    parser.add_argument("--photos", type=int, default=500, help="synthetic photo queries (default: %(default)s)")
    parser.add_argument("--own", type=int, default=500, help="own-image queries, 0 = skip (default: %(default)s)")
    parser.add_argument("--clean", type=int, default=500, help="clean seed-protocol queries (default: %(default)s)")
    parser.add_argument("--real", type=Path, help="real photos: CSV photo,item_id[,x1,y1,x2,y2] or <item_id>/ folders")
    parser.add_argument("--pool", choices=("eval", "dev"), default="eval",
                        help="background photos of the synthetic queries: eval (the figures to report) or dev "
                             "(for choosing settings; default: %(default)s)")
    parser.add_argument("--backgrounds", type=Path, help="extra background photos for that pool (a folder)")
    parser.add_argument("--seed", type=int, default=1, help="photo seed (training uses others)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--localiser", default=settings.localiser, help="name, auto or none (default: %(default)s)")
    parser.add_argument("--no-localiser", action="store_true", help="search whole photos (same as --localiser none)")
    cli.add_threads(parser)
    cli.add_device(parser, settings)
    cli.add_allow_random_weights(parser, settings)
    parser.add_argument("--out", type=Path, help="write JSON here and the table beside it as .md")
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = build_parser(settings).parse_args(argv)
    cli.apply_threads(args.threads)
    settings = cli.with_data_dir(
        settings, args, embedders=cli.names(args.embedders), metrics=cli.names(args.metrics),
        localiser="none" if args.no_localiser else args.localiser, device=args.device,
        allow_random_weights=args.allow_random_weights)
    engine = Engine.from_settings(settings)
    try:
        with CatalogStore(settings.catalog_path, create=False) as catalog:
            photos = list(synthetic_queries(catalog, args.photos, seed=args.seed, pool=args.pool,
                                            extra_backgrounds=args.backgrounds))
            own = list(own_image_queries(catalog, args.own, seed=args.seed)) if args.own else []
        real = real_queries(args.real) if args.real else []
        rows: list[PhotoScores] = []
        for variant in engine.variants():
            if photos:
                engine.search(photos[0].image, args.k, variant)  # warm-up: first-call allocations
            for source, queries in (("photo", photos), ("own-image", own), ("real", real)):
                if queries:
                    rows.append(score_photo_queries(engine, queries, variant, args.k, source))
            if args.clean:
                rows.append(clean_scores(engine, [q.item_id for q in photos[: args.clean]] or engine.catalog.ids()[: args.clean],
                                         variant, args.k))
            logger.info("%s done", variant)
    finally:
        engine.close()
    table = markdown(rows)
    print(table)
    if args.out:
        meta = {"localiser": settings.localiser, "pool": args.pool, "seed": args.seed, "photos": args.photos,
                "data_dir": args.data_dir}
        cli.write_json(args.out, {"meta": meta, "rows": [r.as_dict() for r in rows]}, table=table)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
