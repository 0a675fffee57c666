"""Pure logic: callback data encoding/parsing, Wilson intervals, leaderboard rows, game balance."""
from __future__ import annotations

import random

import pytest

from bot import callbacks
from bot.callbacks import Callback, MalformedCallback
from bot.handlers.account import votes_csv
from bot.handlers.game import balanced_variant
from bot.keyboards import vote_keyboard
from bot.ranking import format_leaderboard, leaderboard, wilson_interval
from votes.store import VoteCounts, VoteRecord


@pytest.mark.parametrize(("data", "expected"), [
    (callbacks.vote(12, 1), Callback("vote", 12, 1)),
    (callbacks.vote(7, -1), Callback("vote", 7, -1)),
    (callbacks.game_vote(3, -1), Callback("game", 3, -1)),
    (callbacks.next_pair(), Callback("next")),
    (callbacks.variant(0), Callback("variant", 0)),
    (callbacks.variant(3), Callback("variant", 3)),
    (callbacks.forget(1001, True), Callback("forget", 1001, confirm=True)),
    (callbacks.forget(1001, False), Callback("forget", 1001, confirm=False)),
])
def test_round_trip(data: str, expected: Callback) -> None:
    assert callbacks.parse(data) == expected
    assert len(data.encode()) <= callbacks.MAX_CALLBACK_BYTES


@pytest.mark.parametrize("data", [
    None, "", "v", "v:", "v:1", "v:1:", "v:1:x", "v:0:+", "v:01:+", "v:-1:+", "v: 1:+", "v:1:+ ", "V:1:+",
    "g:1:", "gn ", "var:", "var:01", "var:12345", "fg:", "fg:Y", "fg:y", "fg:0:y", "fg:12:Y", "hello", "v:1:+:extra", "v:" + "9" * 20 + ":+",
    "x" * 65, "v:١:+",  # Arabic-Indic digit: \\d would accept it, we must not
])
def test_malformed_data_is_refused(data: str | None) -> None:
    with pytest.raises(MalformedCallback):
        callbacks.parse(data)


def test_encoders_validate() -> None:
    with pytest.raises(ValueError):
        callbacks.vote(1, 0)
    assert max(len(callbacks.vote(2**53, -1)), len(callbacks.game_vote(2**53, 1))) <= 64


@pytest.mark.parametrize(("up", "n", "low", "high"), [
    (8, 10, 0.490, 0.943),  # the reference values
    (0, 10, 0.0, 0.278),
    (10, 10, 0.722, 1.0),
    (50, 100, 0.404, 0.596),
    (1, 1, 0.207, 1.0),
])
def test_wilson_interval_known_values(up: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(up, n) == pytest.approx((low, high), abs=5e-4)


def test_wilson_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    for bad in ((-1, 3), (4, 3), (0, -1)):
        with pytest.raises(ValueError):
            wilson_interval(*bad)


def test_leaderboard_rows_by_source_and_together() -> None:
    counts = [VoteCounts("a/l2", "search", 8, 2), VoteCounts("b/l1", "search", 3, 1),
              VoteCounts("a/l2", "game", 0, 4), VoteCounts("b/l1", "game", 4, 0)]
    search = leaderboard(counts, "search")
    assert [(r.variant, r.up, r.n) for r in search] == [("a/l2", 8, 10), ("b/l1", 3, 4)]
    assert (search[0].low, search[0].high) == pytest.approx((0.490, 0.943), abs=5e-4)
    assert [(r.variant, r.up, r.n) for r in leaderboard(counts, "game")] == [("b/l1", 4, 4), ("a/l2", 0, 4)]
    assert [(r.variant, r.up, r.n) for r in leaderboard(counts)] == [("b/l1", 7, 8), ("a/l2", 8, 14)]
    with_empty = leaderboard(counts, "search", variants=["c/cosine"])
    assert with_empty[-1].variant == "c/cosine" and with_empty[-1].n == 0
    text = format_leaderboard("Search", with_empty)
    assert "1. a/l2: 80% of 10 (👍8 👎2, 95% CI 49%–94%)" in text and "3. c/cosine: no votes" in text
    assert format_leaderboard("Game", leaderboard([], "game", ["a/l2"])) == "Game\n  no votes yet"


def test_balanced_variant_picks_the_least_played_at_random() -> None:
    rng = random.Random(0)
    variants = ["a", "b", "c"]
    assert balanced_variant(variants, {"a": 2, "b": 1, "c": 2}, rng) == "b"
    picks = {balanced_variant(variants, {"a": 1}, rng) for _ in range(50)}
    assert picks == {"b", "c"}


def test_vote_keyboard_marks_the_vote() -> None:
    markup = vote_keyboard([(10, 1, 1), (11, 2, None), (12, 3, -1)])
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("#1 ✅👍", "v:10:+"), ("#1 👎", "v:10:-")], [("#2 👍", "v:11:+"), ("#2 👎", "v:11:-")],
                    [("#3 👍", "v:12:+"), ("#3 ✅👎", "v:12:-")]]


def test_votes_csv_has_a_header_and_one_row_per_vote() -> None:
    record = VoteRecord(3, "game", 5, "a/l2", 1, 2, None, 0.25, -1, "2026-01-01T00:00:00+00:00", "x")
    lines = votes_csv([record]).decode().splitlines()
    assert lines[0].startswith("vote_id,kind,target_id,variant,item_id,other_item_id,rank,distance,value")
    assert lines[1].startswith("3,game,5,a/l2,1,2,,0.25,-1,")
