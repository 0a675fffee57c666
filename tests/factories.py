"""Real test inputs made on the spot: JPEG/PNG/GIF bytes and small catalogs on disk."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from engine.catalog import CatalogStore, Item
from engine.settings import Settings

COLOURS = {
    "red": (200, 30, 30), "green": (30, 160, 60), "blue": (30, 60, 200), "yellow": (230, 200, 20),
    "black": (20, 20, 20), "purple": (130, 40, 160), "orange": (240, 120, 20), "teal": (20, 150, 150),
}
SHAPES = ("square", "disc", "triangle", "bar")


def draw_product(shape: str, colour: tuple[int, int, int], size: int = 96, seed: int = 0) -> Image.Image:
    """A product-like picture: one coloured shape on a light, slightly noisy background."""
    rng = np.random.default_rng(seed)
    background = rng.integers(225, 255, size=(size, size, 3), dtype=np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(-6, 7))
    a, b = size // 5 + jitter, 4 * size // 5 + jitter
    if shape == "square":
        draw.rectangle((a, a, b, b), fill=colour)
    elif shape == "disc":
        draw.ellipse((a, a, b, b), fill=colour)
    elif shape == "triangle":
        draw.polygon([(size // 2, a), (a, b), (b, b)], fill=colour)
    else:
        draw.rectangle((a, size // 2 - size // 10, b, size // 2 + size // 10), fill=colour)
    return image


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg_bytes(shape: str = "disc", colour: str = "red", size: int = 96, seed: int = 0) -> bytes:
    return encode(draw_product(shape, COLOURS[colour], size, seed), "JPEG", quality=90)


def make_catalog(folder: Path, n: int = 32, size: int = 96) -> CatalogStore:
    """A catalog of `n` distinct items (shape × colour × seed); category = shape."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    items = []
    colour_names = list(COLOURS)
    for i in range(n):
        shape, colour = SHAPES[i % len(SHAPES)], colour_names[(i // len(SHAPES)) % len(colour_names)]
        path = images / f"{i:04d}.jpg"
        path.write_bytes(jpeg_bytes(shape, colour, size, seed=i))
        items.append(Item(
            image_path=f"images/{i:04d}.jpg", title=f"{colour} {shape} #{i}", category=shape,
            attributes={"colour": colour}, url=f"https://shop.example/item/{i}", price=10.0 + i,
        ))
    store = CatalogStore(folder / "catalog.sqlite")
    store.add_items(items)
    return store


def truncated_jpeg() -> bytes:
    data = jpeg_bytes(size=256)
    return data[: len(data) // 2]


def animated_gif() -> bytes:
    frames = [draw_product("disc", c, 64) for c in (COLOURS["red"], COLOURS["blue"])]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A real 20000×20000 PNG (1-bit, so it is small on disk): a decompression-bomb shape."""
    return encode(Image.new("1", (width, height), 1), "PNG")


def make_projection_model(settings: Settings, name: str, seed: int, metrics: tuple[str, ...] = ("l2",),
                          dim: int = 16) -> Path:
    """`ft:<name>`: a random projection of `random-init` with its indexes, as retrain.py writes them.

    The catalog at settings.catalog_path is embedded once (cached in settings.embeddings_dir).
    """
    from engine.embedders import load_embedder
    from engine.embedders.projection import project, save_projection_checkpoint
    from engine.feedback.pipeline import RetrainPaths, rebuild_indexes
    from engine.ingest import embed_catalog

    base = load_embedder("random-init", "cpu", allow_random=True)
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((dim, base.dim)).astype(np.float32)
    bias = np.zeros(dim, np.float32)
    path = settings.models_dir / f"{name}.pt"
    save_projection_checkpoint(path, base, weight, bias, {}, trained_on={"seed": seed})
    paths = RetrainPaths.from_settings(settings)
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        run = embed_catalog(catalog, base, settings.embeddings_dir, num_workers=0, progress=False)
        rebuild_indexes(catalog, paths, name, run.ids, project(run.features, weight, bias),
                        metrics, "cpu")  # type: ignore[arg-type]
    return path
