"""Hot reloads: load new or changed checkpoints and indexes beside the serving models, then swap.

    reloader = ModelReloader(engine, settings)
    report = reloader.reload(["efficientnet-lite0", "ft:votes-3"])   # in a worker thread

Each embedder is loaded with every saved index of it and checked (checkpoint readable, each
index's provenance naming exactly these weights and this catalog). A broken or mismatched one is
refused with one log line and its old version keeps serving; unchanged ones are reused as they
are, not reloaded. The new set replaces the old in one `LiveModels.swap`, between searches.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import file_stamp
from engine.embedders import Embedder, load_embedder
from engine.embedders.checkpoints import FINETUNED_PREFIX
from engine.errors import EngineError, IndexMismatchError
from engine.index.backends import IndexBackend, SearchIndex, as_backend
from engine.live import ModelSet
from engine.search import Engine, load_variant_indexes
from engine.settings import Settings
from engine.variants import Variant

logger = logging.getLogger(__name__)

# What a model's artefacts look like: (where, stamp) for its checkpoint file and each index (hnswlib file or
# Milvus collection; see IndexBackend.stamp), stamp None when missing.
Stamp = tuple[tuple[str, str | None], ...]


@dataclass
class ReloadReport:
    """What one reload did; `summary()` is the text admins see."""

    generation: int
    loaded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def swapped(self) -> bool:
        return bool(self.loaded or self.removed)

    def summary(self) -> str:
        lines = [f"generation {self.generation}"]
        lines += [f"loaded {name}" for name in self.loaded]
        lines += [f"refused {name}: {why}" for name, why in self.refused.items()]
        lines += [f"removed {name}" for name in self.removed]
        if self.kept:
            lines.append("unchanged: " + ", ".join(self.kept))
        return "\n".join(lines)


class ModelReloader:
    """Brings the engine's models in line with the files on disk, one reload at a time."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._refused: dict[str, Stamp] = {}  # name → artefacts already refused (not retried)
        self._seen: dict[str, Stamp] = {}  # for settle(): what the files looked like last poll
        # name → the files the served version was loaded from; what is served at start is adopted.
        self._stamps: dict[str, Stamp] = {name: self.stamp(name) for name in engine.models.current.embedders}

    # --- change detection (cheap: a stat per file, a small query per Milvus collection) --------
    @property
    def backend(self) -> IndexBackend:
        """Where the served indexes live: the engine's backend, else hnswlib files in indexes_dir."""
        return as_backend(self.engine.backend or self.settings.indexes_dir)

    def stamp(self, name: str) -> Stamp:
        """The checkpoint file (ft: models) and every index the embedder `name` is served from."""
        stamps: list[tuple[str, str | None]] = []
        if name.startswith(FINETUNED_PREFIX):
            checkpoint = self.settings.models_dir / f"{name[len(FINETUNED_PREFIX):]}.pt"
            stamps.append((str(checkpoint), file_stamp(checkpoint)))
        backend = self.backend
        for metric in self.settings.metrics:
            variant = Variant(name, metric)
            stamps.append((backend.where(variant), backend.stamp(variant)))
        return tuple(stamps)

    def changed(self, names: Sequence[str]) -> list[str]:
        """Names whose files differ from what is served (and were not already refused as they are)."""
        current = self.engine.models.current
        out = []
        for name in dict.fromkeys(names):
            now = self.stamp(name)
            if name in current.embedders and self._stamps.get(name) == now:
                continue
            if self._refused.get(name) != now:
                out.append(name)
        return out

    def settled(self, names: Sequence[str]) -> bool:
        """True when something changed and the files look the same as at the previous call.

        A file watcher polls this, so a checkpoint whose indexes are still being rebuilt is not
        tried (and refused) halfway through.
        """
        pending = self.changed(names)
        stamps = {name: self.stamp(name) for name in pending}
        ready = bool(pending) and all(self._seen.get(n) == s for n, s in stamps.items())
        self._seen = stamps
        return ready

    # --- reload -------------------------------------------------------------------------------
    def reload(self, names: Sequence[str], *, force: bool = False) -> ReloadReport:
        """Serve exactly `names` (those that load cleanly), reusing unchanged ones; blocking."""
        with self._lock:
            current = self.engine.models.current
            embedders: dict[str, Embedder] = {}
            indexes: dict[str, SearchIndex] = {}
            stamps: dict[str, Stamp] = {}
            report = ReloadReport(current.generation)
            for name in dict.fromkeys(names):
                stamp = self.stamp(name)
                if name in current.embedders and self._stamps.get(name) == stamp and not force:
                    self._keep(current, name, embedders, indexes, stamps)
                    report.kept.append(name)
                    continue
                try:
                    embedder, found = self._load(name)
                except (EngineError, OSError, RuntimeError, ValueError) as exc:
                    self._refused[name] = stamp
                    report.refused[name] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    still = "keeps serving the loaded version" if name in current.embedders else "not served"
                    logger.warning("reload refused %s (%s): %s", name, still, report.refused[name])
                    if name in current.embedders:
                        self._keep(current, name, embedders, indexes, stamps)
                    continue
                self._refused.pop(name, None)
                embedders[name], stamps[name] = embedder, stamp
                indexes.update(found)
                report.loaded.append(name)
            report.removed = sorted(set(current.embedders) - set(embedders))
            if not indexes:
                logger.warning("reload refused: nothing would be left to serve; keeping generation %d",
                               current.generation)
                report.removed = []
                return report
            if report.swapped:
                new = ModelSet(embedders, indexes, current.generation + 1)
                self.engine.models.swap(new)
                self._stamps = stamps
                report.generation = new.generation
                logger.info("models swapped to generation %d: loaded %s, removed %s, variants %s",
                            new.generation, report.loaded, report.removed, sorted(indexes))
            return report

    def _keep(self, current: ModelSet, name: str, embedders: dict[str, Embedder],
              indexes: dict[str, SearchIndex], stamps: dict[str, Stamp]) -> None:
        embedders[name] = current.embedders[name]
        indexes.update({v: i for v, i in current.indexes.items() if Variant.parse(v).embedder == name})
        if name in self._stamps:
            stamps[name] = self._stamps[name]

    def _load(self, name: str) -> tuple[Embedder, dict[str, SearchIndex]]:
        """The embedder and every index of it; any mismatched or unreadable file refuses all."""
        settings, catalog = self.settings, self.engine.catalog
        embedder = load_embedder(name, settings.device, models_dir=settings.models_dir,
                                 weights_dir=settings.weights_dir, allow_random=settings.allow_random_weights,
                                 ).use_cpu_bf16(settings.cpu_bf16)  # as Engine.from_settings: same features
        indexes = self.engine.backend or settings.indexes_dir  # hnswlib files or Milvus, as served
        found = load_variant_indexes(embedder, catalog, indexes, settings.metrics, strict=True)
        if not found:
            where = indexes.where() if not isinstance(indexes, Path) else indexes
            raise IndexMismatchError(f"no index of {name} in {where} (build_index.py)")
        return (embedder.freeze_for_serving() if settings.frozen_graphs else embedder), found
