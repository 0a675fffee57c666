"""UpdateInbox on a real SQLite file: stored once, redeliveries dropped, reused ids accepted,
replayed once, then set aside."""
from __future__ import annotations

from pathlib import Path

from votes.inbox import UpdateInbox
from votes.store import VoteStore


async def test_add_done_replay_and_reuse(tmp_path: Path) -> None:
    store = VoteStore(tmp_path / "votes.sqlite")
    await store.initialize()
    inbox = UpdateInbox(store)
    assert await inbox.add(1, '{"update_id": 1, "a": 1}')
    assert not await inbox.add(1, '{"update_id": 1, "a": 1}')  # Telegram delivered it again
    assert await inbox.add(2, '{"update_id": 2}')
    await inbox.done(2)
    assert await inbox.add(2, '{"update_id": 2, "new": true}')  # the id came back after a quiet week
    assert await inbox.counts() == {"pending": 2, "done": 0, "failed": 0}
    replay = await inbox.take_unfinished()  # first restart: both replayed once
    assert [(r.update_id, r.attempts) for r in replay] == [(1, 1), (2, 1)]
    await inbox.done(1)
    assert await inbox.take_unfinished() == []  # second restart: 2 crashed twice → failed
    assert await inbox.counts() == {"pending": 0, "done": 1, "failed": 1}
    await store.shutdown()
