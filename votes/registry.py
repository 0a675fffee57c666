"""The model registry: which embedder is champion, challenger, candidate or retired, and why.

Stages move candidate → challenger → champion → retired (a candidate or challenger may also be
retired directly). There is at most one champion and one challenger: promoting a challenger
retires the old champion in the same transaction, so readers never see two. Every transition is
recorded in model_events with its time and reason. Writes go through the VoteStore's single
writer (its lock and transactions).

    registry = ModelRegistry(store)
    await registry.enter("ft:votes-3", "challenger", "retrained from 1,800 votes")
    await registry.move("ft:votes-3", "champion", "won 61 of 90 interleaved comparisons, p=0.003")
"""
from __future__ import annotations

from dataclasses import dataclass
import sqlite3

import aiosqlite

from votes.store import VoteStore, VoteStoreError, _now

STAGES = ("candidate", "challenger", "champion", "retired")
ALLOWED = {
    None: {"candidate", "challenger", "champion"},
    "candidate": {"challenger", "retired"},
    "challenger": {"champion", "retired"},
    "champion": {"retired"},
    "retired": {"candidate", "challenger"},  # an operator may bring a model back
}


class BadTransition(VoteStoreError):
    """A stage change the registry does not allow (the message says which are)."""


@dataclass(frozen=True)
class ModelRecord:
    name: str
    stage: str
    created_at: str
    updated_at: str
    held_out_ok: bool | None  # retraining's held-out check; None: not measured


@dataclass(frozen=True)
class ModelEvent:
    event_id: int
    name: str
    from_stage: str | None
    to_stage: str
    at: str
    reason: str


@dataclass(frozen=True)
class InterleavedQuery:
    """One interleaved album's credited votes: the sum of ±1 on each side's matches."""

    query_id: int
    champion_score: int
    challenger_score: int


class ModelRegistry:
    """Reads and writes the models/model_events tables through one VoteStore."""

    def __init__(self, store: VoteStore) -> None:
        self.store = store

    async def get(self, name: str) -> ModelRecord | None:
        row = await self.store._fetchone("SELECT * FROM models WHERE name = ?", (name,))
        return _record(row) if row else None

    async def models(self, *, include_retired: bool = True) -> list[ModelRecord]:
        rows = await self.store._fetchall("SELECT * FROM models ORDER BY created_at, name")
        return [_record(r) for r in rows if include_retired or r["stage"] != "retired"]

    async def in_stage(self, stage: str) -> str | None:
        row = await self.store._fetchone("SELECT name FROM models WHERE stage = ? ORDER BY updated_at DESC",
                                         (stage,))
        return row["name"] if row else None

    async def champion(self) -> str | None:
        return await self.in_stage("champion")

    async def challenger(self) -> str | None:
        return await self.in_stage("challenger")

    async def served(self) -> list[str]:
        """Names the bot should have loaded: the champion, then the challenger."""
        return [name for name in (await self.champion(), await self.challenger()) if name]

    async def enter(self, name: str, stage: str, reason: str, *, held_out_ok: bool | None = None) -> None:
        """Register a new model (or move a known one) into `stage`."""
        await self.move(name, stage, reason, held_out_ok=held_out_ok)

    async def move(self, name: str, stage: str, reason: str, *, held_out_ok: bool | None = None) -> None:
        """One transition, checked and recorded; a new champion/challenger displaces the old one."""
        if stage not in STAGES:
            raise BadTransition(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        async with self.store._transaction() as db:
            current = await _stage(db, name)
            if stage not in ALLOWED[current]:
                raise BadTransition(f"{name}: {current or 'unregistered'} → {stage} is not allowed; "
                                    f"from {current or 'unregistered'} only {sorted(ALLOWED[current])}")
            if stage in ("champion", "challenger"):
                async with db.execute("SELECT name FROM models WHERE stage = ? AND name != ?",
                                      (stage, name)) as cursor:
                    displaced = [r[0] for r in await cursor.fetchall()]
                for other in displaced:
                    await _write(db, other, stage, "retired", f"displaced by {name}: {reason}")
            await _write(db, name, current, stage, reason, held_out_ok)

    async def events(self, limit: int = 20) -> list[ModelEvent]:
        """The latest transitions, newest first."""
        rows = await self.store._fetchall("SELECT * FROM model_events ORDER BY event_id DESC LIMIT ?", (limit,))
        return [ModelEvent(r["event_id"], r["name"], r["from_stage"], r["to_stage"], r["at"], r["reason"])
                for r in rows]

    async def interleaved(self, champion: str, challenger: str) -> list[InterleavedQuery]:
        """Per interleaved album of this pair of variants, each side's credited vote total."""
        rows = await self.store._fetchall(
            "SELECT i.query_id AS query_id,"
            " COALESCE(SUM(CASE WHEN s.variant = i.champion THEN v.value END), 0) AS champion_score,"
            " COALESCE(SUM(CASE WHEN s.variant = i.challenger THEN v.value END), 0) AS challenger_score"
            " FROM interleavings i JOIN shown s ON s.query_id = i.query_id"
            " JOIN votes v ON v.shown_id = s.shown_id"
            " WHERE i.champion = ? AND i.challenger = ? GROUP BY i.query_id ORDER BY i.query_id",
            (champion, challenger),
        )
        return [InterleavedQuery(r["query_id"], int(r["champion_score"]), int(r["challenger_score"])) for r in rows]


async def _stage(db: aiosqlite.Connection, name: str) -> str | None:
    async with db.execute("SELECT stage FROM models WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def _write(db: aiosqlite.Connection, name: str, from_stage: str | None, to_stage: str, reason: str,
                 held_out_ok: bool | None = None) -> None:
    now = _now()
    held = None if held_out_ok is None else int(held_out_ok)
    await db.execute(
        "INSERT INTO models (name, stage, created_at, updated_at, held_out_ok) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET stage = excluded.stage, updated_at = excluded.updated_at,"
        " held_out_ok = COALESCE(excluded.held_out_ok, models.held_out_ok)",
        (name, to_stage, now, now, held),
    )
    await db.execute("INSERT INTO model_events (name, from_stage, to_stage, at, reason) VALUES (?, ?, ?, ?, ?)",
                     (name, from_stage, to_stage, now, reason))


def _record(row: sqlite3.Row) -> ModelRecord:
    held = row["held_out_ok"]
    return ModelRecord(row["name"], row["stage"], row["created_at"], row["updated_at"],
                       None if held is None else bool(held))
