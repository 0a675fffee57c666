"""The evaluation core on known embeddings, and the evaluate/tsne scripts on a real small catalog."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scripts.lib.evaluation import markdown_table, random_pair_baseline, score_variant
from engine.index import METRICS
from scripts import evaluate, tsne

N_CLASSES = 10


def _labels(n: int = 600, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(N_CLASSES, size=n)


@pytest.mark.parametrize("metric", METRICS)
def test_one_hot_category_embeddings_score_100_percent(metric: str) -> None:
    labels = _labels()
    one_hot = np.eye(N_CLASSES, dtype=np.float32)[labels]
    rows = np.arange(0, 600, 3)
    scores = score_variant("one-hot", one_hot, labels.astype(str), one_hot[rows], labels[rows].astype(str),
                           metric, k=5, exclude=rows)  # type: ignore[arg-type]
    assert scores.nn_accuracy == 1.0 and scores.precision_at_k == 1.0
    assert scores.ann_nn_accuracy == 1.0 and scores.ann_recall_at_k == 1.0


@pytest.mark.parametrize("metric", METRICS)
def test_random_embeddings_score_about_the_random_pair_baseline(metric: str) -> None:
    labels = _labels(2000).astype(str)
    vectors = np.random.default_rng(1).standard_normal((2000, 32)).astype(np.float32)
    rows = np.random.default_rng(2).choice(2000, 500, replace=False)
    scores = score_variant("random", vectors, labels, vectors[rows], labels[rows], metric, k=10, exclude=rows)  # type: ignore[arg-type]
    assert scores.baseline == pytest.approx(0.1, abs=0.01)
    # 500 queries: a binomial standard error of about 1.3 points on the NN rate, 0.5 on P@10
    assert abs(scores.nn_accuracy - scores.baseline) < 0.05
    assert abs(scores.precision_at_k - scores.baseline) < 0.03
    assert scores.ann_recall_at_k is not None and scores.ann_recall_at_k > 0.9


def test_the_query_itself_is_never_its_own_neighbour() -> None:
    vectors = np.asarray([[0.0], [10.0], [10.1], [0.1]], dtype=np.float32)
    labels = np.asarray(["a", "b", "c", "a"])
    scores = score_variant("tiny", vectors, labels, vectors, labels, "l2", k=1, exclude=np.arange(4))
    assert scores.nn_accuracy == 0.5  # 0↔3 share "a"; 1↔2 do not


def test_random_pair_baseline_is_exact_and_skips_missing_labels() -> None:
    assert random_pair_baseline(["a", "a", "b", "b"]) == pytest.approx(2 * 2 / 12)
    assert random_pair_baseline(["a", "a", "", None]) == 1.0


def test_attributes_and_the_table() -> None:
    labels = np.asarray(["x", "x", "y", "y"])
    colours = ["red", "blue", "red", "blue"]
    vectors = np.asarray([[0.0, 0], [0.0, 1], [5.0, 0], [5.0, 1]], dtype=np.float32)
    scores = score_variant("v/l2", vectors, labels, vectors, labels, "l2", k=1, exclude=np.arange(4),
                           gallery_attributes={"colour": colours}, query_attributes={"colour": colours})
    assert scores.nn_accuracy == 1.0 and scores.attribute_nn["colour"] == 0.0
    table = markdown_table([scores], ["colour"])
    assert "| `v/l2` | 100.0% |" in table and "NN same colour" in table


def test_evaluate_script_writes_the_table(demo_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    argv = ["--data-dir", str(demo_catalog), "--embedders", "pixels,random-init", "--allow-random-weights",
            "--input-size", "48", "--queries", "60", "--metrics", "l2,hamming", "--workers", "0", "--quiet",
            "--out", str(out)]
    assert evaluate.main(argv) == 0
    report = json.loads(out.read_text())
    assert [r["variant"] for r in report["rows"]] == [
        "pixels@28/l2", "pixels@28/hamming", "random-init@48/l2", "random-init@48/hamming"]
    row = report["rows"][0]
    assert row["n_queries"] == 60 and 0 <= row["nn_accuracy"] <= 1 and set(row["attribute_nn"]) == {"colour", "pattern"}
    assert "NN same pattern" in out.with_suffix(".md").read_text()


def test_evaluate_gallery_and_query_splits(demo_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "split.json"
    argv = ["--data-dir", str(demo_catalog), "--embedders", "pixels", "--gallery-split", "train",
            "--query-split", "test", "--metrics", "l2", "--workers", "0", "--quiet", "--out", str(out)]
    assert evaluate.main(argv) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["n_gallery"] > row["n_queries"] > 10


def test_tsne_writes_a_png(demo_catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    argv = ["--data-dir", str(demo_catalog), "--embedder", "random-init", "--allow-random-weights",
            "--input-size", "48", "--n", "40", "--out", str(out), "--quiet"]
    assert tsne.main(argv) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
