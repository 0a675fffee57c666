"""Leaderboard maths: approval rates with 95% Wilson score intervals, per variant and source.

Pure functions over `VoteCounts` rows, so they are unit-tested against known values.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from votes.store import VoteCounts

Z95 = 1.959963984540054  # two-sided 95% normal quantile
SOURCES = ("search", "game")


def wilson_interval(up: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for `up` successes out of `n` trials; (0, 1) when n == 0."""
    if n < 0 or not 0 <= up <= n:
        raise ValueError(f"need 0 <= up <= n, got up={up}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = up / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class LeaderboardRow:
    variant: str
    up: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.up / self.n if self.n else 0.0


def leaderboard(counts: Iterable[VoteCounts], source: str | None = None,
                variants: Iterable[str] = ()) -> list[LeaderboardRow]:
    """Rows ranked by approval rate (then Wilson lower bound, then votes); `source=None` = both.

    `variants` adds rows with no votes yet, so every variant is listed.
    """
    totals: dict[str, list[int]] = {v: [0, 0] for v in variants}
    for row in counts:
        if source is None or row.source == source:
            up_down = totals.setdefault(row.variant, [0, 0])
            up_down[0] += row.up
            up_down[1] += row.down
    rows = [LeaderboardRow(v, up, up + down, *wilson_interval(up, up + down)) for v, (up, down) in totals.items()]
    return sorted(rows, key=lambda r: (-r.rate, -r.low, -r.n, r.variant))


def format_leaderboard(title: str, rows: list[LeaderboardRow]) -> str:
    """A short plain-text table: rank, variant, approval %, votes, 95% CI."""
    lines = [title]
    if not any(r.n for r in rows):
        return f"{title}\n  no votes yet"
    for place, row in enumerate(rows, start=1):
        if row.n == 0:
            lines.append(f"{place}. {row.variant}: no votes")
            continue
        lines.append(
            f"{place}. {row.variant}: {row.rate:.0%} of {row.n} "
            f"(👍{row.up} 👎{row.n - row.up}, 95% CI {row.low:.0%}–{row.high:.0%})"
        )
    return "\n".join(lines)
