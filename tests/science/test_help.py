"""Every science script answers --help with exit code 0."""
from __future__ import annotations

import pytest

from scripts import evaluate, finetune, retrain, simulate_votes, tsne


@pytest.mark.parametrize("script", [finetune, evaluate, tsne, simulate_votes, retrain])
def test_help_exits_zero(script: object, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--help"])  # type: ignore[attr-defined]
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
