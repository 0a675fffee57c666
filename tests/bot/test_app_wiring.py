"""Start-up checks: token required, rate limiter and concurrency on, random weights refused."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr
from bot.pacing import TelegramPacer

from bot import __main__ as bot_main
from bot import demo
from bot.app import ConfigError, build_application, running
from bot.emulator import BotApiEmulator
from engine.errors import EngineError
from engine.search import Engine
from engine.settings import Settings
from tests.bot.conftest import bot_settings

pytestmark = pytest.mark.timeout(60)


def test_missing_token_is_a_clear_error(engine_settings: Settings) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        build_application(engine_settings.model_copy(update={"telegram_bot_token": None}))
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        build_application(engine_settings.model_copy(update={"telegram_bot_token": SecretStr("")}))


def test_python_m_bot_without_token_exits_with_a_message(caplog: pytest.LogCaptureFixture, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env (with a real token) is read
    with caplog.at_level(logging.ERROR):
        assert bot_main.main() == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in caplog.text


def test_production_defaults(engine_settings: Settings) -> None:
    settings = Settings(_env_file=None, telegram_bot_token="1:abc")  # type: ignore[call-arg]
    app = build_application(settings)
    assert isinstance(app.bot.rate_limiter, TelegramPacer)
    assert app.concurrent_updates > 1
    assert app.bot.base_url == "https://api.telegram.org/bot1:abc"


async def test_random_weights_are_refused_unless_allowed(engine_settings: Settings, engine: Engine,
                                                         tmp_path: Path) -> None:
    async with BotApiEmulator(token="1:abc") as emu:
        settings = bot_settings(engine_settings, emu, tmp_path, allow_random_weights=False)
        with pytest.raises(EngineError, match="random weights"):
            async with running(build_application(settings, engine=engine), timeout=1):
                pass


def test_demo_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--help"])
    assert "--port" in capsys.readouterr().out
