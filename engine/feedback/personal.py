"""Per-user search: a user's own space over the base embedder's features, applied at search time.

    adapters = UserAdapters.load(models_dir / "votes-proj.adapters.npz")
    if adapters.has(user_id):
        ids, distances = adapters.search(base_index, user_id, base_query_vector, k=5)

A user's `Adapter` is their projection normalise(Wᵤ·f + bᵤ) of the base features, plus
`appearance_weight` αᵤ × the squared distance between colour descriptors (engine.appearance): the
distance between a query and a match is ‖zᵤ(q) − zᵤ(x)‖² + αᵤ‖a(q) − a(x)‖². `base_index` is an
l2/cosine/l1 index of the base embedder (it stores raw features). The user gets its top
`candidates`, re-ranked by that distance (exact within the candidates). Users without an adapter
use ft:<name>.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write
from engine.embedders.checkpoints import load_checkpoint
from engine.embedders.projection import PROJECTION_KIND, project
from engine.errors import CheckpointMismatchError, IndexMismatchError, UnknownNameError
from engine.index import VariantIndex, brute_force_knn

AppearanceLookup = Callable[[list[int]], np.ndarray]  # item ids → colour descriptors (AppearanceTable.get)


def adapters_path(checkpoint: Path) -> Path:
    """The per-user adapters file beside a projection checkpoint: models/<name>.adapters.npz.

    Adapters live apart from the checkpoint so /forget can delete one user's adapter without
    changing the checkpoint (whose sha256 its indexes record).
    """
    return checkpoint.with_name(checkpoint.stem + ".adapters.npz")


@dataclass(frozen=True)
class Adapter:
    """One user's space: (W, b) over base features, and how much colour distance adds (α ≥ 0)."""

    weight: np.ndarray
    bias: np.ndarray
    appearance_weight: float = 0.0

    @property
    def uses_appearance(self) -> bool:
        return self.appearance_weight > 0

    def space(self, features: np.ndarray, appearance: np.ndarray | None = None) -> np.ndarray:
        """Rows whose squared L2 distances are this user's distances: [zᵤ(f), √α·a].

        Without `appearance` (or with α = 0) only the projection counts.
        """
        z = project(np.atleast_2d(np.asarray(features, np.float32)), self.weight, self.bias)
        if not self.uses_appearance or appearance is None:
            return z
        colour = np.sqrt(self.appearance_weight) * np.atleast_2d(np.asarray(appearance, np.float32))
        return np.hstack([z, colour]).astype(np.float32)


@dataclass
class UserAdapters:
    """user id → their Adapter (models/<name>.adapters.npz, or an older checkpoint)."""

    by_user: dict[int, Adapter]
    base: str | None = None  # the built-in embedder whose features the adapters project

    @classmethod
    def from_checkpoint(cls, path: Path) -> UserAdapters:
        payload = load_checkpoint(path)
        if payload.get("kind") != PROJECTION_KIND:
            raise CheckpointMismatchError(f"{path} is a {payload.get('kind')!r} checkpoint, not {PROJECTION_KIND!r}")
        if adapters_path(path).exists():
            return cls.load(adapters_path(path))
        state = payload["state_dict"]
        weights, biases = state["user_weights"].numpy(), state["user_biases"].numpy()
        return cls({int(u): Adapter(weights[i], biases[i]) for i, u in enumerate(state["user_ids"].tolist())})

    @classmethod
    def load(cls, path: Path) -> UserAdapters:
        with np.load(path) as data:
            ids, weights, biases = data["user_ids"], data["weights"], data["biases"]
            alphas = data["appearance_weights"] if "appearance_weights" in data.files else np.zeros(len(ids))
            base = str(data["base"]) if "base" in data.files and str(data["base"]) else None
            return cls({int(u): Adapter(weights[i], biases[i], float(alphas[i])) for i, u in enumerate(ids.tolist())},
                       base)

    def save(self, path: Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        users = sorted(self.by_user)
        adapters = [self.by_user[u] for u in users]
        weights = np.stack([a.weight for a in adapters]) if users else np.zeros((0, 0, 0))
        biases = np.stack([a.bias for a in adapters]) if users else np.zeros((0, 0))
        with atomic_write(path) as handle:
            np.savez(handle, user_ids=np.asarray(users, np.int64), weights=weights.astype(np.float32),
                     biases=biases.astype(np.float32),
                     appearance_weights=np.asarray([a.appearance_weight for a in adapters], np.float32),
                     base=np.asarray(self.base or ""))

    def without(self, user_id: int) -> UserAdapters:
        return UserAdapters({u: a for u, a in self.by_user.items() if u != user_id}, self.base)

    def has(self, user_id: int) -> bool:
        return user_id in self.by_user

    def of(self, user_id: int) -> Adapter:
        if user_id not in self.by_user:
            raise UnknownNameError(f"user {user_id} has no personal adapter; users: {sorted(self.by_user)}")
        return self.by_user[user_id]

    def transform(self, user_id: int, base_features: np.ndarray, appearance: np.ndarray | None = None) -> np.ndarray:
        """Base-embedder features (and colour descriptors) → rows of this user's space."""
        return self.of(user_id).space(base_features, appearance)

    def search(
        self, base_index: VariantIndex, user_id: int, base_query: np.ndarray, k: int, *, candidates: int = 200,
        query_appearance: np.ndarray | None = None, appearance_of: AppearanceLookup | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances in the user's space) for one base-embedder query vector."""
        if base_index.metric == "hamming":
            raise IndexMismatchError("personal re-ranking needs raw features: use an l2 or l1 base index")
        query = np.asarray(base_query, np.float32).reshape(1, -1)
        ids, _ = base_index.search(query, max(k, candidates))
        stored = base_index.vectors(ids[0])  # raw features for l2/l1 indexes
        stored_appearance = None
        if appearance_of is not None and self.of(user_id).uses_appearance:  # colours looked up only when they count
            stored_appearance = appearance_of(ids[0].tolist())
        return rerank(self.of(user_id), query, ids[0], stored, k, query_appearance=query_appearance,
                      stored_appearance=stored_appearance)


def rerank(
    adapter: Adapter, query: np.ndarray, ids: np.ndarray, stored: np.ndarray, k: int, *,
    query_appearance: np.ndarray | None = None, stored_appearance: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k of `ids` nearest to `query` in one user's space (base-embedder features; colour
    descriptors when the adapter weighs colour and both sides have them)."""
    with_colour = query_appearance is not None and stored_appearance is not None
    mine = adapter.space(query, query_appearance if with_colour else None)
    theirs = adapter.space(np.asarray(stored, np.float32), stored_appearance if with_colour else None)
    rows, distances = brute_force_knn(mine, theirs, "l2", min(k, len(ids)))
    return np.asarray(ids)[rows[0]], distances[0]


def forget_user(models_dir: Path, user_id: int) -> list[Path]:
    """Delete `user_id`'s adapter from every adapters file in `models_dir`; returns the files changed."""
    changed = []
    for path in sorted(models_dir.glob("*.adapters.npz")) if models_dir.is_dir() else []:
        adapters = UserAdapters.load(path)
        if adapters.has(user_id):
            adapters.without(user_id).save(path)
            changed.append(path)
    return changed
