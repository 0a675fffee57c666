"""Simulated users with a known taste vote on the current model's results (into the votes DB).

    python scripts/simulate_votes.py --users pattern,colour,category,category --queries 200

Each user runs --queries catalog items as queries through the variant's index (built by
build_index.py; built in memory if absent), sees the top --k matches (the query itself excluded)
and votes 👍 when a match shares their field (category, colour or pattern) with the query, 👎
otherwise (--noise flips a share of votes). Votes go through the bot's VoteStore into
<data-dir>/votes.sqlite; the users' tastes are written beside it (votes.tastes.json) so
retrain.py can report per-taste figures.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from contextlib import closing
from pathlib import Path
from typing import Any

from votes.store import VoteStore
from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.errors import EngineError
from engine.feedback.simulate import make_users, simulate_votes, tastes_path, write_tastes
from engine.index import VariantIndex
from engine.index.backends import open_backend
from engine.ingest import embed_catalog
from engine.search import load_variant_indexes
from engine.settings import Settings
from engine.variants import Variant
from scripts.lib import cli

logger = logging.getLogger("simulate_votes")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--variant", default="efficientnet-lite0/l2", help="results users see (default: %(default)s)")
    parser.add_argument("--users", default="pattern,colour,category,category",
                        help="one taste per simulated user: category, colour, pattern (default: %(default)s)")
    parser.add_argument("--first-user-id", type=int, default=1001)
    parser.add_argument("--queries", type=int, default=200, help="queries per user (default: %(default)s)")
    parser.add_argument("--k", type=int, default=5, help="matches shown per query (default: %(default)s)")
    parser.add_argument("--game-pairs", type=int, default=0, help="/play rounds per user (default: 0)")
    parser.add_argument("--noise", type=float, default=0.0, help="share of votes flipped (default: 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--votes", type=Path, help="votes database (default: <data-dir>/votes.sqlite)")
    parser.add_argument("--input-size", type=int, help="input size of a built-in embedder")
    cli.add_device(parser, settings)
    cli.add_allow_random_weights(parser, settings)
    cli.add_quiet(parser)
    return parser


async def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    variant = Variant.parse(args.variant)
    users = make_users(cli.names(args.users),
                       first_id=args.first_user_id, noise=args.noise)
    votes_path = args.votes or settings.votes_path
    with CatalogStore(settings.catalog_path, create=False) as catalog, closing(open_backend(settings)) as backend:
        embedder = load_embedder(variant.embedder, args.device, models_dir=settings.models_dir,
                                 allow_random=args.allow_random_weights, input_size=args.input_size)
        run_ = embed_catalog(catalog, embedder, settings.embeddings_dir, progress=not args.quiet)
        index = load_variant_indexes(embedder, catalog, backend, [variant.metric]).get(str(variant))
        if index is None:
            logger.warning("no saved index for %s: searching an in-memory one", variant)
            index = VariantIndex.build(run_.features, run_.ids, variant.metric)
        items = catalog.get_many(run_.ids.tolist())
    store = VoteStore(votes_path)
    await store.initialize()
    try:
        report = await simulate_votes(
            store, users, items, run_.ids, run_.features, index, variant=str(variant), embedder=embedder.name,
            queries_per_user=args.queries, k=args.k, game_pairs_per_user=args.game_pairs, seed=args.seed,
            progress=not args.quiet)
    finally:
        await store.shutdown()
    write_tastes(tastes_path(votes_path), users)
    return {"votes_db": str(votes_path), "queries": report.queries, "votes": report.votes, "up": report.up,
            "game_pairs": report.game_pairs, "users": {u.user_id: u.taste for u in users},
            "per_user": report.per_user}


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    try:
        summary = asyncio.run(run(args, settings))
    except (EngineError, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    cli.print_json(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
