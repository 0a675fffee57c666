"""Synthesise a phone-like photo of a product: warp, rotate, scale, paste onto a real photograph,
occlude, blur, light differently and re-encode as JPEG.

`compose` is a pure function of (cut-out, background pool, rng, style). The two styles differ on
purpose: `TRAIN_STYLE` draws from wide ranges with Gaussian blur, per-channel gains, additive noise
and rectangular occluders; `EVAL_STYLE` uses the issue's phone-photo ranges with motion blur, a
colour-temperature cast, gamma and elliptical occluders, on canvas shapes training never uses.
The composite's `box` is the product's true bounding box (of its mask, after every warp).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.photos.backgrounds import BackgroundPool
from engine.photos.clutter import ClutterPool
from engine.photos.cutout import Cutout


@dataclass(frozen=True)
class PhotoStyle:
    """The random ranges of one kind of photo."""

    name: str
    canvases: tuple[tuple[int, int], ...]  # (width, height) choices
    scale: tuple[float, float]  # product's longest side / frame's shorter side
    rotation: float  # ± degrees
    perspective: float  # max corner shift, fraction of the product's size
    cutout_share: float  # share pasted as a cut-out (else the whole studio crop)
    occlusion: float  # probability of an occluder
    occluder_size: tuple[float, float]  # occluder side, fraction of the product box
    blur: float  # probability of blur
    blur_kind: str  # "gaussian" or "motion"
    blur_radius: tuple[float, float]
    brightness: tuple[float, float]
    cast: float  # gains (train) or colour temperature (eval) spread
    cast_kind: str  # "gains" or "temperature"
    gamma: tuple[float, float]
    noise: tuple[float, float]  # sigma of additive noise in 0..255 units
    jpeg: tuple[int, int]
    inside: float  # share of the product that must stay inside the frame
    studio_share: float = 0.0  # share of photos that are the catalog shot itself (localiser training)
    distractor: float = 0.0  # probability of a second product in the frame
    clutter: float = 0.0  # probability of non-product objects around (and over) the product
    clutter_count: tuple[int, int] = (1, 4)  # how many, when there are some


TRAIN_STYLE = PhotoStyle(
    name="train",
    canvases=((512, 512), (640, 512), (512, 640), (768, 432), (432, 768), (600, 450), (450, 600)),
    scale=(0.15, 0.85), rotation=35.0, perspective=0.14, cutout_share=0.6,
    occlusion=0.3, occluder_size=(0.15, 0.4), blur=0.4, blur_kind="gaussian",
    blur_radius=(0.3, 1.8), brightness=(0.55, 1.45), cast=0.1, cast_kind="gains",
    gamma=(1.0, 1.0), noise=(0.0, 7.0), jpeg=(35, 95), inside=0.85,
    studio_share=0.1, distractor=0.2, clutter=0.7,
)
EVAL_STYLE = PhotoStyle(
    name="eval",
    canvases=((640, 480), (480, 640), (720, 720), (800, 600), (600, 800)),
    scale=(0.2, 0.7), rotation=25.0, perspective=0.1, cutout_share=0.5,
    occlusion=0.3, occluder_size=(0.15, 0.35), blur=0.35, blur_kind="motion",
    blur_radius=(1.0, 3.0), brightness=(0.65, 1.35), cast=0.12, cast_kind="temperature",
    gamma=(0.8, 1.25), noise=(0.0, 0.0), jpeg=(55, 90), inside=1.0,
)

# For choosing settings (`evaluate_photos.py --pool dev`): training's ranges at the evaluation's
# scales, one product, no clutter, on the dev pool's photos, which training never sees.
DEV_STYLE = replace(TRAIN_STYLE, name="dev", scale=(0.2, 0.7), inside=1.0, studio_share=0.0, distractor=0.0,
                    clutter=0.0)


@dataclass(frozen=True)
class Composite:
    """A synthetic photo, the product's true box (x1, y1, x2, y2) and its mask at photo size."""

    image: Image.Image
    box: tuple[float, float, float, float]
    mask: np.ndarray  # (h, w) float32 in [0, 1]: every pasted product (distractors included)
    jpeg: bytes


def _perspective_coefficients(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    """PIL PERSPECTIVE coefficients mapping output points `target` to input points `source`."""
    rows = []
    for (x, y), (u, v) in zip(target, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.asarray(rows, np.float64), np.asarray(source, np.float64).reshape(8))
    return [float(value) for value in solution]


def _warp(layers: list[Image.Image], rng: np.random.Generator, style: PhotoStyle,
          size: tuple[int, int]) -> list[Image.Image]:
    """Resize, perspective-warp and rotate every layer by the same random transform."""
    w, h = size
    layers = [layer.resize(size, Image.Resampling.BICUBIC) for layer in layers]
    if style.perspective > 0:
        shift = style.perspective * np.array([w, h])
        corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
        moved = [(float(c[0] + inward[i, 0] * rng.uniform(0, 1) * shift[0]),
                  float(c[1] + inward[i, 1] * rng.uniform(0, 1) * shift[1])) for i, c in enumerate(corners)]
        coefficients = _perspective_coefficients(corners, moved)
        layers = [layer.transform(size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC)
                  for layer in layers]
    angle = float(rng.uniform(-style.rotation, style.rotation))
    return [layer.rotate(angle, Image.Resampling.BICUBIC, expand=True) for layer in layers]


def _paste(frame: Image.Image, union: np.ndarray, cutout: Cutout, rng: np.random.Generator,
           style: PhotoStyle, scale: tuple[float, float] | None = None) -> tuple[float, float, float, float] | None:
    """Paste one product into `frame` (in place); add its mask to `union`; return its true box."""
    width, height = frame.size
    longest = rng.uniform(*(scale or style.scale)) * min(width, height)
    crop_w, crop_h = cutout.crop.size
    factor = longest / max(crop_w, crop_h)
    size = (max(4, round(crop_w * factor)), max(4, round(crop_h * factor)))
    cut = bool(rng.random() < style.cutout_share)
    product_mask = Image.fromarray((cutout.mask * 255).astype(np.uint8))
    paste_alpha = product_mask if cut else Image.new("L", cutout.crop.size, 255)
    rgba = cutout.crop.convert("RGBA")
    rgba.putalpha(paste_alpha)
    layer, warped_mask = _warp([rgba, product_mask], rng, style, size)
    product = np.asarray(warped_mask, np.float32) / 255
    # Placement: keep `inside` of the product's box within the frame.
    lw, lh = layer.size
    slack_x, slack_y = (1 - style.inside) * lw, (1 - style.inside) * lh
    x = int(rng.uniform(-slack_x, max(-slack_x + 1, width - lw + slack_x)))
    y = int(rng.uniform(-slack_y, max(-slack_y + 1, height - lh + slack_y)))
    frame.paste(layer, (x, y), layer)
    x1, y1, x2, y2 = max(0, x), max(0, y), min(width, x + lw), min(height, y + lh)
    if x2 <= x1 or y2 <= y1:
        return None
    placed = np.zeros((height, width), np.float32)
    placed[y1:y2, x1:x2] = product[y1 - y : y2 - y, x1 - x : x2 - x]
    np.maximum(union, placed, out=union)
    ys, xs = np.nonzero(placed > 0.5)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def _unmask(union: np.ndarray, shape: Image.Image, left: int, top: int) -> None:
    """Take what `shape` (an "L" alpha pasted at `left`, `top`) hides off the product mask `union`."""
    height, width = union.shape
    sx1, sy1 = max(0, left), max(0, top)
    sx2, sy2 = min(width, left + shape.width), min(height, top + shape.height)
    if sx2 > sx1 and sy2 > sy1:
        hidden = np.asarray(shape, np.float32)[sy1 - top : sy2 - top, sx1 - left : sx2 - left] / 255
        union[sy1:sy2, sx1:sx2] *= 1 - hidden


def _occlude(frame: Image.Image, union: np.ndarray, box: tuple[float, float, float, float],
             rng: np.random.Generator, style: PhotoStyle, backgrounds: BackgroundPool) -> None:
    """Cover part of the product with a patch of another photograph (a hand, a bag strap...)."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    ow = max(4, int(rng.uniform(*style.occluder_size) * bw))
    oh = max(4, int(rng.uniform(*style.occluder_size) * bh))
    # Enter from one side of the product box, so the product is cut, not hidden.
    side = int(rng.integers(4))
    cx = x1 + (rng.uniform(0, bw) if side in (0, 2) else (0 if side == 1 else bw))
    cy = y1 + (rng.uniform(0, bh) if side in (1, 3) else (0 if side == 0 else bh))
    left, top = int(cx - ow / 2), int(cy - oh / 2)
    patch = backgrounds.sample(rng, (ow, oh))
    shape = Image.new("L", (ow, oh), 0)
    if style.name == "eval":
        ImageDraw.Draw(shape).ellipse([0, 0, ow - 1, oh - 1], fill=255)
    else:
        ImageDraw.Draw(shape).rectangle([0, 0, ow - 1, oh - 1], fill=255)
    frame.paste(patch, (left, top), shape)
    _unmask(union, shape, left, top)


def _scatter(frame: Image.Image, clutter: ClutterPool, rng: np.random.Generator, style: PhotoStyle) -> None:
    """Paste a few non-product objects anywhere in the scene (they stay out of every mask)."""
    solid = replace(style, cutout_share=1.0)  # always along the object's alpha, never its box
    for _ in range(int(rng.integers(style.clutter_count[0], style.clutter_count[1] + 1))):
        thing = clutter.sample(rng)
        if thing is not None:
            _paste(frame, np.zeros((frame.height, frame.width), np.float32), thing, rng, solid, (0.1, 0.5))


def _cover(frame: Image.Image, union: np.ndarray, box: tuple[float, float, float, float],
           clutter: ClutterPool, rng: np.random.Generator) -> None:
    """Put an object in front of one edge of the product (a mug, a plant) and unmask what it hides."""
    thing = clutter.sample(rng)
    if thing is None:
        return
    x1, y1, x2, y2 = box
    side = rng.uniform(0.25, 0.5) * max(x2 - x1, y2 - y1)
    factor = side / max(thing.crop.size)
    size = (max(4, round(thing.crop.width * factor)), max(4, round(thing.crop.height * factor)))
    layer = thing.crop.resize(size, Image.Resampling.BICUBIC)
    alpha = Image.fromarray((thing.mask * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
    cx = x1 + rng.uniform(0, 1) * (x2 - x1)
    cy = (y2 if rng.random() < 0.6 else y1) + rng.uniform(-0.2, 0.2) * (y2 - y1)
    left, top = int(cx - size[0] / 2), int(cy - size[1] / 2)
    frame.paste(layer, (left, top), alpha)
    _unmask(union, alpha, left, top)


def _light(frame: Image.Image, rng: np.random.Generator, style: PhotoStyle) -> Image.Image:
    """Blur, brightness, colour cast, gamma and sensor noise, applied to the whole photo."""
    if rng.random() < style.blur:
        radius = float(rng.uniform(*style.blur_radius))
        if style.blur_kind == "motion":
            length = max(2, int(round(radius * 2)))
            kernel = np.zeros((length | 1, length | 1), np.float32)
            kernel[len(kernel) // 2, :] = 1
            if rng.random() < 0.5:
                kernel = kernel.T
            k = len(kernel)
            if k <= 5:
                frame = frame.filter(ImageFilter.Kernel((k, k), kernel.ravel().tolist(), float(kernel.sum())))
            else:
                frame = frame.filter(ImageFilter.BoxBlur(radius))
        else:
            frame = frame.filter(ImageFilter.GaussianBlur(radius))
    # Brightness, cast and gamma are per-channel curves: one lookup table, applied in uint8.
    gains = np.full(3, rng.uniform(*style.brightness), np.float64)
    if style.cast_kind == "temperature":
        t = rng.uniform(-style.cast, style.cast)
        gains *= np.array([1 + t, 1.0, 1 - t])
    else:
        gains *= rng.normal(1.0, style.cast, 3)
    gamma = rng.uniform(*style.gamma)
    levels = np.arange(256, dtype=np.float64) / 255
    table = [np.clip(np.clip(levels * g, 0, 1) ** gamma * 255 + 0.5, 0, 255).astype(np.uint8) for g in gains]
    frame = frame.point(np.concatenate(table).tolist())
    sigma = rng.uniform(*style.noise)
    if sigma > 0:
        noise = rng.standard_normal((frame.height, frame.width, 1), dtype=np.float32) * sigma
        pixels = np.asarray(frame, np.float32) + noise  # grain, the same on all channels
        frame = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
    return frame


def compose(cutout: Cutout, backgrounds: BackgroundPool, rng: np.random.Generator, style: PhotoStyle,
            *, distractor: Cutout | None = None, studio: Image.Image | None = None,
            clutter: ClutterPool | None = None) -> Composite:
    """One phone-like photo of `cutout`'s product.

    `studio` (the item's own catalog photo) is used as the scene with probability
    `style.studio_share`; `distractor` is a second product pasted first, with probability
    `style.distractor`, so a localiser learns that a photo may hold several. With probability
    `style.clutter`, objects from `clutter` (not products: outside every mask) are scattered
    behind the product, and half the time one more stands in front of its edge.
    """
    if studio is not None and rng.random() < style.studio_share:
        frame = studio.convert("RGB")
        union = np.zeros((frame.height, frame.width), np.float32)
        x1, y1, x2, y2 = cutout.bbox
        union[y1:y2, x1:x2] = cutout.mask
        box: tuple[float, float, float, float] | None = (float(x1), float(y1), float(x2), float(y2))
    else:
        canvas = style.canvases[int(rng.integers(len(style.canvases)))]
        frame = backgrounds.sample(rng, canvas)
        union = np.zeros((frame.height, frame.width), np.float32)
        scattered = clutter if clutter is not None and len(clutter) and rng.random() < style.clutter else None
        if scattered is not None:
            _scatter(frame, scattered, rng, style)
        if distractor is not None and rng.random() < style.distractor:
            _paste(frame, union, distractor, rng, style)
        own = np.zeros_like(union)
        box = _paste(frame, own, cutout, rng, style)
        union = np.maximum(union * (own < 0.5), own)
        if box is not None and rng.random() < style.occlusion:
            _occlude(frame, union, box, rng, style, backgrounds)
        if box is not None and scattered is not None and rng.random() < 0.5:
            _cover(frame, union, box, scattered, rng)
    if box is None:  # pasted fully outside (cannot happen with inside ≥ 0.5): fall back to the box
        box = (0.0, 0.0, float(frame.width), float(frame.height))
    frame = _light(frame, rng, style)
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=int(rng.integers(style.jpeg[0], style.jpeg[1] + 1)))
    jpeg = buffer.getvalue()
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    return Composite(image, box, union, jpeg)
