"""Every script starts as a program, both ways the README runs them, and `scripts` is installed.

`python scripts/X.py` puts scripts/ (not the checkout) first on sys.path, so its own
`from scripts.lib import cli` works only when the package is installed; the subprocesses get
PYTHONPATH=<checkout> so they import this checkout's code whatever checkout the venv's editable
install points at, and `test_scripts_are_a_package_that_installs` checks the install itself.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from setuptools import find_packages
from setuptools.config.pyprojecttoml import read_configuration

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.stem for p in (ROOT / "scripts").glob("*.py") if p.stem != "__init__")


def _help(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("form", ["file", "module"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_help_runs_as_a_program(script: str, form: str) -> None:
    args = [f"scripts/{script}.py"] if form == "file" else ["-m", f"scripts.{script}"]
    result = _help([sys.executable, *args, "--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:") and "--log-level" in result.stdout


def test_scripts_are_a_package_that_installs() -> None:
    """pyproject's package list takes scripts/ and every subpackage the scripts import."""
    config = read_configuration(ROOT / "pyproject.toml", expand=False)
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = set(find_packages(where=str(ROOT), include=include))
    wanted = {".".join(p.relative_to(ROOT).parts[:-1]) for p in (ROOT / "scripts").rglob("__init__.py")}
    assert {"scripts", "scripts.lib"} <= wanted <= packages
