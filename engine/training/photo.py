"""Train the photo model of a catalog: a localiser head and a photo-robust embedding head.

Top to bottom, with one `PhotoTrainConfig`:
1. read every catalog item once (studio photo, cut-out, labels);
2. render `rounds` training composites per item (training backgrounds, TRAIN_STYLE) and run the
   frozen EfficientNet-Lite0 trunks over them once: the crop's 7×7 conv map for the embedder,
   the stride-8/16 maps of the whole photo for the localiser; plus each item's clean catalog crop;
3. train the localiser head (foreground BCE + Dice) on the cached maps;
4. train the embedding head with one CosFace proxy per item (a photo of X lands next to X) plus
   category / colour / pattern heads (items that look alike share those);
5. save both checkpoints; the embedder appears as `ft:<name>`, the localiser under localisers/.
Steps 3–4 only touch cached features, so the whole run is minutes on a 2-core CPU.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from engine.atomic import atomic_write
from engine.catalog.store import CatalogStore
from engine.embedders.base import resolve_device
from engine.embedders.checkpoints import load_checkpoint, save_checkpoint
from engine.errors import EngineError
from engine.embedders.photo import PHOTO_KIND, PhotoHead
from engine.embedders.registry import load_embedder
from engine.localise.model import LocaliserNet, build_localiser_net, localiser_base, save_localiser
from engine.provenance import describe_base
from engine.localise.regions import Letterbox, box_iou, regions_from_heatmap
from engine.photos import TRAIN_STYLE, background_pool
from engine.photos.clutter import clutter_pool
from engine.training.photo_data import CleanViews, ItemSource, PhotoViews, load_sources

logger = logging.getLogger(__name__)

LABEL_KEYS = ("category", "colour", "pattern")


@dataclass
class PhotoTrainConfig:
    """Everything that shapes a photo-model training run (stored in both checkpoints)."""

    name: str = "photo"
    rounds: int = 3  # training composites per item (embedder)
    localiser_rounds: int = 2  # of those, how many also train the localiser
    dim: int = 256
    hidden: int = 768
    epochs: int = 30
    localiser_epochs: int = 15
    extract_batch: int = 8  # per-image cost on a CPU rises past ~8 (docs/PERFORMANCE.md)
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    margin: float = 0.25  # CosFace margin
    scale: float = 30.0  # CosFace scale
    attribute_weight: float = 0.5
    jitter: float = 0.15  # how far (share of the box) training crops miss the true box
    input_size: int = 224
    localiser_input: int = 320
    localiser_width: int = 48
    val_share: float = 0.1
    seed: int = 0
    workers: int = 1
    threads: int = 0  # torch threads (0: torch's default); 1 is faster on a busy 2-core machine
    allow_random: bool = False  # tests only: random trunk weights
    device: str = "auto"
    cache_dir: Path | None = None  # keep rendered views' features here, to retrain the heads quickly

    def render_key(self) -> dict[str, Any]:
        """The settings that decide the cached features (the heads' settings do not)."""
        return {k: getattr(self, k) for k in ("rounds", "localiser_rounds", "jitter", "input_size",
                                              "localiser_input", "seed", "allow_random")}


@dataclass
class PhotoTrainResult:
    embedder_path: Path
    localiser_path: Path
    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def label_tables(sources: list[ItemSource]) -> dict[str, tuple[list[str], torch.Tensor]]:
    """For each label kind the catalog has: its sorted names and each item's index (-1 = none)."""
    tables: dict[str, tuple[list[str], torch.Tensor]] = {}
    for key in LABEL_KEYS:
        values = [s.item.category if key == "category" else s.item.attributes.get(key, "") for s in sources]
        names = sorted({v for v in values if v})
        if len(names) < 2:
            continue
        lookup = {name: i for i, name in enumerate(names)}
        tables[key] = (names, torch.tensor([lookup.get(v, -1) for v in values]))
    return tables


def _normalise(pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    return (pixels.to(device).float() - 127.0) / 128.0  # EfficientNet-Lite's (x - 127) / 128


@dataclass
class FeatureCache:
    photo_maps: torch.Tensor  # (V, 1280, 7, 7) float16
    photo_items: torch.Tensor  # (V,)
    clean_maps: torch.Tensor  # (n, 1280, 7, 7) float16
    stride8: torch.Tensor  # (L, 40, g, g) float16
    stride16: torch.Tensor  # (L, 112, g/2, g/2) float16
    masks: torch.Tensor  # (L, 1, g, g) float32


@torch.inference_mode()
def extract_features(sources: list[ItemSource], trunk: Any, localiser: LocaliserNet,
                     config: PhotoTrainConfig, device: torch.device, progress: bool = True) -> FeatureCache:
    """Render every training view once and keep the frozen trunks' maps (half precision)."""
    backgrounds, clutter = background_pool("train"), clutter_pool()
    views = PhotoViews(sources, backgrounds, TRAIN_STYLE, clutter=clutter, rounds=config.rounds,
                       localiser_rounds=config.localiser_rounds, seed=config.seed,
                       input_size=config.input_size, localiser_input=config.localiser_input,
                       jitter=config.jitter)
    logger.info("training scenes: %d background photos, %d clutter objects", len(backgrounds), len(clutter))
    loader = torch.utils.data.DataLoader(views, batch_size=config.extract_batch, num_workers=config.workers,
                                         persistent_workers=False)
    maps, items, s8s, s16s, masks = [], [], [], [], []
    for batch in tqdm(loader, desc="photo views", disable=not progress, unit="batch"):
        maps.append(trunk.extract_features(_normalise(batch["pixels"], device)).half().cpu())
        items.append(batch["item"])
        chosen = batch["has_mask"]
        if chosen.any():
            s8, s16 = localiser.taps(_normalise(batch["photo"][chosen], device))
            s8s.append(s8.half().cpu())
            s16s.append(s16.half().cpu())
            masks.append(batch["mask"][chosen][:, None])
    clean = []
    clean_loader = torch.utils.data.DataLoader(CleanViews(sources, config.input_size),
                                               batch_size=config.extract_batch, num_workers=config.workers)
    for batch in tqdm(clean_loader, desc="catalog crops", disable=not progress, unit="batch"):
        clean.append(trunk.extract_features(_normalise(batch["pixels"], device)).half().cpu())
    return FeatureCache(torch.cat(maps), torch.cat(items), torch.cat(clean), torch.cat(s8s), torch.cat(s16s),
                        torch.cat(masks))


def scene_key() -> str:
    """What the training scenes are made of: a cache of views rendered from other scenes is stale."""
    return f"{TRAIN_STYLE!r} backgrounds={len(background_pool('train'))} clutter={len(clutter_pool())}"


def cached_features(catalog: CatalogStore, sources: list[ItemSource], trunk: Any, localiser: LocaliserNet,
                    config: PhotoTrainConfig, device: torch.device, progress: bool = True) -> FeatureCache:
    """`extract_features`, reusing `config.cache_dir`'s file when it was made for the same
    catalog revision and render settings (the file is a cache: delete it any time)."""
    if config.cache_dir is None:
        return extract_features(sources, trunk, localiser, config, device, progress)
    key = {"catalog_id": catalog.catalog_id, "revision": catalog.revision, **config.render_key(),
           "scenes": scene_key()}
    path = Path(config.cache_dir) / f"photo-views-{config.name}.pt"
    if path.is_file():
        stored = torch.load(path, weights_only=True)
        if stored.get("key") == key:
            logger.info("reusing rendered views from %s", path)
            return FeatureCache(**stored["cache"])
    cache = extract_features(sources, trunk, localiser, config, device, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        torch.save({"key": key, "cache": {f.name: getattr(cache, f.name) for f in fields(cache)}}, handle)
    return cache


def _split(n: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * share)) if n >= 10 else 0
    return order[cut:], order[:cut]


def _grid_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    ys, xs = np.nonzero(mask > 0.5)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def localiser_iou(net: LocaliserNet, cache: FeatureCache, rows: np.ndarray, device: torch.device) -> float:
    """Share of `rows` whose best predicted region has IoU ≥ 0.5 with the true mask's box (grid units)."""
    if len(rows) == 0:
        return float("nan")
    net.eval()
    hits = 0
    with torch.inference_mode():
        for start in range(0, len(rows), 64):
            chunk = torch.as_tensor(rows[start : start + 64])
            logits = net.head_logits(cache.stride8[chunk].float().to(device), cache.stride16[chunk].float().to(device))
            probability = torch.sigmoid(logits)[:, 0].cpu().numpy()
            for p, mask in zip(probability, cache.masks[chunk][:, 0].numpy()):
                grid = p.shape[0]
                regions = regions_from_heatmap(p, Letterbox(1.0, 0, 0, (grid, grid), grid), margin=0.0)
                truth = _grid_box(mask)
                hits += bool(regions and truth and box_iou(regions[0].box, truth) >= 0.5)
    return hits / len(rows)


def train_localiser_head(net: LocaliserNet, cache: FeatureCache, config: PhotoTrainConfig,
                         device: torch.device, progress: bool = True) -> dict[str, float]:
    """Fit the head on cached taps; returns the held-out share of boxes with IoU ≥ 0.5."""
    torch.manual_seed(config.seed)
    train_rows, val_rows = _split(len(cache.masks), config.val_share, config.seed)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    steps = max(1, config.localiser_epochs * int(np.ceil(len(train_rows) / 64)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    positive = float(cache.masks[torch.as_tensor(train_rows)].mean()) if len(train_rows) else 0.2
    pos_weight = torch.tensor((1 - positive) / max(positive, 1e-3)).clamp(1.0, 10.0).to(device)
    for epoch in tqdm(range(config.localiser_epochs), desc="localiser", disable=not progress):
        net.train()
        net.trunk.eval()
        for start in range(0, len(train_rows), 64):
            chunk = torch.as_tensor(np.random.default_rng([config.seed, epoch]).permutation(train_rows)[start : start + 64])
            target = cache.masks[chunk].to(device)
            logits = net.head_logits(cache.stride8[chunk].float().to(device), cache.stride16[chunk].float().to(device))
            probability = torch.sigmoid(logits)
            bce = nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
            dice = 1 - (2 * (probability * target).sum((1, 2, 3)) + 1) / (probability.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
            loss = bce + dice.mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    net.eval()
    return {"localiser_val_iou50": localiser_iou(net, cache, val_rows, device),
            "localiser_train_iou50": localiser_iou(net, cache, train_rows[:500], device)}


class _Heads(nn.Module):
    """The training-only parts: one proxy per item and a cosine classifier per label kind."""

    def __init__(self, n_items: int, dim: int, label_sizes: dict[str, int]) -> None:
        super().__init__()
        self.proxies = nn.Parameter(torch.randn(n_items, dim) * 0.01)
        self.attributes = nn.ParameterDict({k: nn.Parameter(torch.randn(n, dim) * 0.01) for k, n in label_sizes.items()})


def _cosface(embedding: torch.Tensor, weights: torch.Tensor, target: torch.Tensor, scale: float,
             margin: float) -> torch.Tensor:
    cosine = embedding @ nn.functional.normalize(weights, dim=1).T
    valid = target >= 0
    if not valid.any():
        return embedding.sum() * 0
    cosine, target = cosine[valid], target[valid]
    logits = scale * (cosine - margin * nn.functional.one_hot(target, cosine.shape[1]))
    return nn.functional.cross_entropy(logits, target)


@torch.no_grad()
def gem_pooled(head: PhotoHead, maps: torch.Tensor, device: torch.device) -> torch.Tensor:
    """GeM pooling of every cached map, once (p is fixed while the rest of the head trains)."""
    return torch.cat([head.gem(maps[i : i + 256].float().to(device)).cpu() for i in range(0, len(maps), 256)])


def embed_maps(head: PhotoHead, maps: torch.Tensor, device: torch.device) -> torch.Tensor:
    head.eval()
    with torch.inference_mode():
        return torch.cat([head(maps[i : i + 256].float().to(device)).cpu() for i in range(0, len(maps), 256)])


def retrieval_scores(head: PhotoHead, cache: FeatureCache, rows: np.ndarray,
                     tables: dict[str, tuple[list[str], torch.Tensor]], device: torch.device) -> dict[str, float]:
    """Held-out training photos against the clean catalog: exact@1/@5 and label@1 (cosine)."""
    if len(rows) == 0:
        return {}
    gallery = embed_maps(head, cache.clean_maps, device)
    queries = embed_maps(head, cache.photo_maps[torch.as_tensor(rows)], device)
    truth = cache.photo_items[torch.as_tensor(rows)]
    top = (queries @ gallery.T).topk(5, dim=1).indices
    scores = {"val_exact@1": float((top[:, 0] == truth).float().mean()),
              "val_exact@5": float((top == truth[:, None]).any(1).float().mean())}
    for key, (_, labels) in tables.items():
        scores[f"val_{key}@1"] = float((labels[top[:, 0]] == labels[truth]).float().mean())
    return scores


def train_embedding_head(cache: FeatureCache, tables: dict[str, tuple[list[str], torch.Tensor]],
                         config: PhotoTrainConfig, device: torch.device,
                         progress: bool = True) -> tuple[PhotoHead, dict[str, float]]:
    """Fit the head: CosFace over item proxies + attribute heads; photo and clean views mixed."""
    torch.manual_seed(config.seed)
    n_items = len(cache.clean_maps)
    train_rows, val_rows = _split(len(cache.photo_maps), config.val_share, config.seed + 1)
    head = PhotoHead(config.dim, config.hidden).to(device)
    head.gem_p.requires_grad_(False)  # p = 3: pooling the cached maps once keeps epochs cheap
    gem_photo, gem_clean = gem_pooled(head, cache.photo_maps, device), gem_pooled(head, cache.clean_maps, device)
    heads = _Heads(n_items, config.dim, {k: len(names) for k, (names, _) in tables.items()}).to(device)
    parameters = [p for p in head.parameters() if p.requires_grad] + list(heads.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    # Rows: photo views (index ≥ 0) and, twice per epoch, every clean view (stored as -1 - item).
    rows = np.concatenate([train_rows, -1 - np.arange(n_items), -1 - np.arange(n_items)])
    steps = max(1, config.epochs * int(np.ceil(len(rows) / config.batch_size)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    for epoch in tqdm(range(config.epochs), desc="embedder", disable=not progress):
        head.train()
        order = np.random.default_rng([config.seed, 7, epoch]).permutation(rows)
        for start in range(0, len(order), config.batch_size):
            chunk = order[start : start + config.batch_size]
            photo, clean = chunk[chunk >= 0], -1 - chunk[chunk < 0]
            photo_rows, clean_rows = torch.as_tensor(photo), torch.as_tensor(clean)
            maps = torch.cat([cache.photo_maps[photo_rows], cache.clean_maps[clean_rows]])
            gem = torch.cat([gem_photo[photo_rows], gem_clean[clean_rows]]).to(device)
            items = torch.cat([cache.photo_items[torch.as_tensor(photo)], torch.as_tensor(clean)]).to(device)
            if len(items) < 2:
                continue
            embedding = head.embed_pooled(maps.float().to(device), gem)
            loss = _cosface(embedding, heads.proxies, items, config.scale, config.margin)
            for key, (_, labels) in tables.items():
                loss = loss + config.attribute_weight * _cosface(
                    embedding, heads.attributes[key], labels.to(device)[items], 16.0, 0.1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    head.eval()
    return head, retrieval_scores(head, cache, val_rows, tables, device)


def is_current(path: Path, catalog: CatalogStore) -> bool:
    """True when `path` is a photo checkpoint (with its localiser) trained on this catalog revision."""
    localiser = path.parent / "localisers" / path.name
    if not path.is_file() or not localiser.is_file():
        return False
    try:
        config = load_checkpoint(path)["config"]
    except EngineError:
        return False
    return bool(config.get("catalog_id") == catalog.catalog_id and config.get("catalog_revision") == catalog.revision)


def train_photo_model(catalog: CatalogStore, models_dir: Path, config: PhotoTrainConfig,
                      *, progress: bool = True) -> PhotoTrainResult:
    """The whole run (see the module docstring); returns where the checkpoints went and scores."""
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    sources = load_sources(catalog)
    if len(sources) < 2:
        raise ValueError("the catalog needs at least 2 items to train a photo model")
    tables = label_tables(sources)
    base = load_embedder("efficientnet-lite0", device, allow_random=config.allow_random,
                         input_size=config.input_size)
    trunk: Any = base.model.net  # the EfficientNet inside EfficientNetTrunk (an untyped package)
    localiser_trunk = localiser_base(config.localiser_input, device, allow_random=config.allow_random)
    localiser = build_localiser_net(localiser_trunk, config.localiser_width).to(device)
    timings["load"] = time.perf_counter() - started
    cache = cached_features(catalog, sources, trunk, localiser, config, device, progress)
    timings["render+extract"] = time.perf_counter() - started - timings["load"]
    mark = time.perf_counter()
    scores = train_localiser_head(localiser, cache, config, device, progress)
    timings["train_localiser"] = time.perf_counter() - mark
    mark = time.perf_counter()
    head, embed_scores = train_embedding_head(cache, tables, config, device, progress)
    scores.update(embed_scores)
    timings["train_embedder"] = time.perf_counter() - mark
    common: dict[str, Any] = {
        "catalog_id": catalog.catalog_id, "catalog_revision": catalog.revision, "n_items": len(sources),
        "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "backgrounds": "train", "style": TRAIN_STYLE.name, "scores": scores,
    }
    embedder_path = models_dir / f"{config.name}.pt"
    save_checkpoint(embedder_path, kind=PHOTO_KIND, config={
        **common, **describe_base(base), "dim": config.dim, "hidden": config.hidden,
        "labels": {k: names for k, (names, _) in tables.items()},
    }, state_dict={f"head.{k}": v.cpu() for k, v in head.state_dict().items()})
    localiser_path = models_dir / "localisers" / f"{config.name}.pt"
    localiser_path.parent.mkdir(parents=True, exist_ok=True)
    save_localiser(localiser_path, localiser.cpu(), localiser_trunk, {**common, "width": config.localiser_width})
    timings["total"] = time.perf_counter() - started
    logger.info("photo model %s: %s in %.0f s", config.name, scores, timings["total"])
    return PhotoTrainResult(embedder_path, localiser_path, scores, timings)
