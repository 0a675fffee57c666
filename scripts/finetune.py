"""Transfer learning: a conv backbone + a new 4096-unit dense layer + softmax over the categories.

    python scripts/finetune.py --backbone efficientnet-lite0 --input-size 64 --name lite0-head
    python scripts/finetune.py --backbone small-cnn --from-scratch --input-size 28 --name small-cnn
    python scripts/finetune.py --backbone vgg16 --from-scratch --name vgg16-scratch   # the study's net

By default the pretrained conv layers are frozen (their features are cached once per image) and
only the new layers train; --from-scratch trains every layer from a random init (the only honest
choice for VGG-16 here: its ImageNet weights are not on this machine). Trains on the catalog's
"train" split, holding out --val-fraction for validation and early stopping. The result,
<data-dir>/models/<name>.pt, is the embedder `ft:<name>` (build its indexes with build_index.py).
"""
from __future__ import annotations

import argparse
import logging

from engine.catalog import CatalogStore
from engine.errors import EngineError
from engine.settings import Settings
from engine.training import FinetuneConfig, finetune
from scripts.lib import cli

logger = logging.getLogger("finetune")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--name", help="checkpoint name (default: <backbone>-head or <backbone>-scratch)")
    parser.add_argument("--backbone", default="vgg16", help="vgg16, efficientnet-lite0, small-cnn (default: %(default)s)")
    parser.add_argument("--input-size", type=int, help="input pixels (default: the backbone's own)")
    parser.add_argument("--hidden", type=int, default=4096, help="units of the new dense layer (default: %(default)s)")
    parser.add_argument("--from-scratch", action="store_true", help="train every layer from a random init")
    parser.add_argument("--top-categories", type=int, help="train on the N most common categories only")
    parser.add_argument("--epochs", type=int, default=10, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default: %(default)s)")
    parser.add_argument("--patience", type=int, default=3, help="early stopping patience in epochs")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="held-out share of the train split")
    parser.add_argument("--limit", type=int, help="use only N training items (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--resume", action="store_true", help="continue from <name>.resume if present")
    parser.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    cli.add_device(parser, settings)
    parser.add_argument("--workers", type=int, default=2, help="image-decoding processes")
    cli.add_allow_random_weights(parser, settings)
    cli.add_quiet(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = build_parser(settings).parse_args(argv)
    name = args.name or f"{args.backbone}-{'scratch' if args.from_scratch else 'head'}"
    config = FinetuneConfig(
        name=name, backbone=args.backbone, input_size=args.input_size, hidden=args.hidden,
        from_scratch=args.from_scratch, top_categories=args.top_categories, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, patience=args.patience, val_fraction=args.val_fraction,
        limit=args.limit, seed=args.seed, flip=not args.no_flip, allow_random=args.allow_random_weights,
    )
    settings = cli.with_data_dir(settings, args)
    try:
        with CatalogStore(settings.catalog_path, create=False) as catalog:
            result = finetune(config, catalog, settings.models_dir, device=args.device, resume=args.resume,
                              workers=args.workers, progress=not args.quiet)
    except (EngineError, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    summary = {"checkpoint": str(result.path), "embedder": f"ft:{name}", "val_acc": result.val_acc,
               "epochs": result.epochs, "frozen": result.frozen, "seconds": round(result.seconds, 1)}
    cli.print_json(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
