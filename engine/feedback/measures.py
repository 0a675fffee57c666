"""Before/after figures for retraining: agreement with held-out votes, same-attribute precision@k.

`before_after` is what retraining reports (and stores in the checkpoint); the smaller measures are
shared with the adapters' cross-validation (engine.feedback.retrain).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.catalog.store import Item
from engine.embedders.projection import project
from engine.feedback.personal import UserAdapters
from engine.feedback.simulate import taste_value
from engine.index import brute_force_knn

if TYPE_CHECKING:
    from engine.feedback.retrain import TrainingSet


def squared_distances(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row-wise squared L2 distance between a vote's query and its match."""
    distances: np.ndarray = ((np.asarray(q) - np.asarray(x)) ** 2).sum(1)
    return distances


def query_wins(before: np.ndarray, after: np.ndarray, ranking: np.ndarray, group: np.ndarray) -> tuple[int, int]:
    """(queries whose (👍, 👎) pairs `after` orders right more often than `before`, queries where fewer).

    Counted per query, not per pair: the pairs of one query share their items, so they are not
    independent trials, and a sign test over pairs would find "significant" wins in random votes.
    """
    if not len(ranking):
        return 0, 0
    right_before = (before[ranking[:, 0]] < before[ranking[:, 1]]).astype(np.int64)
    right_after = (after[ranking[:, 0]] < after[ranking[:, 1]]).astype(np.int64)
    queries, index = np.unique(group[ranking[:, 0]], return_inverse=True)
    margin = np.bincount(index, weights=right_after - right_before, minlength=len(queries))
    return int((margin > 0).sum()), int((margin < 0).sum())


def vote_agreement(q: np.ndarray, x: np.ndarray, value: np.ndarray, group: np.ndarray) -> float:
    """Share of (👍, 👎) pairs of one query that the space orders right (ties count half)."""
    d = squared_distances(q, x)
    right = total = 0.0
    for g in np.unique(group):
        rows = group == g
        pos, neg = d[rows & (value > 0)], d[rows & (value < 0)]
        if len(pos) and len(neg):
            diff = neg[None, :] - pos[:, None]
            right += float((diff > 0).sum() + 0.5 * (diff == 0).sum())
            total += diff.size
    return right / total if total else float("nan")


def same_value_precision(
    space: np.ndarray, query_rows: np.ndarray, values: np.ndarray, k: int, query_space: np.ndarray | None = None
) -> tuple[float, float]:
    """(top-1 rate, precision@k) of neighbours sharing the query's value; the query row excluded.

    `space` holds every catalog item's vector; `query_space` (default: `space`) the queries' own
    vectors, for a per-user view of the queries.
    """
    if not len(query_rows):
        return float("nan"), float("nan")
    queries = (space if query_space is None else query_space)[query_rows]
    rows, _ = brute_force_knn(queries, space, "l2", k + 1)
    hits = []
    for q_row, found in zip(query_rows, rows):
        found = found[found != q_row][:k]
        hits.append(values[found] == values[q_row])
    hits_arr = np.asarray(hits)
    return float(hits_arr[:, 0].mean()), float(hits_arr.mean())


def user_view(adapters: UserAdapters, user: int, features: np.ndarray, weight: np.ndarray, bias: np.ndarray,
              appearance: np.ndarray | None = None) -> np.ndarray:
    """What `user` searches with: their adapter's space if they have one, else the global projection."""
    return adapters.transform(user, features, appearance) if adapters.has(user) else project(features, weight, bias)


def before_after(
    features: np.ndarray, weight: np.ndarray, bias: np.ndarray, adapters: UserAdapters, ids: np.ndarray,
    items: list[Item], test: TrainingSet, tastes: dict[int, str], k: int,
    train_queries: dict[int, set[int]], max_queries: int = 500, appearance: np.ndarray | None = None,
) -> dict[str, Any]:
    """Held-out figures: the global model's vote agreement, and per user their taste's and category
    precision on catalog items they never searched with (their adapter's view if they have one).

    `appearance`: the catalog's colour descriptors (rows of `ids`), for adapters that weigh colour.
    Adapters are judged on held-out votes by their own cross-validation (engine.feedback.retrain).
    """
    z = project(features, weight, bias)
    zq, zx = project(test.q.numpy(), weight, bias), project(test.x.numpy(), weight, bias)
    y, group = test.y.numpy(), test.group
    figures: dict[str, Any] = {"held_out_votes": len(test), "agreement": {
        "before": vote_agreement(test.q.numpy(), test.x.numpy(), y, group),
        "after_global": vote_agreement(zq, zx, y, group),
    }}
    categories = np.asarray([i.category for i in items], dtype=object)
    figures["users"] = {}
    for user in sorted(set(test.user.tolist()) | set(train_queries)):
        rows = held_out_queries(user, train_queries.get(user, set()), ids, max_queries)
        mine = user_view(adapters, user, features, weight, bias, appearance)
        entry: dict[str, Any] = {"queries": len(rows), "adapted": adapters.has(user), "taste": tastes.get(user)}
        for field_name in {"category", tastes.get(user, "category")}:
            values = categories if field_name == "category" else np.asarray([taste_value(i, field_name) for i in items], dtype=object)
            entry[field_name] = {
                "before": dict(zip(("nn", f"p@{k}"), same_value_precision(features, rows, values, k))),
                "after": dict(zip(("nn", f"p@{k}"), same_value_precision(mine, rows, values, k))),
            }
        figures["users"][user] = entry
    sample = np.arange(len(ids)) if len(ids) <= 2000 else np.random.default_rng(0).choice(len(ids), 2000, replace=False)
    figures["catalog_category"] = {
        "before": dict(zip(("nn", f"p@{k}"), same_value_precision(features, sample, categories, k))),
        "after_global": dict(zip(("nn", f"p@{k}"), same_value_precision(z, sample, categories, k))),
    }
    return figures


def queries_by_user(votes: TrainingSet) -> dict[int, set[int]]:
    """The catalog items each user searched with (so their figures use other queries)."""
    queries: dict[int, set[int]] = {}
    for user, item in zip(votes.user.tolist(), votes.query_item.tolist()):
        queries.setdefault(int(user), set()).add(int(item))
    return queries


def held_out_queries(user: int, seen: set[int], ids: np.ndarray, limit: int) -> np.ndarray:
    """Catalog rows this user never searched with in training (seeded sample of `limit`)."""
    rows = np.flatnonzero(~np.isin(ids, list(seen)))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(user).choice(rows, limit, replace=False))
    return rows
