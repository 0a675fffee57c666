"""Every bench script runs end to end in --quick mode and writes the rows it promises.

No timing assertions: the figures of a 2-core CI box mean nothing; the shape of the JSON does.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import bench_exact, bench_ingest, bench_memory, bench_query, bench_scale, bench_search, fit_pca
from engine.ingest.plan import cpu_has_bf16
from tests.factories import make_catalog


def run(module, tmp_path: Path, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.json"
    assert module.main(["--quick", "--out", str(out), *extra]) == 0
    payload = json.loads(out.read_text())
    assert payload["machine"]["cores"] >= 1 and payload["machine"]["torch"]
    return payload


def test_bench_ingest(tmp_path: Path) -> None:
    payload = run(bench_ingest, tmp_path, "--cache", str(tmp_path / "cache"))
    cpu = [r for r in payload["rows"] if r["device"] == "cpu"]
    assert [r["path"].split()[0] for r in cpu][:3] == ["seed", "engine", "engine"]
    plans = [r for r in cpu if r["path"].startswith("engine plan")]
    assert len(plans) == (2 if cpu_has_bf16() else 1) and plans[0]["path"].endswith("fp32")
    for row in cpu:
        assert row["images"] == 8 and row["images_per_s"] > 0
        assert row["bottleneck"] in row["shares"] and sum(row["shares"].values()) == pytest.approx(1, abs=0.01)
    assert "decode" in cpu[2]["shares"]
    cuda = [r for r in payload["rows"] if r["device"] == "cuda"]
    assert all("skipped" in r for r in cuda) or all(r["images_per_s"] > 0 for r in cuda)


def test_bench_query(tmp_path: Path) -> None:
    rows = run(bench_query, tmp_path)["rows"]
    assert [r["mode"].split(",")[0] for r in rows] == ["single query", "6 concurrent", "6 concurrent"]
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert rows[2]["mean_batch"] == 1 and rows[1]["mean_batch"] >= 1


def test_bench_search(tmp_path: Path) -> None:
    rows = run(bench_search, tmp_path)["rows"]
    measured = [r for r in rows if "skipped" not in r]
    assert {(r["dim"], r["metric"]) for r in measured} >= {(256, m) for m in ("l2", "l1", "hamming", "cosine")}
    assert any(r["index"].startswith("packed") for r in measured)
    for row in measured:
        assert 0 <= row["recall_at_10"] <= 1 and row["queries_per_s"] > 0
    packed = [r for r in measured if r["index"].startswith("packed")]
    assert all(r["recall_at_10"] == 1 for r in packed)  # exact by construction


def test_bench_search_marks_what_does_not_fit(tmp_path: Path) -> None:
    rows = run(bench_search, tmp_path, "--sizes", "3000", "--dims", "64", "--max-gib", "0.0001",
               "--metrics", "l2,hamming")["rows"]
    assert rows[0]["skipped"].startswith("0.0 GiB") or "GiB" in rows[0]["skipped"]
    assert rows[-1]["index"].startswith("packed") and rows[-1]["recall_at_10"] == 1


def test_bench_memory(tmp_path: Path) -> None:
    payload = run(bench_memory, tmp_path, "--cache", str(tmp_path / "cache"))
    layouts = {r["layout"].split(" (")[0]: r for r in payload["rows"]}
    assert layouts["packed 4096-bit codes"]["bytes_per_item"] == 4096 / 8 + 9
    assert layouts["hnswlib float32"]["fits_4_GiB"] == "no"
    for row in payload["accuracy"]:
        assert 0 <= row["nn_accuracy"] <= 1


def test_fit_pca_script(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_catalog(data, n=16, size=64).close()
    assert fit_pca.main(["--data-dir", str(data), "--embedder", "random-init", "--components", "4",
                         "--allow-random-weights", "--workers", "0"]) == 0
    from engine.embedders import load_embedder

    assert load_embedder("ft:random-init-pca4", "cpu", models_dir=data / "models").dim == 4


def test_bench_exact(tmp_path: Path) -> None:
    rows = run(bench_exact, tmp_path)["rows"]
    assert {r["metric"] for r in rows} == {"hamming", "l1"}
    assert all(r["agrees"] and r["queries_per_s"] > 0 for r in rows)
    baselines = [r for r in rows if "baseline" in r["kernel"]]
    assert len(baselines) == 4 and all(r["vs_baseline"] == 1 for r in baselines)


def test_bench_scale(tmp_path: Path) -> None:
    rows = run(bench_scale, tmp_path)["rows"]
    assert [r["layout"] for r in rows] == ["hnsw-pca256", "packed", "milvus"]
    for row in rows:
        assert row["n"] == 3000 and row["bytes_per_item"] > 0 and row["queries_per_s"] > 0
        assert row["recall_at_10"] >= 0.9
