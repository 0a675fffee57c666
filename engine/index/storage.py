"""Atomic, self-describing index files.

One file per variant: magic, a JSON header (provenance, parameters, centre, deleted ids, a
SHA-256 of the payload), then hnswlib's own serialisation. It is written to a temporary file in
the same folder, fsynced, and renamed over the old one, so a crash mid-save leaves the previous
index intact; a truncated or foreign file fails the checksum and is refused.
"""
from __future__ import annotations

import hashlib
import json
import logging
import struct
import tempfile
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from engine.atomic import atomic_write
from engine.errors import IndexCorruptError
from engine.index.variant_index import HNSW_SPACE, HnswParams, VariantIndex
from engine.provenance import check

logger = logging.getLogger(__name__)

MAGIC = b"DOPEIDX1"
FORMAT_VERSION = 1


def save_index(index: VariantIndex, path: Path) -> None:
    """Write `index` to `path` atomically (temp file + fsync + rename + directory fsync)."""
    path.parent.mkdir(parents=True, exist_ok=True)  # hnswlib's scratch file lives beside it
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".hnsw-") as scratch:
        raw_path = Path(scratch) / "graph.bin"
        index.hnsw.save_index(str(raw_path))
        payload = raw_path.read_bytes()
    header = json.dumps(
        {
            "format": FORMAT_VERSION,
            "metric": index.metric,
            "dim": index.dim,
            "params": vars(index.params),
            "center": index.center.tolist() if index.center is not None else None,
            "deleted": sorted(index.deleted),
            "count": len(index),
            "meta": index.meta,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
    ).encode()
    with atomic_write(path) as handle:
        handle.write(MAGIC + struct.pack("<Q", len(header)) + header + payload)
    logger.info("saved %s index (%d items) to %s", index.metric, len(index), path)


def read_header(path: Path) -> dict[str, Any]:
    """The JSON header alone (cheap: for listing variants without loading graphs)."""
    with open(path, "rb") as handle:
        header, _ = _read_header(handle, path)
    return header


def load_index(path: Path, expect: dict[str, Any] | None = None) -> VariantIndex:
    """Read an index; IndexMismatchError if its provenance disagrees with `expect` (engine.provenance)."""
    try:
        with open(path, "rb") as handle:
            header, offset = _read_header(handle, path)
            handle.seek(offset)
            payload = handle.read()
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"No index at {path}; build it with scripts/build_index.py") from exc
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise IndexCorruptError(f"{path} is truncated or corrupt (checksum mismatch); rebuild it")
    if expect:
        check(header["meta"] | {"metric": header["metric"], "dim": header["dim"]}, expect, path)
    index = VariantIndex(
        header["metric"], int(header["dim"]), HnswParams(**header["params"]),
        np.asarray(header["center"], dtype=np.float32) if header["center"] is not None else None,
        header["meta"],
    )
    hnsw = hnswlib.Index(space=HNSW_SPACE[header["metric"]], dim=int(header["dim"]))
    with tempfile.TemporaryDirectory(prefix="dope-hnsw-") as scratch:  # hnswlib reads paths only
        raw_path = Path(scratch) / "graph.bin"
        raw_path.write_bytes(payload)
        hnsw.load_index(str(raw_path), max_elements=max(16, hnsw_count(header)))
    index._restore(hnsw, set(header["deleted"]))
    return index


def hnsw_count(header: dict[str, Any]) -> int:
    return int(header["count"]) + len(header["deleted"])


def _read_header(handle: Any, path: Path) -> tuple[dict[str, Any], int]:
    start = handle.read(len(MAGIC) + 8)
    if len(start) < len(MAGIC) + 8 or not start.startswith(MAGIC):
        raise IndexCorruptError(f"{path} is not a dope-or-nope index file")
    (length,) = struct.unpack("<Q", start[len(MAGIC) :])
    raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{path} has a damaged header") from exc
    if header.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(f"{path} has format {header.get('format')}, expected {FORMAT_VERSION}")
    return header, len(MAGIC) + 8 + length
