"""Votes → retrain: simulated users vote through the bot's VoteStore; retrain learns from them."""
from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from votes.store import VoteStore
from engine.embedders import load_embedder
from engine.embedders.checkpoints import load_checkpoint
from engine.feedback.personal import Adapter, UserAdapters
from votes.reader import read_votes
from engine.index import VariantIndex
from scripts import retrain, simulate_votes

PATTERN_USER, CATEGORY_USER = 1001, 1002


@pytest.fixture(scope="module")
def voted(demo_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo catalog with a pattern user's and a category user's votes."""
    data_dir = tmp_path_factory.mktemp("voted")
    shutil.copytree(demo_catalog, data_dir, dirs_exist_ok=True)
    argv = ["--data-dir", str(data_dir), "--variant", "efficientnet-lite0/l2", "--input-size", "64",
            "--users", "pattern,category", "--queries", "80", "--game-pairs", "10", "--quiet"]
    assert simulate_votes.main(argv) == 0
    return data_dir


def test_simulated_votes_follow_each_users_taste(voted: Path) -> None:
    pairs = read_votes(voted / "votes.sqlite")
    assert len(pairs) == 2 * (80 * 5 + 10)
    assert (pairs.query_item >= 0).all() and all(v is not None and v.shape == (1280,)
                                                for v, g in zip(pairs.query_vectors, pairs.group) if g > 0)
    tastes = json.loads((voted / "votes.tastes.json").read_text())
    assert {tastes[str(PATTERN_USER)]["taste"], tastes[str(CATEGORY_USER)]["taste"]} == {"pattern", "category"}


def test_retrain_refuses_with_too_few_votes(voted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert retrain.main(["--data-dir", str(voted), "--min-votes", "100000", "--quiet"]) == 2
    assert "refusing to retrain" in capsys.readouterr().out


def test_retrain_without_a_votes_database_fails_clearly(tmp_path: Path, demo_catalog: Path) -> None:
    assert retrain.main(["--data-dir", str(demo_catalog), "--votes", str(tmp_path / "none.sqlite")]) == 1


def test_retrain_learns_the_pattern_users_taste(voted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = voted / "retrain.json"
    argv = ["--data-dir", str(voted), "--input-size", "64", "--name", "votes-proj", "--steps", "150",
            "--min-user-votes", "100", "--metrics", "l2", "--quiet", "--out", str(out)]
    assert retrain.main(argv) == 0
    figures = json.loads(out.read_text())["figures"]
    # every user with enough votes was judged on held-out queries; served ⇔ the verdict says so
    verdicts = figures["adapters"]
    assert set(verdicts) == {str(PATTERN_USER), str(CATEGORY_USER)}
    for user, verdict in verdicts.items():
        assert verdict["queries"] > 0 and verdict["served"] == (verdict["p"] < 0.05)
        assert figures["users"][user]["adapted"] == verdict["served"]
    # a served adapter does not cost its user their taste (measured here: category 0.67 → 0.70;
    # the pattern adapter is not served: 8 held-out queries won, 6 lost)
    for user, verdict in verdicts.items():
        if verdict["served"]:
            taste = figures["users"][user]["taste"]
            assert figures["users"][user][taste]["after"]["p@5"] > figures["users"][user][taste]["before"]["p@5"] - 0.02
    # the checkpoint is a normal embedder (240-d: PCA of 240 items caps --dim 256), its index rebuilt
    embedder = load_embedder("ft:votes-proj", "cpu", models_dir=voted / "models")
    assert embedder.dim == 240 and load_checkpoint(voted / "models" / "votes-proj.pt")["kind"] == "projection"
    assert (voted / "indexes" / "ft--votes-proj__l2.idx").exists()
    adapters = UserAdapters.from_checkpoint(voted / "models" / "votes-proj.pt")
    assert {u for u in (PATTERN_USER, CATEGORY_USER) if adapters.has(u)} == {
        int(u) for u, verdict in verdicts.items() if verdict["served"]}


def test_personal_search_reranks_the_base_index() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 8)).astype(np.float32)
    index = VariantIndex.build(base, np.arange(100, 150), "l2")
    weight = np.zeros((2, 8), np.float32)
    weight[0, 0] = weight[1, 1] = 1  # this user only cares about the first two features
    adapters = UserAdapters({7: Adapter(weight, np.zeros(2, np.float32))})
    ids, dists = adapters.search(index, 7, base[3], k=3, candidates=50)
    assert ids[0] == 103 and dists[0] == pytest.approx(0, abs=1e-5)
    mine = adapters.transform(7, base)
    expected = np.argsort(((mine - mine[3]) ** 2).sum(1))[:3] + 100
    assert ids.tolist() == expected.tolist()


def test_votes_are_written_through_the_real_store(tmp_path: Path) -> None:
    async def scenario() -> dict[str, int]:
        store = VoteStore(tmp_path / "votes.sqlite")
        await store.initialize()
        _, shown = await store.record_query(5, "e/l2", "e", [(1, 0.1), (2, 0.2)], query_item_id=3,
                                            query_vector=np.ones(4, np.float32))
        await store.record_vote(5, 1, shown_id=shown[0])
        counts = await store.table_counts()
        await store.shutdown()
        return counts

    assert asyncio.run(scenario())["votes"] == 1
    pairs = read_votes(tmp_path / "votes.sqlite")
    assert pairs.item.tolist() == [1] and pairs.value.tolist() == [1.0] and pairs.query_vectors[0].shape == (4,)


def test_retrain_as_challenger_enters_the_registry(voted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from votes import ModelRegistry

    base = ["--data-dir", str(voted), "--input-size", "64", "--steps", "30", "--metrics", "l2", "--quiet",
            "--as-challenger"]
    assert retrain.main([*base, "--name", "first"]) == 0
    assert json.loads(capsys.readouterr().out)["registered_as"] == "challenger"
    assert retrain.main([*base, "--name", "second"]) == 0
    assert json.loads(capsys.readouterr().out)["registered_as"] == "candidate"

    async def registry_state() -> dict[str, tuple[str, bool | None]]:
        store = VoteStore(voted / "votes.sqlite")
        await store.initialize()
        try:
            return {m.name: (m.stage, m.held_out_ok) for m in await ModelRegistry(store).models()}
        finally:
            await store.shutdown()

    state = asyncio.run(registry_state())
    assert state["ft:first"][0] == "challenger" and state["ft:second"][0] == "candidate"
    assert state["ft:first"][1] is not None  # retraining's held-out verdict travels with it


def test_a_second_loop_retrains_from_an_ft_champion(voted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Votes cast on ft:loop1's results (the champion after one loop) train ft:loop2, which serves."""
    from engine.catalog.synthetic import synthetic_sample
    from engine.embedders.projection import project
    from engine.search import Engine
    from engine.settings import Settings

    common = ["--data-dir", str(voted), "--input-size", "64", "--steps", "30", "--metrics", "l2", "--quiet",
              "--min-user-votes", "100000"]
    assert retrain.main([*common, "--name", "loop1"]) == 0
    capsys.readouterr()
    second = voted / "second-loop.sqlite"  # only votes on ft:loop1's results
    assert simulate_votes.main(["--data-dir", str(voted), "--variant", "ft:loop1/l2", "--votes", str(second),
                                "--users", "pattern", "--first-user-id", "3001", "--queries", "30", "--quiet"]) == 0
    capsys.readouterr()
    assert set(read_votes(second).embedders) == {"ft:loop1"}
    assert retrain.main([*common, "--votes", str(second), "--name", "loop2", "--min-votes", "50"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["embedder"] == "ft:loop2" and summary["train_votes"] >= 50
    checkpoint = load_checkpoint(voted / "models" / "loop2.pt")
    assert checkpoint["config"]["base"] == "efficientnet-lite0"  # a projection of the built-in, not of ft:loop1

    settings = Settings(_env_file=None, data_dir=voted, embedders=["ft:loop2"], metrics=["l2"], device="cpu")
    engine = Engine.from_settings(settings)
    try:
        matches = engine.search(synthetic_sample(5, 0).jpeg, k=3, variant="ft:loop2/l2")
    finally:
        engine.close()
    assert len(matches) == 3
    # what a vote on it is recorded with: the built-in's feature, from which ft:loop2's follows
    assert matches.base_embedder == "efficientnet-lite0" and matches.base_vector is not None
    state = checkpoint["state_dict"]
    expected = project(matches.base_vector[None, :], state["weight"].numpy(), state["bias"].numpy())[0]
    assert np.allclose(matches.vector, expected, atol=1e-4)


def test_training_votes_carry_the_recorded_colour_or_the_query_items() -> None:
    from engine.feedback.retrain import build_training_set
    from votes.reader import VotePairs

    ids = np.asarray([10, 11, 12], np.int64)
    features = np.eye(3, 4, dtype=np.float32)
    colours = {10: np.full(2, 0.1, np.float32), 11: np.full(2, 0.2, np.float32), 12: np.full(2, 0.3, np.float32)}
    def colour_of(items: list[int]) -> np.ndarray:
        return np.stack([colours[i] for i in items])

    recorded = np.full(2, 0.9, np.float32)
    pairs = VotePairs(np.asarray([1, 1, 2]), np.asarray([5, 5, -3]), np.asarray([-1, -1, 12]), np.asarray([10, 11, 99]),
                      np.asarray([1, -1, 1], np.float32), [np.ones(4, np.float32)] * 2 + [None], ["e/l2"] * 3,
                      ["e"] * 3, [recorded, recorded, None])
    data = build_training_set(pairs, ids, features, colour_of)
    assert len(data) == 2  # the vote on item 99 (gone from the catalog) is dropped
    assert data.qa is not None and data.xa is not None
    assert np.allclose(data.qa, [recorded, recorded]) and np.allclose(data.xa, [colours[10], colours[11]])
    game = build_training_set(pairs.subset(np.asarray([False, False, True])), np.append(ids, 99), np.vstack(
        [features, np.ones((1, 4), np.float32)]), lambda items: np.stack([colours.get(i, np.zeros(2, np.float32))
                                                                         for i in items]))
    assert game.qa is not None and np.allclose(game.qa, [colours[12]])  # no recorded colour: the query item's
    assert build_training_set(pairs, ids, features).qa is None
