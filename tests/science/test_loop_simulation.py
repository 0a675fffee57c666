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
    assert set(report["tastes"]) == {"before", "interleaved", "after"}
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
