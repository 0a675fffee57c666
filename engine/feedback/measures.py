"""Before/after figures for retraining: agreement with held-out votes, same-attribute precision@k."""
from __future__ import annotations

import numpy as np

from engine.index import brute_force_knn


def squared_distances(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row-wise squared L2 distance between a vote's query and its match."""
    return ((np.asarray(q) - np.asarray(x)) ** 2).sum(1)


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
