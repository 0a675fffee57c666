"""VoteStore on real SQLite files: migrations, uniqueness, ownership, reports, forget cascade."""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from votes import schema
from votes.store import NotYourVote, UnknownTarget, VoteCounts, VoteOutcome, VoteStore

ALICE, BOB = 1, 2


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[VoteStore]:
    vote_store = VoteStore(tmp_path / "votes.sqlite")
    await vote_store.initialize()
    yield vote_store
    await vote_store.shutdown()


async def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "votes.sqlite"
    for _ in range(2):
        vote_store = VoteStore(path)
        await vote_store.initialize()
        assert await vote_store.schema_version() == len(schema.MIGRATIONS)
        assert await vote_store.migrate() == 0
        await vote_store.shutdown()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "queries", "shown", "game_pairs", "votes"} <= tables


async def test_failed_migration_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("votes.store.MIGRATIONS", [*schema.MIGRATIONS, "CREATE TABLE extra (x); SYNTAX ERROR;"])
    vote_store = VoteStore(tmp_path / "votes.sqlite")
    with pytest.raises(sqlite3.Error):
        await vote_store.initialize()
    assert await vote_store.schema_version() == len(schema.MIGRATIONS)  # the first one committed
    async with vote_store.db.execute("SELECT name FROM sqlite_master WHERE name = 'extra'") as cursor:
        assert await cursor.fetchone() is None  # the broken one rolled back whole
    await vote_store.shutdown()


async def test_variant_per_user(store: VoteStore) -> None:
    assert await store.get_variant(ALICE) is None
    await store.set_variant(ALICE, "random-init/l1")
    await store.set_variant(ALICE, "random-init/l2")
    assert await store.get_variant(ALICE) == "random-init/l2" and await store.get_variant(BOB) is None


async def test_record_query_and_vote_outcomes(store: VoteStore) -> None:
    vector = np.arange(8, dtype=np.float32)
    query_id, shown = await store.record_query(ALICE, "v/l2", "v", [(5, 0.1), (9, 0.2)], photo_sha256="ab",
                                               query_item_id=5, query_vector=vector)
    assert len(shown) == 2
    np.testing.assert_array_equal(await store.query_vector(query_id), vector)
    assert await store.record_vote(ALICE, 1, shown_id=shown[0]) is VoteOutcome.NEW
    assert await store.record_vote(ALICE, 1, shown_id=shown[0]) is VoteOutcome.UNCHANGED
    assert await store.record_vote(ALICE, -1, shown_id=shown[0]) is VoteOutcome.CHANGED
    rows = await store.query_votes(ALICE, shown[1])
    assert [(r.rank, r.item_id, r.value) for r in rows] == [(1, 5, -1), (2, 9, None)]
    assert (await store.table_counts())["votes"] == 1


async def test_vote_validation(store: VoteStore) -> None:
    _, shown = await store.record_query(ALICE, "v/l2", "v", [(5, 0.1)])
    pair = await store.record_game_pair(BOB, "v/l1", 1, 2, 0.5)
    with pytest.raises(UnknownTarget):
        await store.record_vote(ALICE, 1, shown_id=9999)
    with pytest.raises(UnknownTarget):
        await store.record_vote(ALICE, 1, pair_id=9999)
    with pytest.raises(NotYourVote):
        await store.record_vote(BOB, 1, shown_id=shown[0])
    with pytest.raises(NotYourVote):
        await store.record_vote(ALICE, 1, pair_id=pair)
    for kwargs in ({"shown_id": shown[0], "pair_id": pair}, {}):
        with pytest.raises(ValueError):
            await store.record_vote(ALICE, 1, **kwargs)
    with pytest.raises(ValueError):
        await store.record_vote(ALICE, 0, shown_id=shown[0])
    assert (await store.table_counts())["votes"] == 0


async def test_database_enforces_uniqueness(store: VoteStore) -> None:
    _, shown = await store.record_query(ALICE, "v/l2", "v", [(5, 0.1)])
    await store.record_vote(ALICE, 1, shown_id=shown[0])
    with pytest.raises(sqlite3.IntegrityError):
        await store.db.execute(
            "INSERT INTO votes (user_id, shown_id, value, created_at, updated_at) VALUES (?, ?, 1, 'x', 'x')",
            (ALICE, shown[0]))


async def test_game_counts_leaderboard_and_user_votes(store: VoteStore) -> None:
    _, shown = await store.record_query(ALICE, "v/l2", "v", [(5, 0.1), (6, 0.2), (7, 0.3)])
    for shown_id, value in zip(shown, (1, 1, -1)):
        await store.record_vote(ALICE, value, shown_id=shown_id)
    pairs = [await store.record_game_pair(ALICE, variant, 1, 2, 0.4) for variant in ("v/l2", "v/l1", "v/l1")]
    await store.record_vote(ALICE, -1, pair_id=pairs[1])
    assert await store.game_pair_counts() == {"v/l2": 1, "v/l1": 2}
    assert sorted(await store.leaderboard_counts(), key=lambda c: c.source) == [
        VoteCounts("v/l1", "game", 0, 1), VoteCounts("v/l2", "search", 2, 1)]
    votes = await store.user_votes(ALICE)
    assert [(v.kind, v.rank, v.value) for v in votes] == [("search", 1, 1), ("search", 2, 1), ("search", 3, -1),
                                                          ("game", None, -1)]
    stats = await store.user_stats(ALICE)
    assert (stats.queries, stats.search_up, stats.search_down, stats.game_pairs, stats.game_down) == (1, 2, 1, 3, 1)
    assert (await store.game_pair(pairs[1])).value == -1  # type: ignore[union-attr]


async def test_forget_cascades_to_everything_of_that_user_only(store: VoteStore) -> None:
    for user in (ALICE, BOB):
        _, shown = await store.record_query(user, "v/l2", "v", [(5, 0.1)])
        await store.record_vote(user, 1, shown_id=shown[0])
        pair = await store.record_game_pair(user, "v/l2", 1, 2, 0.3)
        await store.record_vote(user, -1, pair_id=pair)
    assert await store.forget_user(ALICE) is True
    assert await store.forget_user(ALICE) is False
    assert await store.table_counts() == {"users": 1, "queries": 1, "shown": 1, "game_pairs": 1, "votes": 2}
    assert await store.user_votes(ALICE) == [] and len(await store.user_votes(BOB)) == 2
