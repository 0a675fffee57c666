"""Per-variant nearest-neighbour indexes (hnswlib) with exact L1/Hamming, and their files."""
from engine.index.metrics import METRICS, Metric, brute_force_knn, prepare
from engine.index.packed import PackedHammingIndex
from engine.index.storage import load_index, read_header, save_index
from engine.index.variant_index import HnswParams, VariantIndex

__all__ = [
    "METRICS",
    "HnswParams",
    "Metric",
    "PackedHammingIndex",
    "VariantIndex",
    "brute_force_knn",
    "load_index",
    "prepare",
    "read_header",
    "save_index",
]
