"""The model registry on real SQLite, and scripts/models.py over it."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scripts import models as models_script
from votes import BadTransition, ModelRegistry, VoteStore


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[ModelRegistry]:
    store = VoteStore(tmp_path / "votes.sqlite")
    await store.initialize()
    yield ModelRegistry(store)
    await store.shutdown()


async def test_stages_move_with_reasons_and_one_champion(registry: ModelRegistry) -> None:
    await registry.enter("base", "champion", "initial")
    await registry.enter("ft:a", "challenger", "retrained", held_out_ok=True)
    await registry.enter("ft:b", "candidate", "waiting")
    assert await registry.served() == ["base", "ft:a"]
    await registry.move("ft:a", "champion", "won 25 of 30")
    assert await registry.champion() == "ft:a" and (await registry.get("base")).stage == "retired"  # type: ignore[union-attr]
    assert (await registry.get("ft:a")).held_out_ok is True  # type: ignore[union-attr]
    with pytest.raises(BadTransition, match="candidate → champion is not allowed"):
        await registry.move("ft:b", "champion", "skip the queue")
    events = await registry.events()
    assert [(e.name, e.from_stage, e.to_stage) for e in events[:2]] == [("ft:a", "challenger", "champion"),
                                                                        ("base", "champion", "retired")]
    assert "displaced by ft:a" in events[1].reason


async def test_interleaved_credit_per_album(registry: ModelRegistry) -> None:
    store = registry.store
    pair = ("c/l2", "x/l2")
    _, shown = await store.record_query(1, "c/l2", "c", [(5, 0.1), (6, 0.2), (7, 0.3)],
                                        credit=["c/l2", "x/l2", "x/l2"], interleaving=pair)
    for shown_id, value in zip(shown, (1, 1, 1)):
        await store.record_vote(1, value, shown_id=shown_id)
    _, other = await store.record_query(1, "c/l2", "c", [(8, 0.1), (9, 0.2)], credit=["x/l2", "c/l2"],
                                        interleaving=pair)
    await store.record_vote(1, -1, shown_id=other[0])
    albums = await registry.interleaved(*pair)
    assert [(a.champion_score, a.challenger_score) for a in albums] == [(1, 2), (0, -1)]
    counts = {(c.variant, c.source): (c.up, c.down) for c in await store.leaderboard_counts()}
    assert counts == {("c/l2", "search"): (1, 0), ("x/l2", "search"): (2, 1)}  # credited, not the query's


def test_models_script_prints_and_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def setup() -> None:
        store = VoteStore(tmp_path / "votes.sqlite")
        await store.initialize()
        await ModelRegistry(store).enter("base", "champion", "initial")
        await ModelRegistry(store).enter("ft:a", "challenger", "retrained")
        await store.shutdown()

    asyncio.run(setup())
    votes = str(tmp_path / "votes.sqlite")
    assert models_script.main(["--votes", votes]) == 0
    text = capsys.readouterr().out
    assert "ft:a: challenger" in text and "ft:a vs base" in text and "would wait" in text
    assert models_script.main(["--votes", votes, "--json", "--move", "ft:a", "retired", "--reason", "bad"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"][0]["reason"] == "bad" and data["comparison"] is None
    assert models_script.main(["--votes", votes, "--move", "ft:a", "champion"]) == 2
    assert models_script.main(["--votes", str(tmp_path / "none.sqlite")]) == 1
