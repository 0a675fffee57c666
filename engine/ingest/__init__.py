"""Catalog → embeddings, as a pipeline: reader (decode, CPU workers) → mapper (model, the only
accelerator code) → writer (resumable on-disk cache), assembled by runner."""
from engine.ingest.runner import EmbeddingRun, embed_catalog

__all__ = ["EmbeddingRun", "embed_catalog"]
