"""scripts/bench_personal.py runs end to end in --quick mode and compares both mechanisms."""
from __future__ import annotations

import json
from pathlib import Path

from scripts import bench_personal


def test_bench_personal_quick(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    assert bench_personal.main(["--quick", "--threads", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {row["mechanism"]: row for row in result["rows"]}
    assert {"rerank-50", "rerank-200", "per-adapter index", "base model (no adapter)"} <= set(rows)
    for name in ("rerank-50", "rerank-200", "per-adapter index"):
        assert 0 <= rows[name]["recall@5"] <= 1 and rows[name]["ms_per_query"] > 0
    assert rows["per-adapter index"]["bytes_per_user"] > rows["rerank-50"]["bytes_per_user"]
    # the goal as stated: trained adapters, held-out queries, every user's P@5 with and without
    goal = {row["user"]: row for row in result["goal"]}
    assert {row["taste"] for row in goal.values()} == {"colour", "category", "noisy"}
    for row in goal.values():
        assert 0 <= row["p@5_without"] <= 1 and row["change"] == row["p@5_served"] - row["p@5_without"]
        if not row["adapter"]:  # no adapter: exactly what everybody saw before adapters existed
            assert row["p@5_served"] == row["p@5_without"]
    assert all(not row["adapter"] for row in goal.values() if row["taste"] == "category")  # below the threshold
    assert result["goal_summary"]["other_users"] == sum(not row["adapter"] for row in goal.values())
