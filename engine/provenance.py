"""Provenance in one place: what a thing records about how it was made, and the check on reading it.

Three records, three checks:
- an embedder describes itself (`describe_embedder`): name, dimension, preprocessing, weights;
- an index or an embedding cache stores that description plus its catalog (`index_provenance`,
  `cache_provenance`); whoever opens it passes what it expects to `check`, which names every
  disagreeing key in the error;
- a derived checkpoint (pca, projection) records the built-in base it was fitted on
  (`describe_base`); `check_base` refuses a base that loads with other weights or dimension.
Errors are named after what they guard: IndexMismatchError, EmbeddingCacheMismatchError,
CheckpointMismatchError (all ProvenanceMismatchError).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import CheckpointMismatchError, IndexMismatchError, ProvenanceMismatchError

if TYPE_CHECKING:  # base.py calls describe_embedder: no runtime import back
    from engine.embedders.base import Embedder

# Keys that must match between a stored record and the engine that reads it.
# checkpoint_sha256: a derived embedder's exact file, so an index built for older weights is refused.
CHECKED_KEYS = ("embedder", "dim", "metric", "catalog_id", "input_size", "weights", "checkpoint",
                "checkpoint_sha256")
REBUILD = "Rebuild it with scripts/build_index.py."


def describe_embedder(embedder: Embedder) -> dict[str, Any]:
    """What an embedder records beside every index and embedding file built with it."""
    return {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "input_size": embedder.input_size,
        "mean": list(embedder.mean),
        "std": list(embedder.std),
        "random_weights": embedder.is_random,
        **embedder.provenance,
    }


def index_provenance(embedder_description: dict[str, Any], catalog_id: str, revision: int) -> dict[str, Any]:
    """What an index records about how it was made (and what an engine expects when opening it)."""
    return embedder_description | {"catalog_id": catalog_id, "catalog_revision": revision}


def cache_provenance(embedder_description: dict[str, Any], catalog_id: str) -> dict[str, Any]:
    """What an embedding cache records: the embedder and the catalog (not its revision: caches grow)."""
    return embedder_description | {"catalog_id": catalog_id}


def check(
    found: dict[str, Any],
    expect: dict[str, Any],
    where: object,
    *,
    error: type[ProvenanceMismatchError] = IndexMismatchError,
    remedy: str = REBUILD,
) -> None:
    """Raise `error` naming every checked key on which `found` (stored at `where`) and `expect` disagree."""
    problems = [
        f"{key}: it has {found.get(key)!r}, expected {expect[key]!r}"
        for key in CHECKED_KEYS
        if key in expect and found.get(key) != expect[key]
    ]
    if problems:
        raise error(f"{where} was built for something else ({'; '.join(problems)}). {remedy}")


def describe_base(base: Embedder) -> dict[str, Any]:
    """What a derived checkpoint records about the built-in embedder it was fitted on."""
    return {
        "base": base.name,
        "base_weights": describe_embedder(base).get("weights"),
        "base_random": base.is_random,
        "base_dim": base.dim,
        "input_size": base.input_size,
    }


def check_base(config: dict[str, Any], base: Embedder, name: str, remedy: str) -> None:
    """Refuse `base` if it loads with other weights (random vs pretrained) or dimension than `config` says.

    A projection fitted on one set of weights is meaningless on another; `remedy` says which
    script rebuilds the checkpoint called `name`.
    """
    if base.is_random != bool(config["base_random"]) or base.dim != int(config["base_dim"]):
        raise CheckpointMismatchError(
            f"{name} was fitted on {config['base']} with weights {config['base_weights']!r}, "
            f"but this machine loads {describe_embedder(base).get('weights')!r}; {remedy}"
        )
