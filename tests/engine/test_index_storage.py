"""Index files: identical results after a round trip, atomic saves, refusal of bad files."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine.errors import IndexCorruptError, IndexMismatchError
from engine.index import METRICS, VariantIndex, load_index, read_header, save_index

META = {"embedder": "random-init", "catalog_id": "cat-1", "input_size": 64}


def small_index(metric: str, n: int = 400, dim: int = 24) -> tuple[VariantIndex, np.ndarray]:
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return VariantIndex.build(vectors, np.arange(n) * 3, metric, meta=META), vectors  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", METRICS)
def test_round_trip_returns_identical_results(tmp_path: Path, metric: str) -> None:
    index, vectors = small_index(metric)
    index.remove([0, 3])
    save_index(index, tmp_path / "v.idx")
    loaded = load_index(tmp_path / "v.idx", expect={"embedder": "random-init", "metric": metric, "dim": 24})
    before, after = index.search(vectors[:50], 10), loaded.search(vectors[:50], 10)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert len(loaded) == len(index) == 398
    assert loaded.meta == index.meta
    loaded.add(vectors[:1] + 1, np.array([5000]))  # still growable after loading
    assert 5000 in loaded.ids()


@pytest.mark.parametrize(
    ("expect", "complaint"),
    [
        ({"embedder": "vgg16-fc7"}, "embedder"),
        ({"dim": 4096}, "dim"),
        ({"metric": "l1"}, "metric"),
        ({"catalog_id": "another-catalog"}, "catalog_id"),
    ],
)
def test_mismatched_index_is_refused(tmp_path: Path, expect: dict, complaint: str) -> None:
    index, _ = small_index("l2")
    save_index(index, tmp_path / "v.idx")
    with pytest.raises(IndexMismatchError, match=complaint):
        load_index(tmp_path / "v.idx", expect=expect)


def test_truncated_and_foreign_files_are_refused(tmp_path: Path) -> None:
    index, _ = small_index("cosine")
    path = tmp_path / "v.idx"
    save_index(index, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(IndexCorruptError, match="truncated or corrupt"):
        load_index(path)
    path.write_bytes(b"GIF89a" + data)
    with pytest.raises(IndexCorruptError, match="not a dope-or-nope index"):
        load_index(path)
    with pytest.raises(IndexCorruptError, match="build it"):
        load_index(tmp_path / "missing.idx")


def test_killed_during_save_leaves_previous_index_readable(tmp_path: Path) -> None:
    """SIGKILL a process that keeps overwriting the index; the file stays loadable."""
    path = tmp_path / "v.idx"
    index, vectors = small_index("l2", n=3000, dim=64)
    save_index(index, path)
    expected = index.search(vectors[:5], 5)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from pathlib import Path
        from engine.index import load_index, save_index
        index = load_index(Path({str(path)!r}))
        print("ready", flush=True)
        while True:
            save_index(index, Path({str(path)!r}))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(1.0)  # several saves in flight
    process.kill()
    process.wait()
    reloaded = load_index(path)
    np.testing.assert_array_equal(reloaded.search(vectors[:5], 5)[0], expected[0])
    assert read_header(path)["count"] == 3000
