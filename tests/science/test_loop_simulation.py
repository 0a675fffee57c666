"""The loop simulations run end to end: through the emulator (the bot is never restarted), and
the interleaving power / false-promotion simulation. Figures are not asserted (CI-sized runs)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import simulate_interleaving, simulate_loop


@pytest.mark.timeout(600)
def test_loop_simulation_drives_the_bot_through_retrain_and_a_decision(tmp_path: Path) -> None:
    out = tmp_path / "loop.json"
    assert simulate_loop.main(["--quick", "--data-dir", str(tmp_path / "data"), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["restarts"] == 0
    assert report["retrained"].startswith("🧠 Retrained ft:votes-") and "registered as challenger" in report["retrained"]
    assert report["decision"] and ("is now champion" in report["decision"] or "is now retired" in report["decision"])
    assert "🧪 Models" in report["registry"]
    assert set(report["tastes"]) == {"before", "interleaved", "after", "after_control"}
    for taste, after in report["tastes"]["after"].items():  # the control saw the very same photos, voted none
        control = report["tastes"]["after_control"][taste]
        assert control["votes"] == 0 and control["p_at_k"] is not None and after["votes"] > 0
    before = report["tastes"]["before"]
    assert set(before) == {"colour", "pattern", "category"} and before["colour"]["votes"] == 4 * 3 * 5
    assert report["votes_total"] > report["votes_at_retrain"] > 0


def test_interleaving_simulation_reports_power_and_false_promotions(tmp_path: Path) -> None:
    out = tmp_path / "interleaving.json"
    assert simulate_interleaving.main(["--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for name in ("better", "identical"):
        row = report[name]
        assert row["runs"] == 4 == row["promoted"] + row["retired"] + row["undecided"]
        assert row["votes_median"] >= 10 * 5  # at least min_comparisons albums of k votes
    assert report["better"]["same_colour_p@k"] > report["identical"]["same_colour_p@k"]


def test_a_rerun_starts_afresh_without_the_last_runs_journal(tmp_path: Path) -> None:
    """A new emulator numbers updates from 1: last run's journal would mark them answered (silence)."""
    (tmp_path / "models").mkdir()
    leftovers = [tmp_path / name for name in ("votes.sqlite", "votes.sqlite-wal", "votes.sent", "models/votes-1.pt")]
    for path in [tmp_path / "catalog.sqlite", *leftovers]:
        path.write_bytes(b"x")
    simulate_loop.prepare(simulate_loop.build_parser().parse_args(["--data-dir", str(tmp_path)]))
    assert [p.name for p in leftovers if p.exists()] == []
    assert (tmp_path / "catalog.sqlite").exists()  # the catalog and its index are kept
