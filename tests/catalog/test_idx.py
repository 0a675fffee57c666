"""The IDX reader on fixtures written byte by byte in the format's exact layout."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from engine.catalog.idx import read_idx
from engine.errors import CatalogError


def idx_bytes(array: np.ndarray, code: int, big_endian_dtype: str) -> bytes:
    """Magic (0, 0, dtype code, ndim), one big-endian uint32 per dimension, then the data."""
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


@pytest.fixture()
def images() -> np.ndarray:
    return np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_reads_uint8_images(tmp_path: Path, images: np.ndarray, compress: bool) -> None:
    data = idx_bytes(images, 0x08, "u1")
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, images)


def test_reads_labels_and_big_endian_types(tmp_path: Path) -> None:
    labels = np.array([9, 0, 3], dtype=np.uint8)
    (tmp_path / "labels").write_bytes(idx_bytes(labels, 0x08, "u1"))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), labels)
    ints = np.array([[1, -2], [300000, 4]], dtype=np.int32)
    (tmp_path / "ints").write_bytes(idx_bytes(ints, 0x0C, ">i4"))
    out = read_idx(tmp_path / "ints")
    np.testing.assert_array_equal(out, ints)
    assert out.dtype.isnative


def test_gzip_detected_by_content_not_name(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "no-extension"
    path.write_bytes(gzip.compress(idx_bytes(images, 0x08, "u1")))
    np.testing.assert_array_equal(read_idx(path), images)


def _truncated_gzip(data: bytes) -> bytes:
    packed = gzip.compress(data)
    return packed[: len(packed) // 2]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"\x01\x00" + d[2:], "magic"),
        (lambda d: d[:2] + b"\x42" + d[3:], "dtype"),
        (lambda d: d[:-1], "truncated IDX data"),
        (lambda d: d[:9], "truncated IDX header"),
        (lambda d: d[:2], "too short"),
        (lambda d: d + b"\x00", "unexpected bytes"),
        (lambda d: _truncated_gzip(d), "gzip"),
    ],
    ids=["magic", "dtype", "data", "header", "tiny", "trailing", "gzip"],
)
def test_bad_files_raise_catalog_error(tmp_path: Path, images: np.ndarray, mutate, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(mutate(idx_bytes(images, 0x08, "u1")))
    with pytest.raises(CatalogError, match=message):
        read_idx(path)


def test_missing_file_raises_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="Cannot read"):
        read_idx(tmp_path / "absent")
