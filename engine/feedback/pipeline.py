"""votes → training pairs → projection (+ per-user adapters) → checkpoint → indexes, with figures.

`retrain_from_votes` is what scripts/retrain.py runs. The base embedder's catalog features come
from the ingestion cache (the CNN runs only for items not yet embedded); the new embedder's
features are the projection of those, so its indexes are built without another CNN pass.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.appearance import APPEARANCE_FILE, AppearanceTable
from engine.build import build_embedder_indexes
from engine.catalog.store import CatalogStore, Item
from engine.embedders import load_embedder
from engine.embedders.checkpoints import FINETUNED_PREFIX, load_checkpoint
from engine.embedders.projection import PROJECTION_KIND, project, save_projection_checkpoint
from engine.embedders.registry import BUILTIN_EMBEDDERS
from engine.errors import UnknownNameError
from engine.feedback.measures import before_after, queries_by_user
from engine.feedback.personal import Adapter, UserAdapters, adapters_path
from engine.feedback.retrain import (
    NotEnoughVotes,
    RetrainConfig,
    TrainingSet,
    build_training_set,
    cross_validate_user,
    held_out_mask,
    train_projection,
    pca_init,
    train_user_adapter,
)
from votes.reader import VotePairs, read_votes
from engine.index.backends import IndexBackend
from engine.index.metrics import Metric
from engine.settings import Settings
from engine.ingest import embed_catalog
from engine.ingest.runner import cache_folder
from engine.ingest.writer import EmbeddingCache
from engine.provenance import cache_provenance

logger = logging.getLogger(__name__)


@dataclass
class RetrainPaths:
    votes: Path
    models_dir: Path
    embeddings_dir: Path
    indexes: IndexBackend | Path  # a backend (hnswlib files or Milvus), or a folder of hnswlib files

    @classmethod
    def from_settings(cls, settings: Settings, indexes: IndexBackend | None = None, votes: Path | None = None
                      ) -> RetrainPaths:
        return cls(votes or settings.votes_path, settings.models_dir, settings.embeddings_dir,
                   indexes if indexes is not None else settings.indexes_dir)


@dataclass
class RetrainOutcome:
    embedder: str
    checkpoint: Path
    train_votes: int
    held_out_votes: int
    adapted_users: list[int]
    figures: dict[str, Any] = field(default_factory=dict)


def base_of(embedder: str, models_dir: Path) -> str | None:
    """The built-in whose features `embedder` ranks by: itself, or a projection checkpoint's base.

    Votes cast on ft:<name> (a champion from an earlier loop) train the next projection of the
    same built-in: the bot records the built-in's feature of their query (engine.search.Matches).
    """
    if embedder in BUILTIN_EMBEDDERS:
        return embedder
    path = models_dir / f"{embedder.removeprefix(FINETUNED_PREFIX)}.pt"
    if not embedder.startswith(FINETUNED_PREFIX) or not path.exists():
        return None
    payload = load_checkpoint(path)
    return str(payload["config"]["base"]) if payload.get("kind") == PROJECTION_KIND else None


def choose_votes(pairs: VotePairs, base: str | None, min_votes: int, models_dir: Path) -> tuple[VotePairs, str]:
    """Votes made on one built-in's results or a projection of it; refuses below `min_votes`."""
    families = {name: base_of(name, models_dir) for name in set(pairs.embedders)}
    counts = Counter(families[e] for e in pairs.embedders if families[e])
    if base is not None and base_of(base, models_dir) is None:
        raise UnknownNameError(f"cannot retrain from {base!r}: retraining starts from a built-in embedder "
                               f"({', '.join(BUILTIN_EMBEDDERS)}) or a projection (ft:) of one")
    chosen_base: str = (base_of(base, models_dir) or "") if base else (counts.most_common(1)[0][0] or "" if counts else "")
    chosen = pairs.subset(np.asarray([families[e] == chosen_base for e in pairs.embedders], dtype=bool))
    if len(chosen) < min_votes:
        raise NotEnoughVotes(
            f"Only {len(chosen)} votes on {chosen_base or 'any embedder'}'s results (of {len(pairs)} in all); "
            f"retraining needs at least {min_votes} (--min-votes). Collect more votes first."
        )
    return chosen, chosen_base


def retrain_from_votes(catalog: CatalogStore, paths: RetrainPaths, config: RetrainConfig) -> RetrainOutcome:
    """Votes → ft:<config.name>: a projection, per-user adapters, held-out figures, indexes."""
    pairs, base = choose_votes(read_votes(paths.votes), config.base, config.min_votes, paths.models_dir)
    embedder = load_embedder(base, config.device, input_size=config.input_size, allow_random=config.allow_random)
    run = embed_catalog(catalog, embedder, paths.embeddings_dir, progress=config.progress)
    ids, features = run.ids, run.features
    catalog_colours, colour_of = None, None
    if max(Counter(pairs.user.tolist()).values()) >= config.min_user_votes:  # someone may get an adapter
        table = AppearanceTable(catalog, paths.embeddings_dir / APPEARANCE_FILE)
        table.fill(ids.tolist())  # the bot re-ranks by the catalog's colours from this file
        catalog_colours, colour_of = table.get(ids.tolist()), table.get

    # Adapters learn from all of their user's votes: `fit_adapters` holds out queries of its own
    # (cross-validation by query) to decide whom to serve, and with a few dozen searches per user
    # the global hold-out would take a fifth of the evidence that decision needs.
    everyone = build_training_set(pairs, ids, features, colour_of)
    held = np.isin(everyone.group, pairs.group[held_out_mask(pairs, config.holdout, config.seed)])
    train, test = everyone.only(~held), everyone.only(held)
    if len(train) < config.min_votes:
        raise NotEnoughVotes(f"Only {len(train)} usable training votes after the hold-out; need {config.min_votes}.")

    items = catalog.get_many(ids.tolist())
    catalog_items = [items[int(i)] for i in ids.tolist()]
    init = pca_init(features, config.dim)
    weight, bias = train_projection(train, features, category_labels(catalog_items), config, init)
    adapters, verdicts = fit_adapters(everyone, init, config)

    figures = before_after(features, weight, bias, UserAdapters(adapters), ids, catalog_items, test,
                           config.tastes, config.k, queries_by_user(everyone), appearance=catalog_colours)
    figures["adapters"] = verdicts
    path = paths.models_dir / f"{config.name}.pt"
    UserAdapters(adapters, base=embedder.name).save(adapters_path(path))  # beside, not inside: /forget can delete one
    save_projection_checkpoint(path, embedder, weight, bias, {}, trained_on={
        "votes": str(paths.votes), "train_votes": len(train), "held_out_votes": len(test),
        "catalog_id": catalog.catalog_id, "config": vars(config), "figures": figures})
    rebuild_indexes(catalog, paths, config.name, ids, project(features, weight, bias), config.metrics, config.device)
    return RetrainOutcome(f"ft:{config.name}", path, len(train), len(test), sorted(adapters), figures)


def category_labels(items: list[Item]) -> np.ndarray:
    names = sorted({i.category for i in items if i.category})
    index = {c: n for n, c in enumerate(names)}
    return np.asarray([index.get(i.category, -1) for i in items], dtype=np.int64)


def fit_adapters(
    train: TrainingSet, init: tuple[np.ndarray, np.ndarray], config: RetrainConfig
) -> tuple[dict[int, Adapter], dict[int, dict[str, Any]]]:
    """A personal adapter for every user with enough votes whose own held-out votes back it.

    Returns (adapters, verdicts): each verdict says on how many held-out queries the adapter
    ordered the user's (👍, 👎) pairs better (wins) or worse (losses) than the base features,
    and whether the adapter is served.
    """
    adapters: dict[int, Adapter] = {}
    verdicts: dict[int, dict[str, Any]] = {}
    for user, count in Counter(train.user.tolist()).items():
        if count < config.min_user_votes:
            continue
        mine = train.only(train.user == user)
        verdict = cross_validate_user(mine, init, config)
        serve = verdict.serve(config.user_alpha)
        verdicts[int(user)] = {"votes": count, "wins": verdict.wins, "losses": verdict.losses,
                               "queries": verdict.queries, "p": verdict.p_value, "served": serve}
        if serve:
            adapters[int(user)] = train_user_adapter(mine, init, config)
            verdicts[int(user)]["appearance_weight"] = adapters[int(user)].appearance_weight
        logger.info("user %d: %d votes; adapter %s (held-out queries won %d, lost %d, p=%.3g)", user, count,
                    "served" if serve else "not served", verdict.wins, verdict.losses, verdict.p_value)
    return adapters, verdicts


def rebuild_indexes(catalog: CatalogStore, paths: RetrainPaths, name: str, ids: np.ndarray,
                    features: np.ndarray, metrics: tuple[Metric, ...], device: str | None) -> None:
    """Cache the new embedder's features and (re)build its indexes, as scripts/build_index.py does."""
    embedder = load_embedder(f"ft:{name}", device, models_dir=paths.models_dir)
    cache = EmbeddingCache(cache_folder(paths.embeddings_dir, embedder.name),
                           cache_provenance(embedder.describe(), catalog.catalog_id), reset_on_mismatch=True)
    cache.append(ids.tolist(), features)
    seconds = build_embedder_indexes(catalog, embedder, ids, features, paths.indexes, metrics, rebuild=True)
    logger.info("rebuilt indexes %s", ", ".join(f"{v} ({s:.1f}s)" for v, s in seconds.items()))
