"""scripts/bench_personal.py runs end to end in --quick mode and compares both mechanisms."""
from __future__ import annotations

import json
from pathlib import Path

from scripts import bench_personal


def test_bench_personal_quick(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert bench_personal.main(["--quick", "--out", str(out)]) == 0
    rows = {row["mechanism"]: row for row in json.loads(out.read_text())["rows"]}
    assert {"rerank-50", "rerank-200", "per-adapter index", "base model (no adapter)"} <= set(rows)
    for name in ("rerank-50", "rerank-200", "per-adapter index"):
        assert 0 <= rows[name]["recall@5"] <= 1 and rows[name]["ms_per_query"] > 0
    assert rows["per-adapter index"]["bytes_per_user"] > rows["rerank-50"]["bytes_per_user"]
