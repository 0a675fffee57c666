"""VoteReader: the votes database opened read-only (plain sqlite3), for retraining and scripts.

It selects from the same joins as the bot's `VoteStore` (votes.sql), so both read one meaning of
a vote. A search vote becomes (query vector, shown item, ±1); a game vote becomes
(item_a, item_b, ±1), whose "query vector" is item_a's catalog feature.

    with VoteReader(settings.votes_path) as reader:
        pairs = reader.vote_pairs()
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from votes.schema import MIGRATIONS
from votes.sql import GAME_VOTES, SEARCH_VOTES
from votes.store import VoteStoreError

logger = logging.getLogger(__name__)


class VotesNotFound(VoteStoreError, FileNotFoundError):
    """There is no votes database at the given path."""


class SchemaTooOld(VoteStoreError):
    """The file predates the schema this code reads: let the bot (VoteStore) migrate it first."""


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
    query_appearances: list[np.ndarray | None]  # the stored colour descriptor (None: use query_item's)

    def __len__(self) -> int:
        return len(self.value)

    def subset(self, mask: np.ndarray) -> VotePairs:
        rows = np.flatnonzero(mask)
        return VotePairs(self.user[rows], self.group[rows], self.query_item[rows], self.item[rows],
                         self.value[rows], [self.query_vectors[r] for r in rows],
                         [self.variants[r] for r in rows], [self.embedders[r] for r in rows],
                         [self.query_appearances[r] for r in rows])


class VoteReader:
    """Read-only access to a votes database; never creates, migrates or writes the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise VotesNotFound(f"No votes database at {self.path}")
        self._db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True)
        self._db.row_factory = sqlite3.Row
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version < len(MIGRATIONS):
            self._db.close()
            raise SchemaTooOld(f"{self.path} is at schema version {version}, this code reads "
                               f"{len(MIGRATIONS)}: start the bot once (it migrates) and retry")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VoteReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def search_votes(self) -> list[sqlite3.Row]:
        """Every vote on a shown match (columns of votes.sql.SEARCH_VOTES), by query then rank."""
        return self._db.execute(f"SELECT * FROM ({SEARCH_VOTES}) ORDER BY query_id, rank").fetchall()

    def game_votes(self) -> list[sqlite3.Row]:
        """Every vote on a /play pair (columns of votes.sql.GAME_VOTES), by pair."""
        return self._db.execute(f"SELECT * FROM ({GAME_VOTES}) ORDER BY pair_id").fetchall()

    def vote_pairs(self, *, include_game: bool = True) -> VotePairs:
        """Every vote as training pairs (search votes first, then game votes)."""
        search = self.search_votes()
        game = self.game_votes() if include_game else []
        # one tuple per vote: (user, group, query item, item, value, vector, variant, embedder, colour)
        rows: list[tuple[int, int, int, int, int, np.ndarray | None, str, str, np.ndarray | None]] = [
            (r["user_id"], r["query_id"], -1 if r["query_item_id"] is None else r["query_item_id"], r["item_id"],
             r["value"], _floats(r["query_vector"]), r["variant"], r["embedder"], _floats(r["query_appearance"]))
            for r in search
        ] + [
            (r["user_id"], -r["pair_id"], r["item_a"], r["item_b"], r["value"], None, r["variant"],
             r["variant"].rpartition("/")[0], None)
            for r in game
        ]
        user, group, query_item, item, value = ([row[n] for row in rows] for n in range(5))
        vectors, colours = [row[5] for row in rows], [row[8] for row in rows]
        variants, embedders = [row[6] for row in rows], [row[7] for row in rows]
        logger.info("read %d search votes and %d game votes from %s", len(search), len(game), self.path)
        return VotePairs(np.asarray(user, np.int64), np.asarray(group, np.int64),
                         np.asarray(query_item, np.int64), np.asarray(item, np.int64),
                         np.asarray(value, np.float32), vectors, variants, embedders, colours)


def _floats(blob: bytes | None) -> np.ndarray | None:
    """A float32 vector stored as raw bytes (None or empty: not recorded)."""
    return np.frombuffer(blob, dtype=np.float32) if blob else None


def read_votes(path: str | Path, *, include_game: bool = True) -> VotePairs:
    """Every vote in the database at `path`, as training pairs (opened read-only)."""
    with VoteReader(path) as reader:
        return reader.vote_pairs(include_game=include_game)
