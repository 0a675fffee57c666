"""scripts/bench_bot.py runs end to end with two users and writes its JSON report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.settings import Settings
from scripts import bench_bot

pytestmark = pytest.mark.timeout(120)


def test_bench_with_two_users(engine_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    argv = ["--data-dir", str(engine_settings.data_dir), "--embedders", "random-init", "--allow-random-weights",
            "--users", "2", "--photos", "2", "--vote-all", "--k", "3", "--json", str(out)]
    assert bench_bot.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["users"] == 2 and len(report["by_photo"]) == 2 and report["overall"]["n"] == 4
    assert all(r["n"] == 2 and 0 < r["p50_ms"] <= r["p95_ms"] <= r["max_ms"] for r in report["by_photo"])
    assert report["http_429"] == 0 and report["calls"]["answercallbackquery"] == 4 * 3  # every match voted
    assert report["per_search"]["albums"] == 1 and report["per_search"]["chat_actions"] <= 1
    assert "p95 ms" in capsys.readouterr().out


def test_help_and_percentile(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_bot.main(["--help"])
    assert "--users" in capsys.readouterr().out
    assert bench_bot.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert bench_bot.percentile([float(i) for i in range(1, 21)], 95) == 19.0
