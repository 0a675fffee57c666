"""Silhouettes and fabric patterns for the synthetic demo catalog (see `synthetic.py`).

A silhouette is a list of primitives in a unit box (0..1 across its width and height): filled
polygons and ellipses, "cut" ellipses that punch holes (a mug's handle), and "line" details
(seams, a shirt's placket) that are drawn darker over the fabric. Patterns are numpy functions
of pixel coordinates relative to the object, so the fabric moves with the garment.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Shape:
    """One product silhouette: `aspect` is width / height of its box; `price` a typical price."""

    name: str
    aspect: float
    price: float
    parts: tuple[tuple[str, tuple[float, ...] | tuple[Point, ...]], ...]


def _poly(*points: Point) -> tuple[str, tuple[Point, ...]]:
    return ("poly", points)


def _line(*points: Point) -> tuple[str, tuple[Point, ...]]:
    return ("line", points)


# Most popular first: the generator draws categories with Zipf-like weights in this order.
SHAPES: tuple[Shape, ...] = (
    Shape("t-shirt", 1.0, 15.0, (
        _poly((0.32, 0.0), (0.42, 0.08), (0.5, 0.1), (0.58, 0.08), (0.68, 0.0), (1.0, 0.2),
              (0.88, 0.42), (0.78, 0.36), (0.78, 1.0), (0.22, 1.0), (0.22, 0.36), (0.12, 0.42),
              (0.0, 0.2)),
        _line((0.36, 0.02), (0.5, 0.13), (0.64, 0.02)),
    )),
    Shape("dress", 0.7, 45.0, (
        _poly((0.3, 0.0), (0.38, 0.0), (0.42, 0.1), (0.58, 0.1), (0.62, 0.0), (0.7, 0.0),
              (0.72, 0.3), (0.66, 0.42), (1.0, 1.0), (0.0, 1.0), (0.34, 0.42), (0.28, 0.3)),
        _line((0.34, 0.42), (0.66, 0.42)),
    )),
    Shape("trousers", 0.55, 40.0, (
        _poly((0.05, 0.0), (0.95, 0.0), (1.0, 1.0), (0.6, 1.0), (0.5, 0.3), (0.4, 1.0),
              (0.0, 1.0)),
        _line((0.05, 0.07), (0.95, 0.07)),
        _line((0.5, 0.07), (0.5, 0.3)),
    )),
    Shape("shirt", 1.0, 30.0, (
        _poly((0.34, 0.0), (0.5, 0.1), (0.66, 0.0), (0.84, 0.08), (1.0, 0.85), (0.88, 0.88),
              (0.78, 0.35), (0.78, 1.0), (0.22, 1.0), (0.22, 0.35), (0.12, 0.88), (0.0, 0.85),
              (0.16, 0.08)),
        _line((0.5, 0.1), (0.5, 1.0)),
        _line((0.34, 0.0), (0.44, 0.14), (0.5, 0.1), (0.56, 0.14), (0.66, 0.0)),
    )),
    Shape("skirt", 0.9, 30.0, (
        _poly((0.25, 0.0), (0.75, 0.0), (1.0, 1.0), (0.0, 1.0)),
        _line((0.24, 0.08), (0.76, 0.08)),
    )),
    Shape("coat", 0.8, 90.0, (
        _poly((0.36, 0.0), (0.5, 0.12), (0.64, 0.0), (0.82, 0.06), (1.0, 0.8), (0.88, 0.82),
              (0.8, 0.35), (0.82, 1.0), (0.18, 1.0), (0.2, 0.35), (0.12, 0.82), (0.0, 0.8),
              (0.18, 0.06)),
        _line((0.36, 0.0), (0.46, 0.3), (0.5, 0.12), (0.54, 0.3), (0.64, 0.0)),
        _line((0.5, 0.3), (0.5, 1.0)),
    )),
    Shape("bag", 1.0, 50.0, (
        ("ellipse", (0.25, 0.0, 0.75, 0.7)),
        ("cut", (0.33, 0.08, 0.67, 0.62)),
        _poly((0.08, 0.4), (0.92, 0.4), (1.0, 1.0), (0.0, 1.0)),
        _line((0.06, 0.55), (0.94, 0.55)),
    )),
    Shape("sneakers", 2.0, 70.0, (
        _poly((0.0, 0.55), (0.05, 0.3), (0.3, 0.2), (0.45, 0.0), (0.7, 0.0), (0.75, 0.35),
              (0.95, 0.55), (1.0, 0.8), (1.0, 1.0), (0.0, 1.0)),
        _line((0.0, 0.82), (1.0, 0.82)),
        _line((0.35, 0.2), (0.45, 0.35), (0.55, 0.18), (0.6, 0.35)),
    )),
    Shape("hat", 1.6, 20.0, (
        ("ellipse", (0.22, 0.0, 0.78, 0.9)),
        ("ellipse", (0.0, 0.6, 1.0, 1.0)),
        _line((0.23, 0.62), (0.77, 0.62)),
    )),
    Shape("lamp", 0.6, 35.0, (
        _poly((0.25, 0.0), (0.75, 0.0), (1.0, 0.4), (0.0, 0.4)),
        _poly((0.46, 0.4), (0.54, 0.4), (0.54, 0.92), (0.46, 0.92)),
        ("ellipse", (0.2, 0.88, 0.8, 1.0)),
    )),
    Shape("mug", 1.2, 10.0, (
        ("ellipse", (0.55, 0.2, 1.0, 0.78)),
        ("cut", (0.66, 0.33, 0.9, 0.65)),
        _poly((0.0, 0.0), (0.75, 0.0), (0.75, 1.0), (0.0, 1.0)),
        _line((0.0, 0.06), (0.75, 0.06)),
    )),
)  # fmt: skip


PatternFn = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _stripes(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    return (np.floor(v / (period / 2)) % 2).astype(np.float32)


def _gingham(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    # 0 = light ground, 0.5 = one band, 1 = crossing: gingham's three tones.
    a = np.floor(u / (period / 2)) % 2
    b = np.floor(v / (period / 2)) % 2
    mask: np.ndarray = ((a + b) / 2).astype(np.float32)
    return mask


def _dots(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    row = np.floor(v / period)
    uu = (u + (row % 2) * period / 2) % period - period / 2  # staggered rows, like polka dots
    vv = v % period - period / 2
    return ((uu**2 + vv**2) < (0.28 * period) ** 2).astype(np.float32)


def _plaid(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    big = period * 2.5
    horizontal = (v % big) < period * 0.8
    vertical = (u % big) < period * 0.8
    return (0.45 * horizontal + 0.45 * vertical).astype(np.float32)


def _plaid_lines(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    big = period * 2.5
    return (((v + big / 2) % big < 2) | ((u + big / 2) % big < 2)).astype(np.float32)


def _zigzag(u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    offset = np.abs((u / period) % 2 - 1) * period * 0.6  # a triangle wave bends the stripes
    return (np.floor((v + offset) / (period / 2)) % 2).astype(np.float32)


# Pattern → function giving the weight (0..1) of the secondary colour at each pixel.
PATTERNS: dict[str, PatternFn | None] = {
    "solid": None,
    "stripes": _stripes,
    "gingham": _gingham,
    "dots": _dots,
    "plaid": _plaid,
    "zigzag": _zigzag,
}


def pattern_texture(
    pattern: str,
    main: RGB,
    secondary: RGB,
    accent: RGB,
    u: np.ndarray,
    v: np.ndarray,
    period: float,
) -> np.ndarray:
    """Float32 (H, W, 3) fabric for `pattern` at object-relative coordinates (u, v)."""
    base = np.asarray(main, dtype=np.float32)
    fn = PATTERNS[pattern]
    if fn is None:
        return np.broadcast_to(base, (*u.shape, 3)).copy()
    if pattern == "gingham":
        # Gingham: a light ground with coloured bands, so the "colour" is the bands'.
        base, secondary = np.asarray(secondary, dtype=np.float32), main
    weight = fn(u, v, period)[..., None]
    texture: np.ndarray = base * (1 - weight) + np.asarray(secondary, dtype=np.float32) * weight
    if pattern == "plaid":
        lines = _plaid_lines(u, v, period)[..., None]
        texture = texture * (1 - lines) + np.asarray(accent, dtype=np.float32) * lines
    return texture
