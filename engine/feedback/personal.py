"""Per-user search: a user's own projection of the base embedder's features, applied at search time.

    adapters = UserAdapters.from_checkpoint(models_dir / "votes-proj.pt")
    if adapters.has(user_id):
        ids, distances = adapters.search(base_index, user_id, base_query_vector, k=5)

`base_index` is an l2/cosine/l1 index of the checkpoint's base embedder (it stores raw
features). The user gets its top `candidates`, re-ranked by L2 distance in their space
normalise(Wᵤ·f + bᵤ) (exact within the candidates). Users without a projection use ft:<name>.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write
from engine.embedders.checkpoints import load_checkpoint
from engine.embedders.projection import PROJECTION_KIND, project
from engine.errors import CheckpointMismatchError, IndexMismatchError, UnknownNameError
from engine.index import VariantIndex, brute_force_knn


def adapters_path(checkpoint: Path) -> Path:
    """The per-user adapters file beside a projection checkpoint: models/<name>.adapters.npz.

    Adapters live apart from the checkpoint so /forget can delete one user's adapter without
    changing the checkpoint (whose sha256 its indexes record).
    """
    return checkpoint.with_name(checkpoint.stem + ".adapters.npz")


@dataclass
class UserAdapters:
    """user id → (W, b) of their projection (models/<name>.adapters.npz, or an older checkpoint)."""

    projections: dict[int, tuple[np.ndarray, np.ndarray]]
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
        return cls({int(u): (weights[i], biases[i]) for i, u in enumerate(state["user_ids"].tolist())})

    @classmethod
    def load(cls, path: Path) -> UserAdapters:
        with np.load(path) as data:
            ids, weights, biases = data["user_ids"], data["weights"], data["biases"]
            base = str(data["base"]) if "base" in data.files and str(data["base"]) else None
            return cls({int(u): (weights[i], biases[i]) for i, u in enumerate(ids.tolist())}, base)

    def save(self, path: Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        users = sorted(self.projections)
        first = next(iter(self.projections.values()), (np.zeros((0, 0), np.float32), np.zeros(0, np.float32)))
        weights = np.stack([self.projections[u][0] for u in users]) if users else np.zeros((0, *first[0].shape))
        biases = np.stack([self.projections[u][1] for u in users]) if users else np.zeros((0, *first[1].shape))
        with atomic_write(path) as handle:
            np.savez(handle, user_ids=np.asarray(users, np.int64), weights=weights.astype(np.float32),
                     biases=biases.astype(np.float32), base=np.asarray(self.base or ""))

    def without(self, user_id: int) -> UserAdapters:
        return UserAdapters({u: p for u, p in self.projections.items() if u != user_id}, self.base)

    def has(self, user_id: int) -> bool:
        return user_id in self.projections

    def transform(self, user_id: int, base_features: np.ndarray) -> np.ndarray:
        """Base-embedder features → this user's unit vectors."""
        if user_id not in self.projections:
            raise UnknownNameError(f"user {user_id} has no personal projection; users: {sorted(self.projections)}")
        weight, bias = self.projections[user_id]
        return project(np.atleast_2d(base_features), weight, bias)

    def search(
        self, base_index: VariantIndex, user_id: int, base_query: np.ndarray, k: int, *, candidates: int = 200
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances in the user's space) for one base-embedder query vector."""
        if base_index.metric == "hamming":
            raise IndexMismatchError("personal re-ranking needs raw features: use an l2 or l1 base index")
        query = np.asarray(base_query, np.float32).reshape(1, -1)
        ids, _ = base_index.search(query, max(k, candidates))
        stored = base_index.vectors(ids[0])  # raw features for l2/l1 indexes
        rows, dists = brute_force_knn(self.transform(user_id, query), self.transform(user_id, stored), "l2", k)
        return ids[0][rows[0]], dists[0]


def rerank(
    projection: tuple[np.ndarray, np.ndarray], query: np.ndarray, ids: np.ndarray, stored: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k of `ids` nearest to `query` in one user's space (all base-embedder features)."""
    weight, bias = projection
    mine = project(np.atleast_2d(np.asarray(query, np.float32)), weight, bias)
    rows, distances = brute_force_knn(mine, project(np.asarray(stored, np.float32), weight, bias), "l2",
                                      min(k, len(ids)))
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
