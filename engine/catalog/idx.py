"""Reader for the IDX format (MNIST, Fashion-MNIST): big-endian header, then a dense array.

Layout: two zero bytes, a dtype code, the number of dimensions, one big-endian uint32 per
dimension, then the data in C order. Files may be gzip-compressed; we detect that from the
gzip magic bytes rather than the file name, so a renamed file still reads. Anything that does
not match its own header (bad magic, unknown dtype, truncated or over-long data) raises
CatalogError instead of returning a silently wrong array.
"""
from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path

import numpy as np

from engine.errors import CatalogError

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
# IDX dtype codes; multi-byte types are big-endian on disk.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or gzip) into an array of its declared dtype and shape.

    Multi-byte dtypes come back in native byte order. Raises CatalogError on a missing file,
    a bad magic number, an unknown dtype code, or data shorter or longer than the header says.
    """
    path = Path(path)
    data = _read_bytes(path)
    return parse_idx(data, source=str(path))


def parse_idx(data: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file; see `read_idx`."""
    if len(data) < 4:
        raise CatalogError(f"{source}: too short for an IDX header ({len(data)} bytes)")
    zero1, zero2, code, ndim = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0:
        raise CatalogError(f"{source}: bad IDX magic number {data[:4].hex()} (not an IDX file)")
    if code not in IDX_DTYPES:
        raise CatalogError(f"{source}: unknown IDX dtype code 0x{code:02x}")
    header_end = 4 + 4 * ndim
    if len(data) < header_end:
        raise CatalogError(f"{source}: truncated IDX header ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", data[4:header_end])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_end
    if actual < expected:
        raise CatalogError(
            f"{source}: truncated IDX data: header {shape} needs {expected} bytes, found {actual}"
        )
    if actual > expected:
        raise CatalogError(f"{source}: {actual - expected} unexpected bytes after the IDX data")
    array = np.frombuffer(data, dtype=dtype, offset=header_end).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"Cannot read IDX file {path}: {exc}") from exc
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # gzip reports truncation as EOFError
        raise CatalogError(f"{path}: corrupt or truncated gzip data: {exc}") from exc
