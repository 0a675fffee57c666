"""A local Telegram Bot API emulator for tests and offline demos.

``BotApiEmulator`` serves the Bot API over HTTP on 127.0.0.1 inside the caller's event loop, so
the real python-telegram-bot ``Application`` can poll it; ``FakeUser`` plays the human side; a
web chat page at ``/`` lets a person play it from a browser. See ``server.py`` for usage.
"""
from bot.emulator.client import CallbackPress, FakeUser
from bot.emulator.limits import ApiError
from bot.emulator.server import DEFAULT_TOKEN, BotApiEmulator
from bot.emulator.state import EmulatorState

__all__ = ["ApiError", "BotApiEmulator", "CallbackPress", "DEFAULT_TOKEN", "EmulatorState", "FakeUser"]
