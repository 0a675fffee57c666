"""UpdateInbox: incoming updates stored durably before they are acknowledged, marked done after.

A companion of `VoteStore` on the same SQLite file (table `inbox`, migration 2), sharing its
one-writer transactions. The bot stores each update before Telegram hears that it arrived, marks
it done once handled, and on start-up replays whatever is still pending; an update that was
already replayed `max_attempts` times (it keeps crashing the bot) is set aside as failed.

    inbox = UpdateInbox(store)
    if await inbox.add(update_id, json_text):   # False: a redelivery of a known update
        ...handle...
    await inbox.done(update_id)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from votes.store import VoteStore

MAX_ATTEMPTS = 2  # the first try plus one replay after a crash


@dataclass(frozen=True)
class PendingUpdate:
    update_id: int
    payload: str
    attempts: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class UpdateInbox:
    """The `inbox` table: pending → done, or failed after `max_attempts` tries."""

    def __init__(self, store: VoteStore, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.store = store
        self.max_attempts = max_attempts

    async def add(self, update_id: int, payload: str) -> bool:
        """Store a new update (committed on return); False if this very update was stored before.

        Telegram restarts update ids at random after a week without updates, so a known id with a
        different payload is a new update: it replaces the old row.
        """
        async with self.store.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO inbox (update_id, received_at, payload, attempts) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (update_id) DO UPDATE SET received_at = excluded.received_at,"
                " payload = excluded.payload, status = 'pending', attempts = 1, finished_at = NULL"
                " WHERE inbox.payload != excluded.payload",
                (int(update_id), _now(), payload))
        return cursor.rowcount > 0

    async def done(self, update_id: int) -> None:
        """Mark an update handled (whatever the outcome: a reply or a polite refusal)."""
        async with self.store.transaction() as db:
            await db.execute("UPDATE inbox SET status = 'done', finished_at = ? WHERE update_id = ?",
                             (_now(), int(update_id)))

    async def take_unfinished(self) -> list[PendingUpdate]:
        """Pending updates to replay now, oldest first; each counts one more attempt, and those
        out of attempts are marked failed instead of returned."""
        rows = await self.store.fetchall(
            "SELECT update_id, payload, attempts FROM inbox WHERE status = 'pending' ORDER BY update_id")
        replay = [PendingUpdate(int(r["update_id"]), str(r["payload"]), int(r["attempts"])) for r in rows]
        async with self.store.transaction() as db:
            for row in replay:
                if row.attempts >= self.max_attempts:
                    await db.execute("UPDATE inbox SET status = 'failed', finished_at = ? WHERE update_id = ?",
                                     (_now(), row.update_id))
                else:
                    await db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?",
                                     (row.update_id,))
        return [row for row in replay if row.attempts < self.max_attempts]

    async def counts(self) -> dict[str, int]:
        """Updates per status (health checks, tests)."""
        rows = await self.store.fetchall("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
        return {"pending": 0, "done": 0, "failed": 0, **{str(r["status"]): int(r["n"]) for r in rows}}

    async def prune(self, keep_days: float = 7.0) -> int:
        """Delete finished updates older than `keep_days` (they only guard against redelivery)."""
        cutoff = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() - keep_days * 86400, timezone.utc)
        async with self.store.transaction() as db:
            cursor = await db.execute("DELETE FROM inbox WHERE status != 'pending' AND finished_at < ?",
                                      (cutoff.isoformat(timespec="milliseconds"),))
        return cursor.rowcount
