"""Train the catalog's photo model: a localiser (where is the product in the photo?) and a
photo-robust embedder (`ft:<name>`), on composites of the catalog's own items pasted onto the
*training* background photographs (Debian's mate-backgrounds and lomiri-wallpapers-16.04).

    python scripts/train_photo.py --name photo
    python scripts/build_index.py --embedders ft:photo
    DOPE_EMBEDDERS=ft:photo DOPE_LOCALISER=photo python -m bot.demo

Render + feature extraction dominate (about 10 minutes for 2,000 items on a 2-core CPU); the
heads train on cached features. Evaluate with scripts/evaluate_photos.py, which uses other
backgrounds and another photo style.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import fields

from engine.catalog import CatalogStore
from engine.settings import Settings
from engine.training.photo import PhotoTrainConfig, is_current, train_photo_model
from scripts.lib import cli

logger = logging.getLogger("train_photo")
TUNABLE = ("name", "rounds", "localiser_rounds", "dim", "epochs", "localiser_epochs", "localiser_width", "lr",
           "attribute_weight", "jitter",
           "seed", "workers", "threads")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    defaults = PhotoTrainConfig()
    for spec in fields(PhotoTrainConfig):
        if spec.name in TUNABLE:
            parser.add_argument(f"--{spec.name.replace('_', '-')}", type=type(getattr(defaults, spec.name)),
                                default=getattr(defaults, spec.name), help="default: %(default)s")
    cli.add_device(parser, settings)
    cli.add_allow_random_weights(parser, settings)
    parser.add_argument("--keep-views", action="store_true",
                        help="cache the rendered views' features in <data-dir>/cache/ (about 1.5 GB for 2,000 items): "
                             "a rerun with other head settings then skips rendering")
    parser.add_argument("--if-stale", action="store_true",
                        help="do nothing when models/<name>.pt was trained on this very catalog revision")
    cli.add_quiet(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    config = PhotoTrainConfig(**{name: getattr(args, name) for name in TUNABLE},
                              device=args.device, allow_random=args.allow_random_weights,
                              cache_dir=args.data_dir / "cache" if args.keep_views else None)
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        if args.if_stale and is_current(settings.models_dir / f"{config.name}.pt", catalog):
            logger.info("ft:%s is up to date with the catalog: not retraining", config.name)
            return 0
        result = train_photo_model(catalog, settings.models_dir, config, progress=not args.quiet)
    cli.print_json({"embedder": f"ft:{config.name}", "embedder_path": result.embedder_path,
                    "localiser_path": result.localiser_path, "scores": result.scores,
                    "seconds": {k: round(v, 1) for k, v in result.seconds.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
