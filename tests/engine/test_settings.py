"""Settings: .env.example documents every key, parses as is, and the token never prints."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def env_example_keys() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", text, flags=re.M))


def test_env_example_documents_every_setting() -> None:
    documented = set(env_example_keys())
    for name, field in Settings.model_fields.items():
        key = field.validation_alias if isinstance(field.validation_alias, str) else f"DOPE_{name.upper()}"
        assert key in documented, f"{key} missing from .env.example"


def test_env_example_lines_each_have_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z0-9_]+=", line):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_env_example_parses_as_a_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOPE_DATA_DIR")
    settings = Settings()
    assert settings.weights_dir is None and settings.telegram_bot_token is None
    assert settings.metrics == ["l2", "l1", "hamming", "cosine"]
    assert settings.data_dir == Path("data")


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:very-secret-token")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings.model_dump())
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123456:very-secret-token"


def test_comma_lists_and_bad_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOPE_EMBEDDERS", "vgg16-fc7, efficientnet-lite0")
    assert Settings(_env_file=None).embedders == ["vgg16-fc7", "efficientnet-lite0"]  # type: ignore[call-arg]
    monkeypatch.setenv("DOPE_METRICS", "l2,manhattan")
    with pytest.raises(ValueError):
        Settings(_env_file=None)  # type: ignore[call-arg]
