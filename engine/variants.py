"""Variant names: an embedder × a metric, written `embedder/metric` (e.g. `vgg16-fc7/hamming`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import UnknownNameError
from engine.index.metrics import Metric, check_metric


@dataclass(frozen=True, order=True)
class Variant:
    embedder: str
    metric: Metric

    @classmethod
    def parse(cls, name: str) -> Variant:
        embedder, sep, metric = name.rpartition("/")
        if not sep or not embedder:
            raise UnknownNameError(f"Variant names look like 'embedder/metric', got {name!r}")
        return cls(embedder, check_metric(metric))

    def __str__(self) -> str:
        return f"{self.embedder}/{self.metric}"

    def index_path(self, indexes_dir: Path) -> Path:
        """File of this variant's index; ':' (as in ft:name) is not portable in file names."""
        return indexes_dir / f"{self.embedder.replace(':', '--')}__{self.metric}.idx"
