"""Named exceptions of the engine: callers catch these, never bare Exception."""
from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidImageError(EngineError):
    """The bytes are not an image we accept (corrupt, truncated, too large, animated...).

    The message is safe to show to an end user.
    """


class WeightsMissingError(EngineError):
    """Pretrained weights are not on disk; the message says what to download and where."""


class UnknownNameError(EngineError, KeyError):
    """An embedder, metric or variant name that is not registered; the message lists valid ones."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0]) if self.args else ""


class ProvenanceMismatchError(EngineError):
    """Something on disk was made by another embedder, weights, metric or catalog (engine.provenance)."""


class IndexMismatchError(ProvenanceMismatchError):
    """An index on disk was built for another embedder, dimension, metric or catalog."""


class EmbeddingCacheMismatchError(ProvenanceMismatchError):
    """An embedding cache folder holds features of another embedder or catalog."""


class CheckpointMismatchError(ProvenanceMismatchError):
    """A checkpoint does not fit what loads it: another kind, or a base with other weights or dimension."""


class IndexCorruptError(EngineError):
    """An index file could not be read (truncated, foreign or partially written)."""


class CheckpointCorruptError(EngineError):
    """An embedder checkpoint could not be read (truncated, foreign or not ours)."""


class CatalogError(EngineError):
    """The catalog is missing, malformed, or an importer cannot read its input."""
