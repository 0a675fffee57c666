"""VoteStore: the one owner of the votes database (aiosqlite, one SQLite file, WAL, foreign keys).

Every write goes through one asyncio lock and one explicit transaction, so concurrent handlers
never interleave half-written queries. SQL is parameterised only. Migrations come from
`votes.schema.MIGRATIONS`; each is applied together with its record (`PRAGMA user_version`)
in one transaction, so a crash never leaves a half-migrated file.

    store = VoteStore(settings.votes_path)
    await store.initialize()
    query_id, shown_ids = await store.record_query(user_id, variant, embedder, [(item_id, distance)])
    outcome = await store.record_vote(user_id, +1, shown_id=shown_ids[0])
    await store.shutdown()
"""
from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite
import numpy as np

from votes.schema import MIGRATIONS
from votes.sql import GAME_VOTES, SEARCH_VOTES

logger = logging.getLogger(__name__)


class VoteStoreError(Exception):
    """Base class of the store's named errors."""


class UnknownTarget(VoteStoreError):
    """The shown match or game pair a vote names does not exist (forged, stale or forgotten)."""


class NotYourVote(VoteStoreError):
    """The target exists but was shown to another user."""


class VoteOutcome(str, enum.Enum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ShownVote:
    """One match of a query with the user's current vote on it (None: not voted)."""

    shown_id: int
    rank: int
    item_id: int
    distance: float
    value: int | None


@dataclass(frozen=True)
class GamePair:
    pair_id: int
    user_id: int
    variant: str
    item_a: int
    item_b: int
    distance: float
    value: int | None  # the owner's vote, if any


@dataclass(frozen=True)
class VoteCounts:
    """Votes on one variant from one source ("search" or "game")."""

    variant: str
    source: str
    up: int
    down: int


@dataclass(frozen=True)
class VoteRecord:
    """One of a user's votes, as exported: kind is "search" or "game"."""

    vote_id: int
    kind: str
    target_id: int
    variant: str
    item_id: int
    other_item_id: int | None
    rank: int | None
    distance: float
    value: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class UserStats:
    queries: int
    search_up: int
    search_down: int
    game_pairs: int
    game_up: int
    game_down: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class VoteStore:
    """Users, queries, shown matches, game pairs and votes in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    # --- lifecycle --------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Open the file (creating its folder), set pragmas and apply pending migrations."""
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write opens its own BEGIN.
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        await self._db.execute("PRAGMA foreign_keys = ON")
        await self._db.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            await self._db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit survives the process dying (kill -9) without an fsync each;
            # only a power cut can lose the last few. Commits are many (every update, every vote).
            await self._db.execute("PRAGMA synchronous = NORMAL")
        await self.migrate()

    async def shutdown(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("VoteStore.initialize() was not awaited")
        return self._db

    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the file's user_version; returns how many ran."""
        applied = 0
        async with self._write_lock:
            version = await self.schema_version()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # One script = one transaction: the schema change and its record commit together.
                try:
                    await self.db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {int(number)};\nCOMMIT;")
                except sqlite3.Error:
                    if self.db.in_transaction:
                        await self.db.rollback()
                    raise
                logger.info("votes database %s migrated to version %d", self.path, number)
                applied += 1
        return applied

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One writer at a time, in one transaction (rolled back on any error)."""
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.rollback()
                raise
            await self.db.commit()

    def transaction(self) -> "AbstractAsyncContextManager[aiosqlite.Connection]":
        """The store's one-writer transaction, for companions on the same file (votes.inbox)."""
        return self._transaction()

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Parameterised read (companions on the same file)."""
        return await self._fetchall(sql, params)

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        async with self.db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    # --- users ------------------------------------------------------------------------------
    async def ensure_user(self, user_id: int) -> None:
        async with self._transaction() as db:
            await _ensure_user(db, user_id)

    async def get_variant(self, user_id: int) -> str | None:
        row = await self._fetchone("SELECT variant FROM users WHERE user_id = ?", (user_id,))
        return row["variant"] if row else None

    async def set_variant(self, user_id: int, variant: str) -> None:
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            await db.execute("UPDATE users SET variant = ? WHERE user_id = ?", (variant, user_id))

    # --- queries and shown matches ----------------------------------------------------------
    async def record_query(
        self,
        user_id: int,
        variant: str,
        embedder: str,
        matches: Sequence[tuple[int, float]],
        *,
        photo_sha256: str | None = None,
        file_id: str | None = None,
        query_item_id: int | None = None,
        query_vector: np.ndarray | None = None,
        query_appearance: np.ndarray | None = None,
        model_version: str | None = None,
        credit: Sequence[str] | None = None,
        interleaving: tuple[str, str] | None = None,
        update_id: int | None = None,
    ) -> tuple[int, list[int]]:
        """Store one search and the matches it showed (rank = position + 1).

        An interleaved album passes `interleaving` = (champion variant, challenger variant) and
        `credit`: for each match, the variant that contributed it. `update_id` (the Telegram update
        it answered) makes a replay find it: see `query_for_update`.
        """
        vector, colour = _vector_blob(query_vector), _vector_blob(query_appearance)
        if credit is not None and len(credit) != len(matches):
            raise ValueError(f"{len(credit)} credits for {len(matches)} matches")
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            cursor = await db.execute(
                "INSERT INTO queries (user_id, created_at, variant, embedder, photo_sha256, file_id,"
                " query_item_id, query_vector, query_appearance, model_version, update_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, _now(), variant, embedder, photo_sha256, file_id, query_item_id, vector, colour,
                 model_version, update_id),
            )
            query_id = int(cursor.lastrowid or 0)
            shown_ids = []
            for rank, (item_id, distance) in enumerate(matches, start=1):
                cursor = await db.execute(
                    "INSERT INTO shown (query_id, rank, item_id, distance, variant) VALUES (?, ?, ?, ?, ?)",
                    (query_id, rank, int(item_id), float(distance), credit[rank - 1] if credit else None),
                )
                shown_ids.append(int(cursor.lastrowid or 0))
            if interleaving is not None:
                await db.execute("INSERT INTO interleavings (query_id, champion, challenger) VALUES (?, ?, ?)",
                                 (query_id, *interleaving))
        return query_id, shown_ids

    async def query_for_update(self, update_id: int) -> tuple[int, str, list[int]] | None:
        """(query_id, what it was shown as, shown_ids by rank) of the search that answered `update_id`.

        "What it was shown as" is the query's variant, or "a blind mix of two models" when interleaved.
        """
        rows = await self._fetchall(
            "SELECT q.query_id, q.variant, s.shown_id, i.query_id AS mixed FROM queries q"
            " JOIN shown s ON s.query_id = q.query_id LEFT JOIN interleavings i ON i.query_id = q.query_id"
            " WHERE q.update_id = ? ORDER BY s.rank", (update_id,))
        if not rows:
            return None
        shown_as = "a blind mix of two models" if rows[0]["mixed"] is not None else str(rows[0]["variant"])
        return int(rows[0]["query_id"]), shown_as, [int(r["shown_id"]) for r in rows]

    async def query_photo(self, query_id: int, user_id: int) -> str | None:
        """The Telegram file_id of the photo query `query_id` searched, if it is `user_id`'s own."""
        row = await self._fetchone("SELECT file_id FROM queries WHERE query_id = ? AND user_id = ?",
                                   (query_id, user_id))
        return str(row["file_id"]) if row is not None and row["file_id"] else None

    async def query_vector(self, query_id: int) -> np.ndarray | None:
        row = await self._fetchone("SELECT query_vector FROM queries WHERE query_id = ?", (query_id,))
        if row is None or row["query_vector"] is None:
            return None
        return np.frombuffer(row["query_vector"], dtype=np.float32)

    async def query_votes(self, user_id: int, shown_id: int) -> list[ShownVote]:
        """All matches of the query `shown_id` belongs to, with `user_id`'s votes, by rank."""
        rows = await self._fetchall(
            "SELECT s.shown_id, s.rank, s.item_id, s.distance, v.value FROM shown s"
            " LEFT JOIN votes v ON v.shown_id = s.shown_id AND v.user_id = ?"
            " WHERE s.query_id = (SELECT query_id FROM shown WHERE shown_id = ?) ORDER BY s.rank",
            (user_id, shown_id),
        )
        return [ShownVote(r["shown_id"], r["rank"], r["item_id"], r["distance"], r["value"]) for r in rows]

    # --- game -------------------------------------------------------------------------------
    async def record_game_pair(self, user_id: int, variant: str, item_a: int, item_b: int, distance: float) -> int:
        async with self._transaction() as db:
            await _ensure_user(db, user_id)
            cursor = await db.execute(
                "INSERT INTO game_pairs (user_id, created_at, variant, item_a, item_b, distance)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, _now(), variant, int(item_a), int(item_b), float(distance)),
            )
        return int(cursor.lastrowid or 0)

    async def game_pair(self, pair_id: int) -> GamePair | None:
        row = await self._fetchone(
            "SELECT g.*, v.value FROM game_pairs g"
            " LEFT JOIN votes v ON v.pair_id = g.pair_id AND v.user_id = g.user_id WHERE g.pair_id = ?",
            (pair_id,),
        )
        if row is None:
            return None
        return GamePair(row["pair_id"], row["user_id"], row["variant"], row["item_a"], row["item_b"],
                        row["distance"], row["value"])

    async def game_pair_counts(self) -> dict[str, int]:
        """How many game pairs each variant has produced so far (for balancing /play)."""
        rows = await self._fetchall("SELECT variant, COUNT(*) AS n FROM game_pairs GROUP BY variant")
        return {r["variant"]: int(r["n"]) for r in rows}

    # --- votes ------------------------------------------------------------------------------
    async def record_vote(
        self, user_id: int, value: int, *, shown_id: int | None = None, pair_id: int | None = None
    ) -> VoteOutcome:
        """+1/-1 on exactly one target of this user's; a repeat is UNCHANGED, a flip CHANGED."""
        if value not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, got {value!r}")
        if (shown_id is None) == (pair_id is None):
            raise ValueError("give exactly one of shown_id and pair_id")
        async with self._transaction() as db:
            await self._check_owner(db, user_id, shown_id, pair_id)
            column, target = ("shown_id", shown_id) if shown_id is not None else ("pair_id", pair_id)
            # column is one of two literals above, never user input.
            async with db.execute(
                f"SELECT vote_id, value FROM votes WHERE user_id = ? AND {column} = ?", (user_id, target)
            ) as cursor:
                existing = await cursor.fetchone()
            now = _now()
            if existing is None:
                await db.execute(
                    "INSERT INTO votes (user_id, shown_id, pair_id, value, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, shown_id, pair_id, value, now, now),
                )
                return VoteOutcome.NEW
            if existing["value"] == value:
                return VoteOutcome.UNCHANGED
            await db.execute(
                "UPDATE votes SET value = ?, updated_at = ? WHERE vote_id = ?", (value, now, existing["vote_id"])
            )
            return VoteOutcome.CHANGED

    @staticmethod
    async def _check_owner(db: aiosqlite.Connection, user_id: int, shown_id: int | None,
                           pair_id: int | None) -> None:
        if shown_id is not None:
            sql = "SELECT q.user_id FROM shown s JOIN queries q ON q.query_id = s.query_id WHERE s.shown_id = ?"
            target: int | None = shown_id
        else:
            sql, target = "SELECT user_id FROM game_pairs WHERE pair_id = ?", pair_id
        async with db.execute(sql, (target,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise UnknownTarget(f"no {'shown match' if shown_id is not None else 'game pair'} {target}")
        if row[0] != user_id:
            raise NotYourVote(f"target {target} belongs to another user")

    # --- reports ----------------------------------------------------------------------------
    async def leaderboard_counts(self) -> list[VoteCounts]:
        """Up/down votes per variant, separately for search votes and game votes."""
        rows = await self._fetchall(
            "SELECT variant, 'search' AS source, SUM(value = 1) AS up, SUM(value = -1) AS down"
            f" FROM ({SEARCH_VOTES}) GROUP BY variant"
            " UNION ALL "
            "SELECT variant, 'game', SUM(value = 1), SUM(value = -1)"
            f" FROM ({GAME_VOTES}) GROUP BY variant"
        )
        return [VoteCounts(r["variant"], r["source"], int(r["up"] or 0), int(r["down"] or 0)) for r in rows]

    async def user_votes(self, user_id: int) -> list[VoteRecord]:
        """Every vote of one user, oldest first (for /export and /stats)."""
        rows = await self._fetchall(
            "SELECT vote_id, 'search' AS kind, shown_id AS target_id, variant, item_id,"
            " NULL AS other_item_id, rank, distance, value, created_at, updated_at"
            f" FROM ({SEARCH_VOTES}) WHERE user_id = ?"
            " UNION ALL "
            "SELECT vote_id, 'game', pair_id, variant, item_a, item_b, NULL, distance, value,"
            f" created_at, updated_at FROM ({GAME_VOTES}) WHERE user_id = ? ORDER BY vote_id",
            (user_id, user_id),
        )
        return [VoteRecord(**dict(r)) for r in rows]

    async def user_stats(self, user_id: int) -> UserStats:
        votes = await self.user_votes(user_id)
        queries = await self._fetchone("SELECT COUNT(*) FROM queries WHERE user_id = ?", (user_id,))
        pairs = await self._fetchone("SELECT COUNT(*) FROM game_pairs WHERE user_id = ?", (user_id,))

        def count(kind: str, value: int) -> int:
            return sum(1 for v in votes if v.kind == kind and v.value == value)

        return UserStats(int(queries[0]) if queries else 0, count("search", 1), count("search", -1),
                         int(pairs[0]) if pairs else 0, count("game", 1), count("game", -1))

    async def search_vote_count(self, user_id: int) -> int:
        """How many search votes this user has cast (personal adapters need enough of them)."""
        row = await self._fetchone("SELECT COUNT(*) FROM votes WHERE user_id = ? AND shown_id IS NOT NULL",
                                   (user_id,))
        return int(row[0]) if row else 0

    async def forget_user(self, user_id: int) -> bool:
        """Delete the user and, by cascade, their queries, shown matches, game pairs and votes."""
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0

    async def table_counts(self) -> dict[str, int]:
        """Row count of every table (tests, diagnostics)."""
        counts = {}
        for table in ("users", "queries", "shown", "game_pairs", "votes"):  # fixed names, not input
            row = await self._fetchone(f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(row[0]) if row else 0
        return counts


async def _ensure_user(db: aiosqlite.Connection, user_id: int) -> None:
    await db.execute("INSERT OR IGNORE INTO users (user_id, first_seen) VALUES (?, ?)", (user_id, _now()))


def _vector_blob(vector: np.ndarray | None) -> bytes | None:
    if vector is None:
        return None
    return np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(-1)).tobytes()
