"""Personal adapters at search time: re-rank base candidates, or one index per adapter?

    python scripts/bench_personal.py                 # 20k items, 1280-d base, 256-d adapters
    python scripts/bench_personal.py --quick         # CI-sized

Synthetic catalog with a known structure: each item has a category (strong in the base
features, as in an ImageNet backbone) and a colour (weak). A user's adapter projects onto the
colour directions, as retraining learns for a colour-judging user. For each mechanism:
  * rerank-C: the base l2 index's top C candidates, projected and re-ranked in the user's space;
  * per-adapter index: every item projected into the user's space and indexed (hnswlib);
the table gives query latency, the taste's P@5, recall@5 against the exact user-space top 5, and
the cost per adapted user (build seconds, bytes held). `choice` says which the bot uses.

Then the goal as the issue states it (engine.feedback.personal_bench): adapters *trained* by the
product's retraining code from votes on the base model's top 5 (--adapted colour users with
--train-queries queries each; --others users below the vote threshold, by category, and users
who vote at random), served as the bot serves them (re-ranking --serve-candidates); on
--held-out catalog items no one trained on: each adapted user's P@5 with vs without their adapter,
every other user's P@5 before vs after adapters exist.
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from engine.embedders.projection import project
from engine.feedback.personal import Adapter, rerank
from engine.feedback.personal_bench import BenchUser, measure, summary
from engine.feedback.retrain import RetrainConfig
from engine.index import VariantIndex, brute_force_knn
from scripts.lib import cli
from scripts.lib.benchmarking import Row, base_parser, markdown_table, report

logger = logging.getLogger("bench_personal")

COLUMNS = ["mechanism", "ms_per_query", "taste_p@5", "recall@5", "build_s_per_user", "bytes_per_user"]
GOAL_COLUMNS = ["user", "taste", "votes", "adapter", "held_out_queries_won_lost", "p@5_without", "p@5_served", "change"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_personal", __doc__)
    parser.add_argument("--n", type=int, default=20_000, help="catalog items (default: %(default)s)")
    parser.add_argument("--dim", type=int, default=1280, help="base feature dimension")
    parser.add_argument("--adapter-dim", type=int, default=256, help="adapter output dimension")
    parser.add_argument("--categories", type=int, default=11)
    parser.add_argument("--colours", type=int, default=12)
    parser.add_argument("--candidates", default="50,100,200,400", help="re-rank candidate set sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=2.0, help="per-dimension noise of the base features")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adapted", type=int, default=4, help="colour users who vote enough for an adapter")
    parser.add_argument("--train-queries", type=int, default=60, help="their training queries (5 votes each)")
    parser.add_argument("--others", type=int, default=2, help="users of each other kind: few votes, random votes")
    parser.add_argument("--min-user-votes", type=int, default=50, help="votes a user needs for an adapter")
    parser.add_argument("--held-out", type=int, default=300, help="catalog items measured, never trained on")
    parser.add_argument("--serve-candidates", type=int, default=200, help="candidates a served adapter re-ranks")
    parser.add_argument("--vote-noise", type=float, default=0.1, help="share of the taste users' votes flipped")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.dim, args.adapter_dim, args.queries, args.candidates = 1500, 64, 16, 30, "50,200"
        args.adapted, args.others, args.held_out = 2, 1, 100
    return args


def synthetic(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, colour labels, the colour user's W, b, category labels): category strong, colour weak."""
    rng = np.random.default_rng(args.seed)
    directions = rng.standard_normal((args.categories + args.colours, args.dim)).astype(np.float32)
    category = rng.integers(args.categories, size=args.n)
    colour = rng.integers(args.colours, size=args.n)
    features = (3.0 * directions[category] + 0.5 * directions[args.categories + colour]
                + args.noise * rng.standard_normal((args.n, args.dim)).astype(np.float32))
    colour_basis = directions[args.categories:]
    weight = rng.standard_normal((args.adapter_dim, args.colours)).astype(np.float32) @ colour_basis / args.dim
    return (features.astype(np.float32), colour, weight.astype(np.float32), np.zeros(args.adapter_dim, np.float32),
            category)


def precision(found: np.ndarray, query_row: int, labels: np.ndarray) -> float:
    return float((labels[found] == labels[query_row]).mean())


def run(args: argparse.Namespace) -> list[Row]:
    features, colour, weight, bias, _ = synthetic(args)
    ids = np.arange(args.n, dtype=np.int64)
    base = VariantIndex.build(features, ids, "l2")
    rng = np.random.default_rng(args.seed + 1)
    queries = rng.choice(args.n, size=args.queries, replace=False)
    started = time.perf_counter()
    mine = project(features, weight, bias)
    personal_index = VariantIndex.build(mine, ids, "l2")
    build = time.perf_counter() - started
    exact = {int(q): brute_force_knn(mine[q : q + 1], mine, "l2", 6)[0][0] for q in queries}
    exact = {q: rows[rows != q][:5] for q, rows in exact.items()}
    rows: list[Row] = []
    for size in [int(c) for c in args.candidates.split(",")]:
        hits, recall, started = [], [], time.perf_counter()
        for q in queries:
            cand, _ = base.search(features[q : q + 1], size + 1)
            cand = cand[0][cand[0] != q][:size]
            top, _ = rerank(Adapter(weight, bias), features[q], cand, base.vectors(cand.tolist()), 5)
            hits.append(precision(top, q, colour))
            recall.append(len(set(top.tolist()) & set(exact[int(q)].tolist())) / 5)
        rows.append({"mechanism": f"rerank-{size}", "ms_per_query": 1000 * (time.perf_counter() - started) / len(queries),
                     "taste_p@5": float(np.mean(hits)), "recall@5": float(np.mean(recall)),
                     "build_s_per_user": 0.0, "bytes_per_user": int(weight.nbytes + bias.nbytes)})
    hits, recall, started = [], [], time.perf_counter()
    for q in queries:
        found, _ = personal_index.search(mine[q : q + 1], 6)
        top = found[0][found[0] != q][:5]
        hits.append(precision(top, q, colour))
        recall.append(len(set(top.tolist()) & set(exact[int(q)].tolist())) / 5)
    rows.append({"mechanism": "per-adapter index", "ms_per_query": 1000 * (time.perf_counter() - started) / len(queries),
                 "taste_p@5": float(np.mean(hits)), "recall@5": float(np.mean(recall)), "build_s_per_user": build,
                 "bytes_per_user": int(mine.nbytes + weight.nbytes + bias.nbytes)})
    base_hits = [precision(base.search(features[q : q + 1], 6)[0][0][1:6], q, colour) for q in queries]
    rows.append({"mechanism": "base model (no adapter)", "taste_p@5": float(np.mean(base_hits))})
    return rows


def goal(args: argparse.Namespace) -> list[Row]:
    """Trained adapters, held-out queries: adapted users with vs without, others before vs after."""
    features, colour, _, _, category = synthetic(args)
    users = [BenchUser(1 + n, "colour", args.train_queries) for n in range(args.adapted)]
    few = max(1, args.min_user_votes // 5 - 1)  # queries of 5 votes: stays below the threshold
    users += [BenchUser(100 + n, "category", few) for n in range(args.others)]
    users += [BenchUser(200 + n, "noisy", args.train_queries) for n in range(args.others)]
    config = RetrainConfig(dim=args.adapter_dim, min_user_votes=args.min_user_votes, seed=args.seed)
    return measure(features, {"colour": colour, "category": category}, users, config=config,
                   held_out=args.held_out, candidates=args.serve_candidates, noise=args.vote_noise, seed=args.seed + 2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    rows = run(args)
    goal_rows = goal(args)
    title = f"personal adapters: {args.n} items, {args.dim}-d base, {args.adapter_dim}-d adapters"
    report(args.out, "personal", rows, COLUMNS, title, args=vars(args), goal=goal_rows, goal_summary=summary(goal_rows))
    print("\ntrained adapters, held-out queries (P@5 by each user's taste; noisy users measured on colour):\n")
    print(markdown_table(goal_rows, GOAL_COLUMNS))
    print(f"\n{summary(goal_rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
