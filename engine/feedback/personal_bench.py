"""Personal adapters as the issue states their goal: that user's P@5 with vs without their adapter,
and every other user's P@5 before vs after adapters exist, on held-out queries.

Adapters come from the product's own code (`fit_adapters`: cross-validated, served only when the
user's held-out votes back them), trained on votes cast on the base model's top-k for training
queries; every figure is measured on other catalog items as queries. Used by scripts/bench_personal.py.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.feedback.personal import UserAdapters, rerank
from engine.feedback.pipeline import fit_adapters
from engine.feedback.retrain import RetrainConfig, TrainingSet, pca_init
from engine.index import VariantIndex

Judge = Callable[[int, int, np.random.Generator], float]


@dataclass(frozen=True)
class BenchUser:
    user_id: int
    taste: str  # the labels this user judges by ("noisy": a coin flip, measured on colour)
    queries: int  # training queries (5 votes each)


def votes_of(user: BenchUser, judge: Judge, index: VariantIndex, features: np.ndarray,
             rows: np.ndarray, k: int, rng: np.random.Generator) -> TrainingSet:
    """The user votes on the base model's top-k for each of `rows` (catalog items as queries)."""
    found, _ = index.search(features[rows], k + 1)
    q, x, y, group = [], [], [], []
    for query, ids in zip(rows.tolist(), found):
        for item in [int(i) for i in ids if int(i) != query][:k]:
            q.append(features[query])
            x.append(features[item])
            y.append(judge(query, item, rng))
            group.append(user.user_id * 1_000_000 + query)
    n = len(y)
    return TrainingSet(torch.from_numpy(np.stack(q)), torch.from_numpy(np.stack(x)), torch.tensor(y),
                       np.full(n, user.user_id), np.asarray(group), np.asarray(rows).repeat(k)[:n])


def served_p_at_k(adapters: UserAdapters, user: int, index: VariantIndex, features: np.ndarray,
                  labels: np.ndarray, rows: np.ndarray, k: int, candidates: int) -> float:
    """What the bot would show this user for each held-out query: their re-rank if they have an
    adapter (bot/interleave.personal_matches), the base model's top-k otherwise."""
    hits = []
    for query in rows:
        ids, _ = index.search(features[query : query + 1], candidates + 1)
        ids = ids[0][ids[0] != query]
        if adapters.has(user):
            ids, _ = rerank(adapters.of(user), features[query], ids, index.vectors(ids.tolist()), k)
        hits.append(float((labels[ids[:k]] == labels[query]).mean()))
    return float(np.mean(hits))


def concat(sets: Sequence[TrainingSet]) -> TrainingSet:
    return TrainingSet(torch.cat([s.q for s in sets]), torch.cat([s.x for s in sets]), torch.cat([s.y for s in sets]),
                       np.concatenate([s.user for s in sets]), np.concatenate([s.group for s in sets]),
                       np.concatenate([s.query_item for s in sets]))


def measure(features: np.ndarray, labels: dict[str, np.ndarray], users: Sequence[BenchUser], *,
            config: RetrainConfig, held_out: int, k: int = 5, candidates: int = 200, noise: float = 0.0,
            seed: int = 0) -> list[dict[str, Any]]:
    """One row per user: votes, whether an adapter is served, held-out P@5 before and after adapters."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(features))
    test_rows, train_pool = order[:held_out], order[held_out:]  # no training query is ever measured
    index = VariantIndex.build(features, np.arange(len(features), dtype=np.int64), "l2")

    def judge_by(taste: str) -> Judge:
        def judge(query: int, item: int, r: np.random.Generator) -> float:
            if taste == "noisy":
                return float(r.choice([-1.0, 1.0]))
            same = 1.0 if labels[taste][item] == labels[taste][query] else -1.0
            return -same if noise and r.random() < noise else same
        return judge

    sets = [votes_of(u, judge_by(u.taste), index, features, rng.choice(train_pool, u.queries, replace=False), k, rng)
            for u in users]
    adapters, verdicts = fit_adapters(concat(sets), pca_init(features, config.dim), config)
    served, none = UserAdapters(adapters), UserAdapters({})
    rows = []
    for user, votes in zip(users, sets):
        truth = labels["colour" if user.taste == "noisy" else user.taste]
        before = served_p_at_k(none, user.user_id, index, features, truth, test_rows, k, candidates)
        after = served_p_at_k(served, user.user_id, index, features, truth, test_rows, k, candidates)
        verdict = verdicts.get(user.user_id, {})
        rows.append({"user": user.user_id, "taste": user.taste, "votes": len(votes), "adapter": served.has(user.user_id),
                     "held_out_queries_won_lost": f"{verdict.get('wins', '-')}/{verdict.get('losses', '-')}",
                     "p@5_without": before, "p@5_served": after, "change": after - before})
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The goal's two figures: adapted users' mean gain, and the largest cost to anyone else."""
    adapted = [r["change"] for r in rows if r["adapter"]]
    others = [r["change"] for r in rows if not r["adapter"]]
    return {"adapted_users": len(adapted), "adapted_mean_gain": float(np.mean(adapted)) if adapted else None,
            "adapted_min_gain": float(min(adapted)) if adapted else None,
            "other_users": len(others), "others_worst_cost": float(-min(others)) if others else None}
