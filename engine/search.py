"""The search API: one `Engine` holds the catalog, the embedders and the variant indexes.

    engine = Engine.from_settings(Settings())
    engine.search(photo_bytes, k=5, variant="efficientnet-lite0/hamming") -> [Match, ...]

Everything here is synchronous and CPU/GPU bound; the bot reaches it through
`engine.serving.BatchingSearcher`, which runs it off the event loop and batches queries.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.appearance import APPEARANCE_FILE, AppearanceTable, colour_descriptor
from engine.catalog.store import CatalogStore, Item
from engine.embedders import Embedder, available_embedders, load_embedder
from engine.errors import EngineError, IndexCorruptError, InvalidImageError, UnknownNameError
from engine.images import DEFAULT_MAX_PIXELS, load_image
from engine.index.backends import IndexBackend, SearchIndex, as_backend, open_backend
from engine.index.metrics import Metric
from engine.live import LiveModels, ModelSet, pinned, pinned_search
from engine.localise import Localiser, Region, load_localiser
from engine.localise.regions import Box
from engine.provenance import index_provenance
from engine.settings import Settings
from engine.variants import Variant

logger = logging.getLogger(__name__)

ImageInput = bytes | Image.Image | str | Path
DEFAULT_DECODE_THREADS = min(4, os.cpu_count() or 1)
DECODE_MAX_SIDE = 1600  # big JPEGs decode at a reduced scale (≥ this side): products stay sharp
# A searched box is embedded twice, as found and with 4% of its size cut from every side, and the
# two vectors are averaged: a box that takes in some background still matches (dev pool, 400
# photos: exact@5 75 → 78 %, colour@1 72 → 73 %; evaluate_photos.py --pool dev).
CROP_INSETS = (0.0, 0.04)


@dataclass(frozen=True)
class Match:
    item: Item
    distance: float
    rank: int  # 1-based


class Matches(list[Match]):
    """The top-k matches of one photo, plus what was searched.

    `vector` is the searched region's feature (for retraining); `box` the region of the photo
    that was searched (None: the whole photo); `regions` every product the localiser found,
    best first; `confident` False when the localiser found nothing clear (crop tip). For a
    projection (ft:) embedder, `base_vector` is its built-in base's feature of the same region,
    `base_embedder` that built-in: what a vote is recorded with, so retraining learns from it.
    `appearance` is the searched region's colour descriptor (engine.appearance), recorded too.
    """

    def __init__(self, matches: Sequence[Match] = (), vector: np.ndarray | None = None, *,
                 box: Box | None = None, regions: Sequence[Region] = (), confident: bool = True,
                 photo_size: tuple[int, int] | None = None, base_vector: np.ndarray | None = None,
                 base_embedder: str | None = None, appearance: np.ndarray | None = None) -> None:
        super().__init__(matches)
        self.appearance = appearance
        self.vector = vector
        self.base_vector = base_vector
        self.base_embedder = base_embedder
        self.box = box
        self.regions = list(regions)
        self.confident = confident
        self.photo_size = photo_size
        self.model_version: str | None = None  # the weights that ranked these (set by pinned_search)
        self.generation: int | None = None  # the ModelSet generation that served them


    def replaced(self, matches: Sequence[Match]) -> Matches:
        """Other matches (re-ranked, interleaved) for the same photo: what was searched is kept."""
        return Matches(matches, self.vector, box=self.box, regions=self.regions, confident=self.confident,
                       photo_size=self.photo_size, base_vector=self.base_vector, base_embedder=self.base_embedder,
                       appearance=self.appearance)


@dataclass(frozen=True)
class Prepared:
    """A query's photo after decoding and localisation, ready for the embedder."""

    pixels: torch.Tensor  # (views, 3, S, S): the crops whose embeddings are averaged
    box: Box | None
    regions: tuple[Region, ...]
    confident: bool
    photo_size: tuple[int, int]
    appearance: np.ndarray  # the colour descriptor of the searched crop


@dataclass(frozen=True)
class Query:
    """One search request inside a batch."""

    image: ImageInput
    k: int
    variant: str
    box: Box | None = None  # search this region (photo pixels) instead of localising


class Engine:
    """Catalog + embedders + indexes. Build with `from_settings` or inject the parts (tests)."""

    def __init__(
        self,
        catalog: CatalogStore,
        embedders: dict[str, Embedder],
        indexes: dict[str, SearchIndex],
        *,
        max_image_pixels: int = DEFAULT_MAX_PIXELS,
        decode_threads: int = DEFAULT_DECODE_THREADS,
        backend: IndexBackend | None = None,
        localiser: Localiser | None = None,
        appearance: AppearanceTable | None = None,
    ) -> None:
        self.catalog = catalog
        self.localiser = localiser
        # Catalog colour descriptors for personal re-ranking (in memory only unless given a file).
        self.appearance = appearance or AppearanceTable(catalog)
        # The served models live in one swappable snapshot (engine/live.py): hot reloads replace it.
        self.models = LiveModels(ModelSet(dict(embedders), dict(indexes)))
        self.backend = backend  # closed with the engine (Milvus holds a connection)
        self.max_image_pixels = max_image_pixels
        # A batch's photos are decoded and letterboxed in parallel: Pillow releases the GIL.
        self._decoder = ThreadPoolExecutor(max(1, decode_threads), thread_name_prefix="decode")
        # Searches may run side by side (BatchingSearcher workers); hnswlib's ef is per index.
        self._index_lock = threading.Lock()

    @property
    def embedders(self) -> dict[str, Embedder]:
        return self.models.current.embedders

    @property
    def indexes(self) -> dict[str, SearchIndex]:
        return self.models.current.indexes

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings, *, embedder_names: Sequence[str] | None = None) -> Engine:
        """Open the catalog, load each embedder and every index built for it."""
        catalog = CatalogStore(settings.catalog_path, create=False)
        names = list(embedder_names or settings.embedders)
        embedders: dict[str, Embedder] = {}
        indexes: dict[str, SearchIndex] = {}
        backend = open_backend(settings)
        for name in names:
            embedder = load_embedder(
                name, settings.device, models_dir=settings.models_dir,
                weights_dir=settings.weights_dir, allow_random=settings.allow_random_weights,
            ).use_cpu_bf16(settings.cpu_bf16)
            found = load_variant_indexes(embedder, catalog, backend, settings.metrics)
            if found:
                embedders[name] = embedder.freeze_for_serving() if settings.frozen_graphs else embedder
                indexes.update(found)
        if not indexes:
            backend.close()
            raise EngineError(
                f"No indexes in {backend.where()} for {names}. "
                "Build them with: python scripts/build_index.py"
            )
        localiser = find_localiser(settings, names, catalog)
        logger.info("engine ready: %d items, variants %s (%s), localiser %s", len(catalog), sorted(indexes),
                    backend.name, localiser.config.get("name", "on") if localiser else "off")
        return cls(catalog, embedders, indexes, max_image_pixels=settings.max_image_pixels, backend=backend,
                   localiser=localiser, appearance=AppearanceTable(catalog, settings.embeddings_dir / APPEARANCE_FILE))

    def close(self) -> None:
        self._decoder.shutdown(wait=False)
        self.catalog.close()
        if self.backend is not None:
            self.backend.close()

    # --- introspection ----------------------------------------------------------------------
    def variants(self) -> list[str]:
        return sorted(self.indexes)

    def _index(self, variant: str) -> SearchIndex:
        if variant not in self.indexes:
            raise UnknownNameError(f"Unknown variant {variant!r}; available: {', '.join(self.variants())}")
        return self.indexes[variant]

    # --- search -----------------------------------------------------------------------------
    def decode(self, image: ImageInput) -> Image.Image:
        """Any accepted input → RGB image; raises InvalidImageError."""
        return load_image(image, max_pixels=self.max_image_pixels, max_side=DECODE_MAX_SIDE)

    def locate(self, image: Image.Image) -> tuple[list[Region], bool]:
        """The products the localiser finds in a decoded photo (best first) and whether it is sure."""
        if self.localiser is None:
            return [], True
        regions = self.localiser.locate(image)
        return regions, self.localiser.is_confident(regions)

    def embed(self, images: Sequence[Image.Image], embedder: str) -> np.ndarray:
        if embedder not in self.embedders:
            raise UnknownNameError(f"Unknown embedder {embedder!r}; loaded: {sorted(self.embedders)}")
        return self.embedders[embedder].embed_images(list(images))

    def search(self, image: ImageInput, k: int = 5, variant: str | None = None, *, box: Box | None = None) -> Matches:
        """Top-k catalog items for the product in a photo (or in `box`); see `Matches`."""
        result = self.search_many([Query(image, k, variant or self.variants()[0], box)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    @pinned_search
    def search_many(self, queries: Sequence[Query]) -> list[Matches | EngineError]:
        """Decode, embed (one forward pass per embedder) and search a batch of queries.

        A bad image fails only its own query: its slot holds the InvalidImageError.
        """
        results: list[Matches | EngineError] = [Matches() for _ in queries]
        prepared = list(self._decoder.map(self._prepare, queries)) if len(queries) > 1 else (
            [self._prepare(queries[0])] if queries else [])
        by_embedder: dict[str, list[tuple[int, Prepared]]] = {}
        for position, outcome in enumerate(prepared):
            if isinstance(outcome, EngineError):
                results[position] = outcome
            else:
                embedder = Variant.parse(queries[position].variant).embedder
                by_embedder.setdefault(embedder, []).append((position, outcome))
        for embedder, ready in by_embedder.items():
            model = self.embedders[embedder]
            views, base_views = model.embed_batch_and_base(torch.cat([done.pixels for _, done in ready]))
            ends = np.cumsum([len(done.pixels) for _, done in ready])
            features = average_views(views, ends)
            base = None if base_views is None else average_views(base_views, ends)
            for row, (position, done) in enumerate(ready):
                query = queries[position]
                found = self.search_vectors(features[row : row + 1], query.k, query.variant)[0]
                results[position] = Matches(found, features[row], box=done.box, regions=done.regions,
                                            confident=done.confident, photo_size=done.photo_size,
                                            base_vector=None if base is None else base[row], base_embedder=model.base,
                                            appearance=done.appearance)
        return results

    def _prepare(self, query: Query) -> Prepared | EngineError:
        """Decode, localise, crop and preprocess one query's photo (runs in a decode thread)."""
        try:
            self._index(query.variant)
            embedder = self.embedders[Variant.parse(query.variant).embedder]
            image = self.decode(query.image)
            # Boxes in and out are in the photo's full-size pixels, whatever scale it decoded at.
            scale = float(image.info.get("draft_scale", 1.0))
            full_size = (round(image.width * scale), round(image.height * scale))
            regions: list[Region] = []
            confident = True
            if query.box is not None:
                box = clamp_box(query.box, full_size)
            else:
                regions, confident = self.locate(image)
                regions = [r.scaled(scale) for r in regions]
                box = regions[0].box if regions else None
            crops = [image]
            if box is not None:
                crops = [image.crop(view_box(box, inset, scale)) for inset in CROP_INSETS]
            pixels = torch.stack([embedder.preprocess(crop) for crop in crops])
            return Prepared(pixels, box, tuple(regions), confident, full_size, colour_descriptor(crops[0]))
        except (InvalidImageError, UnknownNameError) as exc:
            return exc

    @pinned
    def search_vectors(self, features: np.ndarray, k: int, variant: str) -> list[list[Match]]:
        """Top-k for raw feature vectors of the variant's embedder."""
        with self._index_lock:
            ids, distances = self._index(variant).search(features, k)
        return [self._matches(row_ids, row_d) for row_ids, row_d in zip(ids, distances)]

    @pinned
    def neighbours_of_item(self, item_id: int, k: int, variant: str) -> list[Match]:
        """Nearest catalog items to a catalog item (itself excluded), from its stored vector."""
        index = self._index(variant)
        with self._index_lock:
            stored = index.vectors([item_id])
            ids, distances = index.search_stored(stored, k + 1)
        keep = ids[0] != item_id
        return self._matches(ids[0][keep][:k], distances[0][keep][:k])

    @pinned
    def stored_vectors(self, variant: str, ids: Sequence[int]) -> np.ndarray:
        """What the variant's index stores for `ids` (raw features for l2/l1/cosine indexes)."""
        return self._index(variant).vectors(list(ids))

    def appearance_of(self, ids: Sequence[int]) -> np.ndarray:
        """Catalog items' colour descriptors (personal re-ranking); described on first use."""
        return self.appearance.get(list(ids))

    def _matches(self, ids: np.ndarray, distances: np.ndarray) -> list[Match]:
        items = self.catalog.get_many(ids.tolist())
        matches = [
            Match(items[int(i)], float(d), rank)
            for rank, (i, d) in enumerate(((i, d) for i, d in zip(ids, distances) if int(i) in items), 1)
        ]
        return matches


def average_views(views: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """One row per query: the mean of its views' rows (query i's views end at row ends[i])."""
    starts = np.concatenate([[0], ends[:-1]])
    return np.stack([views[start:end].mean(axis=0) for start, end in zip(starts, ends)])


def view_box(box: Box, inset: float, scale: float = 1.0) -> tuple[int, int, int, int]:
    """`box` (full-size photo pixels) shrunk by `inset` of its size on every side, in the pixels
    of a photo decoded at 1/`scale`; at least 2×2 px."""
    x1, y1, x2, y2 = box
    dx, dy = inset * (x2 - x1), inset * (y2 - y1)
    left, top = int(round((x1 + dx) / scale)), int(round((y1 + dy) / scale))
    right, bottom = int(round((x2 - dx) / scale)), int(round((y2 - dy) / scale))
    return (left, top, max(right, left + 2), max(bottom, top + 2))


def clamp_box(box: Box, size: tuple[int, int]) -> Box | None:
    """`box` clipped to a photo of `size`; None when nothing of at least 2×2 px is left."""
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, y1 = max(0.0, min(x1, size[0])), max(0.0, min(y1, size[1]))
    x2, y2 = max(0.0, min(x2, size[0])), max(0.0, min(y2, size[1]))
    return (x1, y1, x2, y2) if x2 - x1 >= 2 and y2 - y1 >= 2 else None


def find_localiser(settings: Settings, embedder_names: Sequence[str], catalog: CatalogStore) -> Localiser | None:
    """The localiser `settings.localiser` names, if any (None: search whole photos).

    'auto' takes the one trained with an ft: photo embedder in use, else the newest one trained
    on this catalog; a localiser of another catalog is only used when named explicitly (with a
    warning: it finds products like the ones it was trained on). One that fails to load is
    logged and skipped.
    """
    choice = settings.localiser.strip()
    folder = settings.localisers_dir
    if choice.lower() in ("", "none", "off"):
        return None
    if choice.lower() == "auto":
        paired = [folder / f"{n[3:]}.pt" for n in embedder_names if n.startswith("ft:")]
        others = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
        candidates = [p for p in paired if p.is_file()] + [p for p in others if p not in paired]
    else:
        candidates = [folder / f"{choice}.pt"]
        if not candidates[0].is_file():
            raise EngineError(f"No localiser {candidates[0]}; train one with scripts/train_photo.py "
                              "or set DOPE_LOCALISER=none")
    for path in candidates:
        try:
            localiser = load_localiser(path, settings.device)
        except EngineError as exc:
            logger.error("not using localiser %s: %s", path, exc)
            continue
        if localiser.config.get("catalog_id") != catalog.catalog_id:
            if choice.lower() == "auto":
                logger.error("not using localiser %s: it was trained on another catalog; retrain it with "
                             "scripts/train_photo.py or name it in DOPE_LOCALISER", path)
                continue
            logger.warning("localiser %s was trained on another catalog (%s)", path, localiser.config.get("catalog_id"))
        localiser.config.setdefault("name", path.stem)
        return localiser.freeze_for_serving(bf16=settings.localiser_bf16) if settings.frozen_graphs else localiser
    return None


def load_variant_indexes(
    embedder: Embedder, catalog: CatalogStore, indexes: IndexBackend | Path, metrics: Sequence[Metric],
    *, strict: bool = False,
) -> dict[str, SearchIndex]:
    """Every saved index of `embedder` for this catalog; mismatched ones raise, stale ones warn.

    `indexes`: a backend, or a folder of hnswlib index files. An unreadable index is skipped with
    a log line, or raises with `strict` (a hot reload refuses the embedder and keeps the old one).
    """
    backend = as_backend(indexes)
    expect = index_provenance(embedder.describe(), catalog.catalog_id, catalog.revision)
    found: dict[str, SearchIndex] = {}
    for metric in metrics:
        variant = Variant(embedder.name, metric)
        try:
            index = backend.open(variant, expect=expect | {"metric": metric})
        except IndexCorruptError:
            if strict:
                raise
            logger.exception("skipping unreadable index %s", backend.where(variant))
            continue
        if index is None:
            continue
        if index.meta.get("catalog_revision") != catalog.revision:
            logger.warning("%s is older than the catalog: run scripts/build_index.py", variant)
        found[str(variant)] = index
    return found


__all__ = ["Engine", "Match", "Matches", "Query", "available_embedders", "load_variant_indexes"]
