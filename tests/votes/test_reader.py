"""VoteReader: read-only, same meaning of a vote as the bot's VoteStore, clear errors."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from votes import SchemaTooOld, VoteReader, VotesNotFound, VoteStore, read_votes

ALICE, BOB = 1, 2


async def _fill(path: Path) -> VoteStore:
    store = VoteStore(path)
    await store.initialize()
    _, shown = await store.record_query(ALICE, "e/l2", "e", [(10, 0.1), (11, 0.2), (12, 0.3)],
                                        query_item_id=3, query_vector=np.arange(4, dtype=np.float32),
                                        query_appearance=np.full(3, 0.5, np.float32))
    await store.record_vote(ALICE, 1, shown_id=shown[0])
    await store.record_vote(ALICE, -1, shown_id=shown[2])
    _, other = await store.record_query(BOB, "e/cosine", "e", [(20, 0.5)])
    await store.record_vote(BOB, -1, shown_id=other[0])
    pair = await store.record_game_pair(BOB, "f/l2", 30, 31, 0.7)
    await store.record_vote(BOB, 1, pair_id=pair)
    return store


async def test_reader_sees_what_the_store_reports(tmp_path: Path) -> None:
    store = await _fill(tmp_path / "votes.sqlite")
    try:
        counts = {(c.variant, c.source): (c.up, c.down) for c in await store.leaderboard_counts()}
        pairs = read_votes(tmp_path / "votes.sqlite")
    finally:
        await store.shutdown()
    assert counts == {("e/l2", "search"): (1, 1), ("e/cosine", "search"): (0, 1), ("f/l2", "game"): (1, 0)}
    assert pairs.user.tolist() == [ALICE, ALICE, BOB, BOB]
    assert pairs.item.tolist() == [10, 12, 20, 31] and pairs.value.tolist() == [1, -1, -1, 1]
    assert pairs.query_item.tolist() == [3, 3, -1, 30]
    assert pairs.embedders == ["e", "e", "e", "f"] and pairs.group[-1] < 0
    assert pairs.query_vectors[0].tolist() == [0, 1, 2, 3] and pairs.query_vectors[2] is None
    assert pairs.query_appearances[1].tolist() == [0.5] * 3 and pairs.query_appearances[2] is None
    tally: dict[tuple[str, str], list[int]] = {}
    for variant, group, value in zip(pairs.variants, pairs.group, pairs.value):
        up_down = tally.setdefault((variant, "search" if group > 0 else "game"), [0, 0])
        up_down[0 if value > 0 else 1] += 1
    assert {k: tuple(v) for k, v in tally.items()} == counts
    assert len(read_votes(tmp_path / "votes.sqlite", include_game=False)) == 3


async def test_reader_never_writes(tmp_path: Path) -> None:
    store = await _fill(tmp_path / "votes.sqlite")
    await store.shutdown()
    with VoteReader(tmp_path / "votes.sqlite") as reader:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM votes")
        assert len(reader.search_votes()) == 3 and len(reader.game_votes()) == 1


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(VotesNotFound, match="No votes database"):
        VoteReader(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()


def test_unmigrated_database_is_refused(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "old.sqlite").close()
    with pytest.raises(SchemaTooOld, match="start the bot once"):
        VoteReader(tmp_path / "old.sqlite")
