"""How many votes does interleaving need? Power and false-promotion rate of the promotion rule.

    python scripts/simulate_interleaving.py --data-dir data/loop      # a catalog indexed by build_index.py
    python scripts/simulate_interleaving.py --quick                    # CI-sized, synthetic features

Each simulated search takes a catalog item as the photo; the champion's ranking is the base
embedder's top-k (the item itself excluded). Two comparisons, each repeated --runs times with
new users and photos, through the bot's own team-draft interleaving and promotion rule
(engine.feedback.interleaving), judged by colour-taste users (a vote is flipped with --noise):
  * better: a challenger that re-sorts the champion's top --pool candidates by the catalog's
    ground-truth colour (same colour first): how many votes until the sign test says p < 0.05?
  * identical: the champion against a copy of itself: how often would it be promoted anyway?
"""
from __future__ import annotations

import argparse
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np

from engine.catalog import CatalogStore
from engine.embedders import load_embedder
from engine.feedback.interleaving import decide, sign_test_p, tally, team_draft
from engine.index import brute_force_knn
from engine.ingest import embed_catalog
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger("simulate_interleaving")


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data/loop"), help="default: %(default)s")
    parser.add_argument("--embedder", default="efficientnet-lite0", help="the champion (default: %(default)s)")
    parser.add_argument("--k", type=int, default=5, help="matches per album (default: %(default)s)")
    parser.add_argument("--pool", type=int, default=50, help="candidates the better ranking re-sorts")
    parser.add_argument("--min-comparisons", type=int, default=30, help="decided albums of the sign test")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--noise", type=float, default=0.1, help="share of votes flipped")
    parser.add_argument("--runs", type=int, default=20, help="repeated simulations of each comparison")
    parser.add_argument("--max-albums", type=int, default=200, help="give up a run after this many albums")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="synthetic features, no catalog needed")
    return parser


def rankings(features: np.ndarray, colours: np.ndarray, k: int, pool: int) -> tuple[np.ndarray, np.ndarray]:
    """(champion top-k, colour-aware top-k) rows for every catalog row as the query."""
    rows, _ = brute_force_knn(features, features, "l2", pool + 1)
    champion, better = [], []
    for query, found in enumerate(rows):
        found = found[found != query][:pool]
        champion.append(found[:k])
        same = colours[found] == colours[query]
        better.append(np.concatenate([found[same], found[~same]])[:k])  # stable: base order within
    return np.asarray(champion), np.asarray(better)


def run_once(a: np.ndarray, b: np.ndarray, colours: np.ndarray, args: argparse.Namespace,
             rng: random.Random) -> dict[str, Any]:
    """Interleave until the rule decides; votes counted as in the bot (one per shown match)."""
    scores, votes = [], 0
    for _ in range(args.max_albums):
        query = rng.randrange(len(a))
        album = team_draft(a[query].tolist(), b[query].tolist(), args.k, rng)
        score = [0, 0]
        for item, team in album:
            value = 1 if colours[item] == colours[query] else -1
            if rng.random() < args.noise:
                value = -value
            score[team] += value
            votes += 1
        scores.append((score[0], score[1]))
        decision = decide(scores, min_comparisons=args.min_comparisons, alpha=args.alpha)
        if decision.action != "wait":
            return {"action": decision.action, "votes": votes, "albums": len(scores), "p": decision.p_value,
                    "wins": decision.tally.wins, "losses": decision.tally.losses}
    result = tally(scores)
    return {"action": "undecided", "votes": votes, "albums": len(scores),
            "p": sign_test_p(result.wins, result.losses), "wins": result.wins, "losses": result.losses}


def load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Catalog features of the champion (from the ingestion cache) and ground-truth colours."""
    if args.quick:
        rng = np.random.default_rng(args.seed)
        colours = rng.integers(8, size=400)
        features = rng.standard_normal((400, 32)).astype(np.float32) + 0.3 * np.eye(8, 32)[colours]
        return features, colours
    settings = Settings(_env_file=None, data_dir=args.data_dir)
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        embedder = load_embedder(args.embedder, "cpu")
        run = embed_catalog(catalog, embedder, settings.embeddings_dir, progress=False)
        items = catalog.get_many(run.ids.tolist())
        names = [items[int(i)].attributes.get("colour", "") for i in run.ids.tolist()]
    lookup = {name: n for n, name in enumerate(sorted(set(names)))}
    return run.features, np.asarray([lookup[n] for n in names])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    votes = sorted(r["votes"] for r in runs)
    return {"runs": len(runs), "promoted": sum(r["action"] == "promote" for r in runs),
            "retired": sum(r["action"] == "retire" for r in runs),
            "undecided": sum(r["action"] == "undecided" for r in runs),
            "votes_median": votes[len(votes) // 2], "votes_max": votes[-1],
            "p_median": sorted(r["p"] for r in runs)[len(runs) // 2]}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.runs, args.min_comparisons = 4, 10
    features, colours = load(args)
    champion, better = rankings(features, colours, args.k, args.pool)
    rng = random.Random(args.seed)
    report = {
        "better": summarise([run_once(champion, better, colours, args, rng) for _ in range(args.runs)]),
        "identical": summarise([run_once(champion, champion.copy(), colours, args, rng) for _ in range(args.runs)]),
        "settings": {"k": args.k, "min_comparisons": args.min_comparisons, "alpha": args.alpha,
                     "noise": args.noise, "items": len(colours), "embedder": None if args.quick else args.embedder},
    }
    report["better"]["same_colour_p@k"] = float((colours[better] == colours[:, None]).mean())
    report["identical"]["same_colour_p@k"] = float((colours[champion] == colours[:, None]).mean())
    cli.print_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
