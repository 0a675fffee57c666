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
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from engine.embedders.projection import project
from engine.feedback.personal import rerank
from engine.index import VariantIndex, brute_force_knn
from scripts.lib import cli
from scripts.lib.benchmarking import Row, base_parser, report

logger = logging.getLogger("bench_personal")

COLUMNS = ["mechanism", "ms_per_query", "taste_p@5", "recall@5", "build_s_per_user", "bytes_per_user"]


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
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.dim, args.adapter_dim, args.queries, args.candidates = 1500, 64, 16, 30, "50,200"
    return args


def synthetic(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, colour labels, the colour user's W, b): category strong, colour weak, plus noise."""
    rng = np.random.default_rng(args.seed)
    directions = rng.standard_normal((args.categories + args.colours, args.dim)).astype(np.float32)
    category = rng.integers(args.categories, size=args.n)
    colour = rng.integers(args.colours, size=args.n)
    features = (3.0 * directions[category] + 0.5 * directions[args.categories + colour]
                + args.noise * rng.standard_normal((args.n, args.dim)).astype(np.float32))
    colour_basis = directions[args.categories:]
    weight = rng.standard_normal((args.adapter_dim, args.colours)).astype(np.float32) @ colour_basis / args.dim
    return features.astype(np.float32), colour, weight.astype(np.float32), np.zeros(args.adapter_dim, np.float32)


def precision(found: np.ndarray, query_row: int, labels: np.ndarray) -> float:
    return float((labels[found] == labels[query_row]).mean())


def run(args: argparse.Namespace) -> list[Row]:
    features, colour, weight, bias = synthetic(args)
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
            top, _ = rerank((weight, bias), features[q], cand, base.vectors(cand.tolist()), 5)
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    rows = run(args)
    title = f"personal adapters: {args.n} items, {args.dim}-d base, {args.adapter_dim}-d adapters"
    return report(args.out, "personal", rows, COLUMNS, title, args=vars(args))


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
