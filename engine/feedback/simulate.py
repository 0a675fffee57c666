"""Simulated users with a known taste vote on the current model's results, like real ones would.

A user judges matches by one ground-truth field of the catalog (category, or an attribute such
as colour or pattern): 👍 when the match shares the query's value, 👎 otherwise (flipped with
probability `noise`). Queries are catalog items, so `query_item_id` is set and `query_vector` is
the query's feature. Everything is written through `votes.VoteStore` (the bot's writer).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from votes.store import VoteStore
from engine.catalog.store import Item
from engine.index.backends import SearchIndex

logger = logging.getLogger(__name__)

TASTES = ("category", "colour", "pattern")


@dataclass(frozen=True)
class SimulatedUser:
    user_id: int
    taste: str  # "category" or an attribute name
    noise: float = 0.0

    def judge(self, query: Item, match: Item, rng: np.random.Generator) -> int:
        """+1 when the match shares the query's value of this user's field, else -1."""
        same = taste_value(query, self.taste) == taste_value(match, self.taste) != ""
        value = 1 if same else -1
        return -value if self.noise and rng.random() < self.noise else value


def taste_value(item: Item, taste: str) -> str:
    return item.category if taste == "category" else item.attributes.get(taste, "")


@dataclass
class SimulationReport:
    queries: int = 0
    votes: int = 0
    up: int = 0
    game_pairs: int = 0
    per_user: dict[int, dict[str, int]] = field(default_factory=dict)


def make_users(tastes: Sequence[str], *, first_id: int = 1001, noise: float = 0.0) -> list[SimulatedUser]:
    unknown = [t for t in tastes if t not in TASTES]
    if unknown:
        raise ValueError(f"unknown tastes {unknown}; choose from {TASTES}")
    return [SimulatedUser(first_id + i, taste, noise) for i, taste in enumerate(tastes)]


def neighbours(index: SearchIndex, vector: np.ndarray, item_id: int, k: int) -> list[tuple[int, float]]:
    """The k nearest catalog items to `vector`, the query item itself excluded."""
    ids, dists = index.search(vector[None, :], k + 1)
    pairs = [(int(i), float(d)) for i, d in zip(ids[0], dists[0]) if int(i) != item_id]
    return pairs[:k]


async def simulate_votes(
    store: VoteStore,
    users: Sequence[SimulatedUser],
    items: dict[int, Item],
    ids: np.ndarray,
    features: np.ndarray,
    index: SearchIndex,
    *,
    variant: str,
    embedder: str,
    queries_per_user: int = 200,
    k: int = 5,
    game_pairs_per_user: int = 0,
    seed: int = 0,
    progress: bool = True,
) -> SimulationReport:
    """Every user runs `queries_per_user` catalog items as queries and votes on all k matches."""
    report = SimulationReport()
    for user in tqdm(users, desc="simulated users", disable=not progress):
        rng = np.random.default_rng([seed, user.user_id])
        picks = rng.choice(len(ids), size=min(queries_per_user, len(ids)), replace=False)
        stats = {"queries": 0, "up": 0, "down": 0, "game": 0}
        for row in picks:
            query_id = int(ids[row])
            matches = neighbours(index, features[row], query_id, k)
            _, shown_ids = await store.record_query(
                user.user_id, variant, embedder, matches, query_item_id=query_id, query_vector=features[row])
            for shown_id, (item_id, _) in zip(shown_ids, matches):
                value = user.judge(items[query_id], items[item_id], rng)
                await store.record_vote(user.user_id, value, shown_id=shown_id)
                stats["up" if value > 0 else "down"] += 1
            stats["queries"] += 1
        for _ in range(game_pairs_per_user):
            row = int(rng.integers(len(ids)))
            item_a = int(ids[row])
            item_b, distance = neighbours(index, features[row], item_a, k)[int(rng.integers(k))]
            pair_id = await store.record_game_pair(user.user_id, variant, item_a, item_b, distance)
            value = user.judge(items[item_a], items[item_b], rng)
            await store.record_vote(user.user_id, value, pair_id=pair_id)
            stats["game"] += 1
            stats["up" if value > 0 else "down"] += 1
        report.per_user[user.user_id] = stats
        report.queries += stats["queries"]
        report.game_pairs += stats["game"]
        report.up += stats["up"]
        report.votes += stats["up"] + stats["down"]
    return report


def tastes_path(votes_path: Path) -> Path:
    """Where the simulated users' tastes are written, beside the votes database."""
    return votes_path.with_name(votes_path.stem + ".tastes.json")


def write_tastes(path: Path, users: Sequence[SimulatedUser]) -> None:
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update({str(u.user_id): asdict(u) for u in users})
    path.write_text(json.dumps(known, indent=2, sort_keys=True))


def read_tastes(path: Path) -> dict[int, str]:
    """user id → taste, from a file `write_tastes` made ({} when there is none)."""
    if not path.exists():
        return {}
    return {int(uid): entry["taste"] for uid, entry in json.loads(path.read_text()).items()}
