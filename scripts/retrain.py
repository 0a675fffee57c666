"""Retrain the embedding from 👍/👎 votes: a learned projection (+ per-user adapters) on a base embedder.

    python scripts/retrain.py --name votes-proj            # then: ft:votes-proj is an embedder

Reads <data-dir>/votes.sqlite read-only, holds out --holdout of the queries, trains a linear
projection of the base embedder's features (the one the votes were cast on) with the voted
pairs and the catalog's categories, fits a residual adapter for each user with at least
--min-user-votes votes, writes <data-dir>/models/<name>.pt (kind "projection"), rebuilds the
indexes of ft:<name>, and prints before/after figures on the held-out votes. Refuses (exit 2)
with fewer than --min-votes votes. With --as-challenger (e.g. from cron) the new model enters
the model registry as challenger: the running bot loads it without a restart and judges it
against the champion by interleaving.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from contextlib import closing
from pathlib import Path

from engine.catalog import CatalogStore
from engine.index.backends import open_backend
from engine.errors import EngineError
from engine.feedback.challenger import enter_as_challenger, timestamped_name
from engine.feedback.pipeline import RetrainOutcome, RetrainPaths, retrain_from_votes
from engine.feedback.retrain import NotEnoughVotes, RetrainConfig
from engine.feedback.simulate import read_tastes, tastes_path
from engine.settings import Settings
from votes import ModelRegistry, VoteStore, VoteStoreError
from scripts.lib import cli

logger = logging.getLogger("retrain")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--votes", type=Path, help="votes database (default: <data-dir>/votes.sqlite)")
    parser.add_argument("--name", help="checkpoint name → ft:<name> (default: votes-proj; with --as-challenger "
                        "a fresh votes-<UTC time>)")
    parser.add_argument("--as-challenger", action="store_true",
                        help="register the new model in the votes database's registry as the challenger (or a "
                        "candidate when one is being judged); the running bot picks it up and interleaves it")
    parser.add_argument("--base", help="base embedder (default: the one most votes were cast on)")
    parser.add_argument("--input-size", type=int, help="input size of the base embedder")
    parser.add_argument("--dim", type=int, default=256, help="projected dimension (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=400, help="training steps (default: %(default)s)")
    parser.add_argument("--category-weight", type=float, default=1.0, help="weight of the category loss")
    parser.add_argument("--min-votes", type=int, default=50, help="refuse below this (default: %(default)s)")
    parser.add_argument("--min-user-votes", type=int, default=50, help="per-user adapter from this many votes")
    parser.add_argument("--holdout", type=float, default=0.2, help="share of queries held out")
    parser.add_argument("--metrics", default="l2,cosine", help="indexes to build (default: %(default)s)")
    parser.add_argument("--tastes", type=Path, help="simulated users' tastes (default: beside the votes)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    cli.add_device(parser, settings)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    cli.add_quiet(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    votes = args.votes or settings.votes_path
    config = RetrainConfig(
        name=args.name or (timestamped_name() if args.as_challenger else "votes-proj"), base=args.base,
        input_size=args.input_size, device=args.device, min_votes=args.min_votes, holdout=args.holdout,
        metrics=tuple(cli.metric_names(args.metrics)), k=args.k, tastes=read_tastes(args.tastes or tastes_path(votes)),
        progress=not args.quiet, dim=args.dim, steps=args.steps, category_weight=args.category_weight,
        min_user_votes=args.min_user_votes, seed=args.seed)
    try:
        with CatalogStore(settings.catalog_path, create=False) as catalog, closing(open_backend(settings)) as indexes:
            outcome = retrain_from_votes(catalog, RetrainPaths.from_settings(settings, indexes, votes), config)
    except NotEnoughVotes as exc:
        logger.error("refusing to retrain: %s", exc)
        print(f"refusing to retrain: {exc}")
        return 2
    except (EngineError, VoteStoreError, FileNotFoundError, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    stage = asyncio.run(register(votes, outcome)) if args.as_challenger else None
    summary = {"embedder": outcome.embedder, "registered_as": stage, "checkpoint": str(outcome.checkpoint),
               "train_votes": outcome.train_votes, "held_out_votes": outcome.held_out_votes,
               "adapted_users": outcome.adapted_users, "figures": outcome.figures}
    cli.print_json(summary, args.out)
    return 0


async def register(votes: Path, outcome: RetrainOutcome) -> str:
    """Enter the new model in the registry through the votes package's writer."""
    store = VoteStore(votes)
    await store.initialize()
    try:
        return await enter_as_challenger(ModelRegistry(store), outcome)
    finally:
        await store.shutdown()


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
