"""Team-draft interleaving and the promotion rule: pure maths, checked against known values."""
from __future__ import annotations

import random

import pytest

from engine.feedback.interleaving import decide, sign_test_p, tally, team_draft


def test_team_draft_takes_turns_and_never_repeats() -> None:
    a, b = [1, 2, 3, 4, 5], [1, 6, 2, 7, 8]
    for seed in range(50):
        album = team_draft(a, b, 5, random.Random(seed))
        items = [item for item, _ in album]
        assert len(items) == 5 == len(set(items))
        teams = [team for _, team in album]
        assert abs(teams.count(0) - teams.count(1)) <= 1
        for team, ranking in ((0, a), (1, b)):  # each team's items keep their ranking's order
            mine = [item for item, t in album if t == team]
            assert mine == sorted(mine, key=ranking.index)
        assert items[0] == 1  # both rank it first: whoever picks first takes it


def test_team_draft_of_identical_rankings_is_a_fair_coin() -> None:
    ranking = list(range(10))
    firsts = [team_draft(ranking, ranking, 5, random.Random(s))[0][1] for s in range(2000)]
    assert 0.45 < sum(firsts) / len(firsts) < 0.55
    assert [item for item, _ in team_draft(ranking, ranking, 5, random.Random(0))] == [0, 1, 2, 3, 4]


def test_team_draft_fills_from_the_longer_side() -> None:
    album = team_draft([1], [2, 3, 4], 4, random.Random(1))
    assert sorted(item for item, _ in album) == [1, 2, 3, 4]
    assert team_draft([], [], 3, random.Random(0)) == []


def test_sign_test_known_values() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 5) == 1.0
    assert sign_test_p(9, 1) == pytest.approx(0.021484375)  # 2·(1+10)/1024
    assert sign_test_p(1, 9) == sign_test_p(9, 1)
    assert sign_test_p(20, 10) == pytest.approx(0.0987, abs=1e-4)


def test_tally_and_the_promotion_rule() -> None:
    assert tally([(0, 1), (1, 0), (2, 2), (0, 3)]) == (tally([(0, 1), (0, 3), (1, 0), (1, 1)]))
    winning = [(0, 1)] * 25 + [(1, 0)] * 5
    assert decide(winning[:10], min_comparisons=30).action == "wait"
    promote = decide(winning, min_comparisons=30)
    assert promote.action == "promote" and promote.p_value < 0.001 and "won 25, lost 5" in promote.reason
    assert decide(winning, min_comparisons=30, held_out_ok=False).action == "retire"
    assert decide([(1, 0)] * 30, min_comparisons=30).action == "retire"
    even = decide([(0, 1), (1, 0)] * 15, min_comparisons=30)
    assert even.action == "retire" and "no significant difference" in even.reason
    # only the first 30 decided albums count: a late streak cannot sway a decided test
    assert decide([(0, 1), (1, 0)] * 15 + [(0, 1)] * 100, min_comparisons=30).action == "retire"
