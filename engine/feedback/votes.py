"""Read the bot's votes database (read-only, plain sqlite3) into training pairs.

The schema is bot/votes/schema.py's. A search vote becomes (query vector, shown item, ±1); a game
vote becomes (item_a, item_b, ±1), whose "query vector" is item_a's feature.
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SEARCH_VOTES_SQL = """
SELECT v.user_id, q.query_id, q.variant, q.embedder, q.query_item_id, q.query_vector,
       s.item_id, s.rank, v.value
FROM votes v JOIN shown s ON s.shown_id = v.shown_id JOIN queries q ON q.query_id = s.query_id
ORDER BY q.query_id, s.rank
"""
GAME_VOTES_SQL = """
SELECT v.user_id, g.pair_id, g.variant, g.item_a, g.item_b, v.value
FROM votes v JOIN game_pairs g ON g.pair_id = v.pair_id ORDER BY g.pair_id
"""


@dataclass
class VotePairs:
    """Parallel arrays, one entry per vote. `group` ties votes of one query (game: one pair each)."""

    user: np.ndarray  # int64
    group: np.ndarray  # int64: query_id for search votes, -pair_id for game votes
    query_item: np.ndarray  # int64, -1 when the query was a user's own photo
    item: np.ndarray  # int64
    value: np.ndarray  # float32 ±1
    query_vectors: list[np.ndarray | None]  # the stored feature (None: use query_item's)
    variants: list[str]
    embedders: list[str]

    def __len__(self) -> int:
        return len(self.value)

    def subset(self, mask: np.ndarray) -> VotePairs:
        rows = np.flatnonzero(mask)
        return VotePairs(self.user[rows], self.group[rows], self.query_item[rows], self.item[rows],
                         self.value[rows], [self.query_vectors[r] for r in rows],
                         [self.variants[r] for r in rows], [self.embedders[r] for r in rows])


def read_votes(path: Path, *, include_game: bool = True) -> VotePairs:
    """Every vote in the database at `path`, opened read-only."""
    if not Path(path).exists():
        raise FileNotFoundError(f"No votes database at {path}")
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        search = db.execute(SEARCH_VOTES_SQL).fetchall()
        game = db.execute(GAME_VOTES_SQL).fetchall() if include_game else []
    finally:
        db.close()
    user, group, query_item, item, value, vectors, variants, embedders = ([] for _ in range(8))
    for uid, qid, variant, embedder, q_item, blob, item_id, _rank, val in search:
        user.append(uid), group.append(qid), query_item.append(-1 if q_item is None else q_item)
        item.append(item_id), value.append(val), variants.append(variant), embedders.append(embedder)
        vectors.append(np.frombuffer(blob, dtype=np.float32) if blob else None)
    for uid, pair_id, variant, item_a, item_b, val in game:
        user.append(uid), group.append(-pair_id), query_item.append(item_a), item.append(item_b)
        value.append(val), variants.append(variant), embedders.append(variant.rpartition("/")[0])
        vectors.append(None)
    logger.info("read %d search votes and %d game votes from %s", len(search), len(game), path)
    return VotePairs(np.asarray(user, np.int64), np.asarray(group, np.int64), np.asarray(query_item, np.int64),
                     np.asarray(item, np.int64), np.asarray(value, np.float32), vectors, variants, embedders)


def held_out_mask(pairs: VotePairs, fraction: float, seed: int) -> np.ndarray:
    """True for votes whose query (group) is held out: whole queries, never half of one."""
    groups = np.unique(pairs.group)
    rng = np.random.default_rng(seed)
    chosen = groups[rng.random(len(groups)) < fraction]
    return np.isin(pairs.group, chosen)
