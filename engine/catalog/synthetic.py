"""Deterministic synthetic demo catalog: product photos with known colour, pattern and bbox.

Fashion-MNIST has no colour or pattern, so the demo and the simulated users need a catalog
where those are ground truth. Each item is a pure function of (seed, index): a silhouette
(t-shirt, dress, ... mug; drawn with Zipf-like popularity, as in real shops) × a named colour ×
a pattern (solid, stripes, gingham, dots, plaid, zigzag), placed and scaled at random without
rotation, on a light or dark gradient background, with lighting and noise jitter. Like real
products, two items of the same category, colour and pattern still differ: the cut is wider or
narrower, and most carry a trim band (collar or hem) and/or a printed motif in their own colours. Item i does not
depend on n, and the same seed gives byte-identical JPEGs (with the same Pillow/libjpeg).

About 80% of items are split "train", the rest "test", drawn per item.
"""
from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np
from PIL import Image, ImageDraw

from engine.catalog.store import Item
from engine.catalog.synthetic_shapes import PATTERNS, RGB, SHAPES, Point, Shape, pattern_texture

logger = logging.getLogger(__name__)

COLOURS: dict[str, RGB] = {
    "red": (200, 30, 40), "orange": (235, 120, 30), "yellow": (240, 200, 40),
    "green": (40, 140, 60), "blue": (40, 90, 200), "navy": (25, 35, 85),
    "purple": (120, 50, 140), "pink": (235, 130, 170), "brown": (120, 75, 40),
    "black": (25, 25, 25), "white": (245, 245, 240), "grey": (130, 130, 130),
}  # fmt: skip
SYNTHETIC_CATEGORIES = tuple(shape.name for shape in SHAPES)
SYNTHETIC_PATTERNS = tuple(PATTERNS)
SYNTHETIC_COLOURS = tuple(COLOURS)
# Plain goods dominate real catalogs; the other patterns share the rest.
_PATTERN_WEIGHTS = np.array([0.35] + [0.13] * (len(PATTERNS) - 1))
_PATTERN_WEIGHTS /= _PATTERN_WEIGHTS.sum()
_CATEGORY_WEIGHTS = 1.0 / np.arange(1, len(SHAPES) + 1) ** 1.1  # Zipf-like popularity
_CATEGORY_WEIGHTS /= _CATEGORY_WEIGHTS.sum()
SUPERSAMPLE = 2  # draw the mask at 2× and downsample: smooth edges without a blur pass
DEMO_URL = "https://shop.example.com/p/"


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything random about one synthetic item; `render_spec` turns it into pixels."""

    shape: Shape
    colour: str
    pattern: str
    secondary: RGB
    accent: RGB
    box: tuple[float, float, float, float]  # object box (x, y, width, height) in pixels
    period: float
    background: tuple[RGB, RGB]  # top and bottom of the vertical gradient
    brightness: float
    shading: float
    noise: float
    noise_seed: int
    price: float
    split: str
    size: int
    trim: str = "none"  # "none", "top" (collar/waistband) or "bottom" (hem)
    trim_height: float = 0.0  # fraction of the object's height
    motif: str = "none"  # "none", "circle", "square", "diamond" or "bar"
    motif_centre: tuple[float, float] = (0.5, 0.5)  # object-relative (u, v)
    motif_size: float = 0.0  # fraction of the object's width
    trim_colour: RGB = (0, 0, 0)
    motif_colour: RGB = (0, 0, 0)


@dataclass(frozen=True)
class SyntheticSample:
    """A rendered item: its JPEG bytes and its Item (image_path is the bare file name)."""

    item: Item
    jpeg: bytes


def sample_spec(seed: int, index: int, *, size: int = 224, noise: bool = True) -> SyntheticSpec:
    """Draw the random choices for item `index` of catalog `seed` (independent of the others)."""
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be >= 0")
    rng = np.random.default_rng([seed, index])
    shape = SHAPES[rng.choice(len(SHAPES), p=_CATEGORY_WEIGHTS)]
    colour = SYNTHETIC_COLOURS[rng.integers(len(COLOURS))]
    pattern = SYNTHETIC_PATTERNS[rng.choice(len(PATTERNS), p=_PATTERN_WEIGHTS)]
    main = COLOURS[colour]
    background = _background(rng, main)
    return SyntheticSpec(
        shape=shape,
        colour=colour,
        pattern=pattern,
        secondary=_contrasting(rng, main),
        accent=_contrasting(rng, main),
        box=_place(rng, shape, size),
        period=float(rng.uniform(8, 20)) * size / 224,
        background=background,
        brightness=float(rng.uniform(0.88, 1.08)),
        shading=float(rng.uniform(-0.15, 0.15)),
        noise=float(rng.uniform(0.5, 3.0)) if noise else 0.0,
        noise_seed=int(rng.integers(2**31)),
        price=round(float(np.ceil(shape.price * rng.uniform(0.7, 1.6))) - 0.01, 2),
        split="test" if rng.random() < 0.2 else "train",
        size=size,
        **_details(rng, main, background[0]),
    )


TRIMS = ("none", "top", "bottom")
MOTIFS = ("none", "circle", "square", "diamond", "bar")


class _Details(TypedDict):
    """The SyntheticSpec fields `_details` draws."""

    trim_colour: RGB
    motif_colour: RGB
    trim: str
    trim_height: float
    motif: str
    motif_centre: tuple[float, float]
    motif_size: float


def _details(rng: np.random.Generator, main: RGB, background: RGB) -> _Details:
    """What makes an item itself within its (category, colour, pattern) group.

    Trim and motif colours stand out from the studio background, so the object stays one
    clear silhouette (for the bbox and for cut-outs).
    """
    options = [c for c in COLOURS.values() if c != main and abs(_luminance(c) - _luminance(background)) > 60]
    trim_colour, motif_colour = (options[i] for i in rng.integers(len(options), size=2))
    return {
        "trim_colour": trim_colour,
        "motif_colour": motif_colour,
        "trim": TRIMS[rng.choice(3, p=[0.4, 0.3, 0.3])],
        "trim_height": float(rng.uniform(0.07, 0.14)),
        "motif": MOTIFS[rng.choice(5, p=[0.35, 0.2, 0.15, 0.15, 0.15])],
        "motif_centre": (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.3, 0.65))),
        "motif_size": float(rng.uniform(0.12, 0.24)),
    }


def _luminance(rgb: RGB) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _contrasting(rng: np.random.Generator, main: RGB) -> RGB:
    """A palette colour clearly lighter or darker than `main`, so patterns stay visible."""
    options = [c for c in COLOURS.values() if abs(_luminance(c) - _luminance(main)) > 70]
    return options[rng.integers(len(options))]


def _place(rng: np.random.Generator, shape: Shape, size: int) -> tuple[float, float, float, float]:
    scale = rng.uniform(0.55, 0.85) * size
    stretch = rng.uniform(0.85, 1.15)  # a wider or narrower cut of the same silhouette
    width, height = scale * shape.aspect * stretch, scale
    if width > 0.9 * size:  # wide objects (sneakers) are limited by the width instead
        width, height = 0.9 * size, 0.9 * size / shape.aspect
    margin = 0.03 * size
    x = rng.uniform(margin, size - margin - width)
    y = rng.uniform(margin, size - margin - height)
    return (float(x), float(y), float(width), float(height))


def _background(rng: np.random.Generator, main: RGB) -> tuple[RGB, RGB]:
    # Light studio backgrounds, dark ones for light goods, so the product always stands out.
    level = rng.uniform(200, 245) if _luminance(main) < 160 else rng.uniform(60, 110)
    tint = rng.uniform(-8, 8, size=3)
    top = np.clip(level + tint, 0, 255)
    bottom = np.clip(top - rng.uniform(0, 25), 0, 255)
    return _rgb(top), _rgb(bottom)


def _rgb(values: np.ndarray) -> RGB:
    return int(values[0]), int(values[1]), int(values[2])


def render_spec(spec: SyntheticSpec) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """Draw `spec`: the RGB image and the object's bbox (x1, y1, x2, y2), x2/y2 exclusive."""
    mask, details = _draw_masks(spec)
    bbox = mask.getbbox()
    assert bbox is not None  # _place keeps every object well inside the canvas
    x1, y1, x2, y2 = bbox
    top, bottom = (np.asarray(c, np.float32) for c in spec.background)
    ramp = np.linspace(0, 1, spec.size, dtype=np.float32)[:, None, None]
    pixels = np.repeat(top * (1 - ramp) + bottom * ramp, spec.size, axis=1)
    # Only the object's box needs fabric: about half the pixels, half the time.
    alpha = np.asarray(mask, np.float32)[y1:y2, x1:x2, None] / 255
    fabric = _fabric(spec, alpha[..., 0], np.asarray(details, np.float32)[y1:y2, x1:x2], bbox)
    box = pixels[y1:y2, x1:x2]
    pixels[y1:y2, x1:x2] = box * (1 - alpha) + fabric * alpha
    pixels *= spec.brightness
    if spec.noise > 0:
        noise_rng = np.random.default_rng(spec.noise_seed)
        pixels += noise_rng.standard_normal(pixels.shape, dtype=np.float32) * spec.noise
    image = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
    return image, (float(x1), float(y1), float(x2), float(y2))


def _fabric(
    spec: SyntheticSpec, alpha: np.ndarray, details: np.ndarray, bbox: tuple[int, int, int, int]
) -> np.ndarray:
    """The patterned, seamed and side-lit fabric over the bbox crop, float32 (h, w, 3)."""
    x1, y1, x2, y2 = bbox
    x0, y0, width, _ = spec.box
    v, u = np.mgrid[y1:y2, x1:x2].astype(np.float32)
    u -= x0
    v -= y0
    texture = pattern_texture(
        spec.pattern, COLOURS[spec.colour], spec.secondary, spec.accent, u, v, spec.period
    )
    # Seams, the silhouette's inner edge and side lighting make it read as an object.
    texture = _decorate(spec, texture, u / width, v / spec.box[3])
    darken = 1 - 0.35 * details / 255 - 0.3 * _inner_edge(alpha)
    light = 1 + spec.shading * (1 - 2 * np.clip(u / width, 0, 1))
    shaded: np.ndarray = texture * (darken * light)[..., None]
    return shaded


def _decorate(spec: SyntheticSpec, texture: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Paint the trim band and the motif in their own colours at object-relative (u, v)."""
    if spec.trim != "none":
        band = v < spec.trim_height if spec.trim == "top" else v > 1 - spec.trim_height
        texture[band] = np.asarray(spec.trim_colour, np.float32)
    if spec.motif != "none":
        cu, cv = spec.motif_centre
        aspect = spec.box[3] / spec.box[2]  # v units are taller than u units by this much
        du, dv = (u - cu) / spec.motif_size, (v - cv) * aspect / spec.motif_size
        shape = {
            "circle": du**2 + dv**2 < 0.25,
            "square": (np.abs(du) < 0.45) & (np.abs(dv) < 0.45),
            "diamond": np.abs(du) + np.abs(dv) < 0.55,
            "bar": (np.abs(du) < 0.6) & (np.abs(dv) < 0.18),
        }[spec.motif]
        texture[shape] = np.asarray(spec.motif_colour, np.float32)
    return texture


def _inner_edge(alpha: np.ndarray) -> np.ndarray:
    """alpha minus its 3×3 erosion: a one-pixel rim just inside the silhouette."""
    padded = np.pad(alpha, 1)
    eroded = np.minimum.reduce(
        [padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1], padded[2:, 1:-1], alpha]
    )
    rim: np.ndarray = alpha - eroded
    return rim


def _points(data: tuple[float, ...] | tuple[Point, ...]) -> list[Point]:
    """A "poly" or "line" part's data: its (x, y) points."""
    points = [p for p in data if isinstance(p, tuple)]
    if len(points) != len(data):
        raise ValueError(f"a poly or line part lists (x, y) points, not {data!r}")
    return points


def _corners(data: tuple[float, ...] | tuple[Point, ...]) -> tuple[float, float, float, float]:
    """An "ellipse" or "cut" part's data: its box (x1, y1, x2, y2)."""
    numbers = [v for v in data if isinstance(v, (int, float))]
    if len(numbers) != 4 or len(data) != 4:
        raise ValueError(f"an ellipse or cut part is a box (x1, y1, x2, y2), not {data!r}")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _draw_masks(spec: SyntheticSpec) -> tuple[Image.Image, Image.Image]:
    """The object's coverage mask and its detail lines, at canvas size (L mode, 0..255)."""
    big = spec.size * SUPERSAMPLE
    mask, details = Image.new("L", (big, big), 0), Image.new("L", (big, big), 0)
    draw_mask, draw_details = ImageDraw.Draw(mask), ImageDraw.Draw(details)
    x0, y0, width, height = (v * SUPERSAMPLE for v in spec.box)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x0 + x * width, y0 + y * height)

    for kind, data in spec.shape.parts:
        if kind == "poly":
            draw_mask.polygon([to_px(*p) for p in _points(data)], fill=255)
        elif kind in ("ellipse", "cut"):
            x1, y1, x2, y2 = _corners(data)
            draw_mask.ellipse([to_px(x1, y1), to_px(x2, y2)], fill=255 if kind == "ellipse" else 0)
        elif kind == "line":
            line_width = max(1, round(spec.size / 112) * SUPERSAMPLE)
            points = [to_px(*p) for p in _points(data)]
            draw_details.line(points, fill=255, width=line_width)
    # Details only where there is fabric (a line's end may stick out of a cut-out).
    details = Image.composite(details, Image.new("L", details.size, 0), mask)
    small = (spec.size, spec.size)
    return mask.resize(small, Image.Resampling.BOX), details.resize(small, Image.Resampling.BOX)


def synthetic_sample(
    seed: int, index: int, *, size: int = 224, noise: bool = True
) -> SyntheticSample:
    """Item `index` of the catalog drawn from `seed`: JPEG bytes and Item."""
    spec = sample_spec(seed, index, size=size, noise=noise)
    image, bbox = render_spec(spec)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    sku = f"demo-{seed}-{index:05d}"
    pattern = "" if spec.pattern == "solid" else f" {spec.pattern}"
    item = Item(
        image_path=f"{index:05d}.jpg",
        title=f"{spec.colour.capitalize()}{pattern} {spec.shape.name}",
        category=spec.shape.name,
        attributes={"colour": spec.colour, "pattern": spec.pattern},
        bbox=bbox,
        url=DEMO_URL + sku,
        price=spec.price,
        split=spec.split,
        sku=sku,
    )
    return SyntheticSample(item=item, jpeg=buffer.getvalue())


def generate_synthetic(
    seed: int, n: int, *, size: int = 224, noise: bool = True
) -> Iterator[SyntheticSample]:
    """Items 0..n-1 of catalog `seed`, in order (pure: no files are written)."""
    for index in range(n):
        yield synthetic_sample(seed, index, size=size, noise=noise)


def iter_synthetic_catalog(
    images_dir: str | Path, *, seed: int = 0, n: int = 2000, size: int = 224, noise: bool = True
) -> Iterator[Item]:
    """Write the JPEGs of `generate_synthetic(seed, n)` into `images_dir` and yield their Items.

    `images_dir` is normally `<data_dir>/images/demo`; yielded image paths are absolute.
    """
    images_dir = Path(images_dir).resolve()
    images_dir.mkdir(parents=True, exist_ok=True)
    for sample in generate_synthetic(seed, n, size=size, noise=noise):
        path = images_dir / sample.item.image_path
        path.write_bytes(sample.jpeg)
        yield dataclasses.replace(sample.item, image_path=str(path))
