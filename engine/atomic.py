"""Crash-safe file writes: write a temporary sibling, fsync it, rename it over the target.

A reader sees either the old file or the complete new one, never a half-written file; a
process killed mid-write leaves at most a `.tmp` sibling behind, which nothing reads.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """`with atomic_write(p) as handle: handle.write(...)`; `p` is replaced only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def file_stamp(path: Path) -> str | None:
    """Size, mtime and inode of a file (None: missing): an atomic replace changes all three, so a
    poller compares stamps instead of reading files."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where directories can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
