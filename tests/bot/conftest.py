"""Bot fixtures: one small real engine per session, and per test a real VoteStore on a tmp SQLite
file, the Bot API emulator on 127.0.0.1 and the real Application from build_application()."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram.ext import Application

from bot.app import build_application, running
from bot.emulator import BotApiEmulator, CallbackPress, FakeUser
from bot.services import Services, services
from votes.store import VoteStore
from engine.search import Engine
from engine.settings import Settings
from scripts import build_index
from tests.factories import make_catalog

TOKEN = "654321:BOT-TEST-TOKEN"
TOP_K = 4
CATALOG_SIZE = 24


@pytest.fixture(scope="session")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A 24-item catalog indexed with random-init under all four metrics."""
    data_dir = tmp_path_factory.mktemp("bot-engine")
    make_catalog(data_dir, n=CATALOG_SIZE).close()
    argv = ["--data-dir", str(data_dir), "--embedders", "random-init", "--allow-random-weights",
            "--workers", "0", "--quiet"]
    assert build_index.main(argv) == 0
    return Settings(_env_file=None, data_dir=data_dir, embedders=["random-init"],  # type: ignore[call-arg]
                    allow_random_weights=True, device="cpu")


@pytest.fixture(scope="session")
def engine(engine_settings: Settings) -> Engine:
    return Engine.from_settings(engine_settings)


def bot_settings(engine_settings: Settings, emu: BotApiEmulator, data_dir: Path, **extra: Any) -> Settings:
    """Settings pointing the bot at the emulator; votes in `data_dir` (the engine is injected)."""
    return engine_settings.model_copy(update={
        "data_dir": data_dir, "telegram_bot_token": SecretStr(emu.token),
        "telegram_base_url": emu.base_url, "telegram_base_file_url": emu.base_file_url,
        "top_k": TOP_K, "bot_rate_limiter": True, "batch_window_ms": 20.0,
        "batch_max_queries": 16, **extra,  # batching on, as on a GPU, so the load test exercises it
    })


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator
    assert emulator.unknown_methods == []  # the bot called only methods Telegram (and we) know
    assert emulator.flood_rejections == []  # and it stayed under Telegram's flood limits


@pytest.fixture
def settings(engine_settings: Settings, emu: BotApiEmulator, tmp_path: Path) -> Settings:
    return bot_settings(engine_settings, emu, tmp_path)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[VoteStore]:
    vote_store = VoteStore(settings.votes_path)
    await vote_store.initialize()
    yield vote_store
    await vote_store.shutdown()


@pytest.fixture
def mode() -> str:
    """How updates reach the bot; a module overrides this to run its tests in both modes."""
    return "polling"


@pytest.fixture
async def app(settings: Settings, engine: Engine, store: VoteStore, mode: str) -> AsyncIterator[Application]:
    application = build_application(settings, engine=engine, vote_store=store)
    async with running(application, mode=mode, timeout=5):  # type: ignore[arg-type]
        yield application


@pytest.fixture
def svc(app: Application) -> Services:
    return services(app)


@pytest.fixture
def alice(emu: BotApiEmulator) -> FakeUser:
    return emu.user(1001, first_name="Alice")


@pytest.fixture
def bob(emu: BotApiEmulator) -> FakeUser:
    return emu.user(2002, first_name="Bob")


def keyboard(message: dict[str, Any]) -> list[list[dict[str, str]]]:
    return (message.get("reply_markup") or {}).get("inline_keyboard") or []


def button_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in keyboard(message) for b in row]


async def search_results(user: FakeUser, photo: bytes, k: int = TOP_K,
                         timeout: float = 20) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send a photo; return (album messages, keyboard message)."""
    await user.send_photo(photo)
    replies = await user.wait_for_messages(k + 1, timeout=timeout)
    return replies[:k], replies[k]


def queue_message(user: FakeUser, content: dict[str, Any]) -> dict[str, Any]:
    """Put a user's message in the bot's update queue without yielding to the event loop, so
    several queued together reach the bot in one getUpdates (call `user.state.notify()` after)."""
    message = user.state.add_message(user.chat_id, user.user, content)
    user.state.push_update("message", message)
    return message


async def press_data(user: FakeUser, message: dict[str, Any], data: str) -> CallbackPress:
    """Press a button with arbitrary callback data (a forged or stale one) on `message`."""
    query = user.state.new_callback_query(user.user, user.state.message(user.chat_id, message["message_id"]), data)
    user.state.push_update("callback_query", query)
    await user.state.notify()
    return CallbackPress(query, user.state)
