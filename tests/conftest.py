"""Shared fixtures: real files in tmp_path, real SQLite, small real models on the CPU."""
from __future__ import annotations

import os

import pytest
import torch

# Tests share a 2-core machine with each other; one torch thread keeps them predictable.
torch.set_num_threads(1)
os.environ.setdefault("DOPE_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's .env or data folder by accident."""
    monkeypatch.setenv("DOPE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)


@pytest.fixture(scope="session")
def huge_png_bytes() -> bytes:
    """20000×20000 PNG, made once per run (about 1.5 s)."""
    from tests.factories import huge_png

    return huge_png()
