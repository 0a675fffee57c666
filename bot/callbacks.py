"""Callback data: compact, self-describing strings (≤ 64 bytes) that survive restarts.

    v:<shown_id>:+   vote on a search match        g:<pair_id>:-   vote on a game pair
    gn               next game pair                var:<index>     pick a variant
    fg:<user_id>:y / fg:<user_id>:n   confirm / cancel the /forget that user asked for
    rg:<query_id>:<x1>,<y1>,<x2>,<y2>   search another product found in that query's photo

`parse` accepts exactly these shapes; anything else raises `MalformedCallback`. The ids are then
validated against the database by the handlers (existence and ownership).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
_MAX_ID = 2**53  # ids are SQLite rowids; refuse absurd numbers early

_PATTERNS = {
    "vote": re.compile(r"v:([1-9][0-9]{0,15}):([+-])"),
    "game": re.compile(r"g:([1-9][0-9]{0,15}):([+-])"),
    "next": re.compile(r"gn"),
    "variant": re.compile(r"var:(0|[1-9][0-9]{0,3})"),
    "forget": re.compile(r"fg:([1-9][0-9]{0,15}):([yn])"),
    "region": re.compile(r"rg:([1-9][0-9]{0,15}):([0-9]{1,5}),([0-9]{1,5}),([0-9]{1,5}),([0-9]{1,5})"),
}


class MalformedCallback(ValueError):
    """Callback data this bot never produces (forged, from an old version, or garbage)."""


@dataclass(frozen=True)
class Callback:
    """A parsed button press: `kind` is one of vote, game, next, variant, forget."""

    kind: str
    target: int = 0  # shown_id, pair_id, variant index, or the user a /forget belongs to
    value: int = 0  # +1 / -1 for votes
    confirm: bool = False  # forget: yes / no
    box: tuple[int, int, int, int] | None = None  # region: the product's box in the query's photo


def vote(shown_id: int, value: int) -> str:
    return _checked(f"v:{int(shown_id)}:{_sign(value)}")


def game_vote(pair_id: int, value: int) -> str:
    return _checked(f"g:{int(pair_id)}:{_sign(value)}")


def next_pair() -> str:
    return "gn"


def variant(index: int) -> str:
    return _checked(f"var:{int(index)}")


def forget(user_id: int, confirm: bool) -> str:
    """Bound to the user who asked: in a group, nobody else's press may delete (or cancel) it."""
    return _checked(f"fg:{int(user_id)}:{'y' if confirm else 'n'}")


def region(query_id: int, box: tuple[float, float, float, float]) -> str:
    """Search the product in `box` (photo pixels) of the photo that query `query_id` searched."""
    x1, y1, x2, y2 = (max(0, int(round(v))) for v in box)
    return _checked(f"rg:{int(query_id)}:{x1},{y1},{x2},{y2}")


def parse(data: str | None) -> Callback:
    """The Callback for `data`, or MalformedCallback."""
    if not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise MalformedCallback(f"bad callback data {data!r}")
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(data)
        if match is None:
            continue
        if kind in ("vote", "game"):
            target = int(match.group(1))
            if target > _MAX_ID:
                break
            return Callback(kind, target, 1 if match.group(2) == "+" else -1)
        if kind == "variant":
            return Callback(kind, int(match.group(1)))
        if kind == "forget":
            return Callback(kind, int(match.group(1)), confirm=match.group(2) == "y")
        if kind == "region":
            x1, y1, x2, y2 = (int(match.group(i)) for i in range(2, 6))
            if int(match.group(1)) > _MAX_ID or x2 <= x1 or y2 <= y1:
                break
            return Callback(kind, int(match.group(1)), box=(x1, y1, x2, y2))
        return Callback(kind)
    raise MalformedCallback(f"bad callback data {data!r}")


def _sign(value: int) -> str:
    if value not in (1, -1):
        raise ValueError(f"vote value must be +1 or -1, got {value!r}")
    return "+" if value == 1 else "-"


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data
