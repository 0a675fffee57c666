"""The README keeps up with the code: every script and bot command is documented and has help."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SCRIPTS = sorted(p.stem for p in (ROOT / "scripts").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_is_in_the_readme(script: str) -> None:
    assert f"scripts/{script}.py" in README, f"scripts/{script}.py is not documented in README.md"


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help(script: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(f"scripts.{script}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_every_bot_command_is_in_the_readme() -> None:
    from bot.commands import BOT_COMMANDS

    for command, _description in BOT_COMMANDS:
        assert re.search(rf"`/{command}\b", README), f"/{command} is not documented in README.md"


def test_readme_quick_start_commands_exist() -> None:
    """The two commands of the quick start are the ones CI and newcomers run."""
    assert "bash scripts/quickstart.sh" in README
    assert ".venv/bin/python -m pytest" in README
    assert ".venv/bin/python -m pytest" in (ROOT / ".ci" / "run").read_text()
