"""The models the engine serves right now, swappable while it serves.

A `ModelSet` is an immutable snapshot (embedders + their variant indexes + a generation number).
`LiveModels` holds the current one. A search runs inside `reading()`, so it sees one snapshot
from decoding to the last index lookup; `swap()` waits for in-flight searches, then replaces the
snapshot in one assignment. Loading new artefacts happens before the swap, outside the lock, so
searches are held back only for the assignment itself. Writers are preferred: a steady stream of
searches cannot starve a swap.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from engine.errors import EngineError
from engine.variants import Variant

if TYPE_CHECKING:
    from engine.embedders import Embedder
    from engine.index.backends import SearchIndex
    from engine.search import Engine, Matches, Query


@dataclass(frozen=True)
class ModelSet:
    """One consistent set of embedders and indexes (never mutated once published)."""

    embedders: dict[str, Embedder]
    indexes: dict[str, SearchIndex]
    generation: int = 0

    def __post_init__(self) -> None:
        missing = {Variant.parse(v).embedder for v in self.indexes} - set(self.embedders)
        if missing:
            raise EngineError(f"indexes without their embedder: {sorted(missing)}")

    def version_of(self, embedder: str) -> str:
        """A short identity of the loaded weights of `embedder` (changes when the file does)."""
        described = self.embedders[embedder].provenance
        return str(described.get("checkpoint_sha256") or described.get("weights") or embedder)


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer blocks new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writers_waiting = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class LiveModels:
    """The current ModelSet, read under `reading()` and replaced by `swap()`."""

    def __init__(self, initial: ModelSet) -> None:
        self._current = initial
        self._lock = _ReadWriteLock()
        self._local = threading.local()  # per-thread nesting depth: a reader may call a reader

    @property
    def current(self) -> ModelSet:
        return self._current

    @contextmanager
    def reading(self) -> Iterator[ModelSet]:
        """Hold the snapshot steady for one search (re-entrant within a thread)."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield self._current
            finally:
                self._local.depth = depth
            return
        with self._lock.read():
            self._local.depth = 1
            try:
                yield self._current
            finally:
                self._local.depth = 0

    def swap(self, new: ModelSet) -> ModelSet:
        """Publish `new` once no search is in flight; returns the snapshot it replaced."""
        with self._lock.write():
            old, self._current = self._current, new
        return old


P = ParamSpec("P")
R = TypeVar("R")


def pinned(method: Callable[Concatenate[Engine, P], R]) -> Callable[Concatenate[Engine, P], R]:
    """Run an Engine method on one snapshot: a swap waits until it returns."""

    @wraps(method)
    def wrapper(self: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.models.reading():
            return method(self, *args, **kwargs)

    return wrapper


SearchMany = Callable[["Engine", "Sequence[Query]"], "list[Matches | EngineError]"]


def pinned_search(method: SearchMany) -> SearchMany:
    """`Engine.search_many` on one snapshot; each result is stamped with the model that made it.

    `Matches.model_version` is what the bot records with the query, so a vote is credited to
    the weights that actually ranked the match, even when a swap lands right after the search.
    """

    @wraps(method)
    def wrapper(self: Engine, queries: Sequence[Query]) -> list[Matches | EngineError]:
        with self.models.reading() as snapshot:
            results = method(self, queries)
        for query, result in zip(queries, results):
            if not isinstance(result, Exception):
                embedder = Variant.parse(query.variant).embedder
                result.model_version = snapshot.version_of(embedder) if embedder in snapshot.embedders else None
                result.generation = snapshot.generation
        return results

    return wrapper
