"""scripts/lib/cli.py: the flags, settings and output every script shares."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from engine.settings import Settings
from scripts.lib import cli


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser("A test script.")
    cli.add_data_dir(parser, settings)
    cli.add_device(parser, settings)
    cli.add_allow_random_weights(parser, settings)
    cli.add_quiet(parser)
    cli.add_threads(parser)
    return parser


def test_parse_points_the_settings_at_data_dir(tmp_path: Path) -> None:
    args, settings = cli.parse(build_parser, ["--data-dir", str(tmp_path), "--threads", "2", "--log-level", "debug"])
    assert settings.data_dir == tmp_path and settings.catalog_path == tmp_path / "catalog.sqlite"
    assert (args.threads, args.log_level, args.quiet, args.allow_random_weights) == (2, "DEBUG", False, False)


def test_the_shared_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOPE_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("DOPE_ALLOW_RANDOM_WEIGHTS", "true")
    args, settings = cli.parse(build_parser, [])
    assert settings.data_dir == tmp_path / "env" and args.allow_random_weights is True


def test_an_unknown_log_level_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(build_parser, ["--log-level", "LOUD"])
    assert exit_info.value.code == 2 and "--log-level" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [
    ("l2", ["l2"]), (" hamming, l1,,cosine ", ["hamming", "l1", "cosine"]), ("", []),
])
def test_metric_names_keep_their_order(text: str, expected: list[str]) -> None:
    assert cli.metric_names(text) == expected


def test_an_unknown_metric_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown metric manhattan; valid: l2, l1, hamming, cosine"):
        cli.metric_names("l2,manhattan")


def test_write_json_takes_paths_and_numpy_and_writes_the_table_beside(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "result.json"
    cli.write_json(out, {"path": tmp_path, "score": np.float32(0.5), "n": np.int64(3), "emoji": "👍"},
                   table="| a |\n|---|")
    assert json.loads(out.read_text()) == {"path": str(tmp_path), "score": 0.5, "n": 3, "emoji": "👍"}
    assert out.with_suffix(".md").read_text() == "| a |\n|---|\n"


def test_run_hands_main_the_arguments_and_returns_its_code() -> None:
    seen: list[list[str] | None] = []

    def main(argv: list[str] | None = None) -> int:
        seen.append(argv)
        return 3

    assert cli.run(main, ["--log-level", "WARNING", "--n", "2"]) == 3
    assert seen == [["--log-level", "WARNING", "--n", "2"]]
