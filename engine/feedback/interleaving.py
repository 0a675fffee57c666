"""Champion vs challenger, judged by users: team-draft interleaving and the promotion rule.

Team-draft interleaving (Radlinski, Kurup & Joachims 2008): the two rankings take turns, like
captains picking teams; a coin decides who picks first in each round, each captain picks its
highest-ranked item not yet picked, and every item remembers whose team it is on. A vote on an
item is credited to its team. For one album, the team with the higher credited total (👍 = +1,
👎 = −1) wins; equal totals are ties and do not count.

Promotion rule: a fixed-horizon two-sided sign test over the first `min_comparisons` decided
albums. The challenger is promoted when it wins them with p < alpha and retraining's held-out
check did not fail; otherwise it is retired. Testing once, at a horizon fixed in advance, keeps the
false-promotion rate at alpha/2 or below (repeated looks at a running p-value would inflate it).
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
CHAMPION, CHALLENGER = 0, 1


def team_draft(a: Sequence[T], b: Sequence[T], k: int, rng: random.Random) -> list[tuple[T, int]]:
    """Interleave rankings `a` (team 0) and `b` (team 1) into k (item, team) pairs."""
    picked: list[tuple[T, int]] = []
    seen: set[T] = set()
    counts = [0, 0]
    rankings = (list(a), list(b))
    cursors = [0, 0]

    def next_of(team: int) -> T | None:
        ranking = rankings[team]
        while cursors[team] < len(ranking) and ranking[cursors[team]] in seen:
            cursors[team] += 1
        return ranking[cursors[team]] if cursors[team] < len(ranking) else None

    while len(picked) < k:
        if counts[0] != counts[1]:
            team = 0 if counts[0] < counts[1] else 1
        else:
            team = rng.randrange(2)
        item = next_of(team)
        if item is None:  # this side ran out: the other one fills the album
            team = 1 - team
            item = next_of(team)
            if item is None:
                break
        seen.add(item)
        picked.append((item, team))
        counts[team] += 1
    return picked


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial (sign) test of wins vs losses under p = 1/2."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / (1 << n)
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Tally:
    wins: int  # albums the challenger won
    losses: int
    ties: int

    @property
    def decided(self) -> int:
        return self.wins + self.losses


def tally(scores: Iterable[tuple[int, int]], limit: int | None = None) -> Tally:
    """(champion score, challenger score) per album → wins/losses/ties, over the first `limit` decided."""
    wins = losses = ties = 0
    for champion, challenger in scores:
        if limit is not None and wins + losses >= limit:
            break
        if challenger > champion:
            wins += 1
        elif champion > challenger:
            losses += 1
        else:
            ties += 1
    return Tally(wins, losses, ties)


@dataclass(frozen=True)
class Decision:
    action: str  # "promote", "retire" or "wait"
    tally: Tally
    p_value: float
    reason: str


def decide(scores: Sequence[tuple[int, int]], *, min_comparisons: int, alpha: float = 0.05,
           held_out_ok: bool | None = None) -> Decision:
    """The promotion rule over per-album scores in the order they were shown."""
    first = tally(scores, min_comparisons)
    p = sign_test_p(first.wins, first.losses)
    summary = f"challenger won {first.wins}, lost {first.losses} (ties {first.ties}), sign test p={p:.3g}"
    if first.decided < min_comparisons:
        return Decision("wait", first, p, f"{summary}; deciding at {min_comparisons} decided albums")
    if p < alpha and first.wins > first.losses:
        if held_out_ok is False:
            return Decision("retire", first, p, f"{summary}, but it loses on held-out votes")
        return Decision("promote", first, p, f"{summary} over {min_comparisons} albums")
    verdict = "lost" if p < alpha else "no significant difference"
    return Decision("retire", first, p, f"{summary} over {min_comparisons} albums: {verdict}")
