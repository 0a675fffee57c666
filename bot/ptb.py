"""The concrete python-telegram-bot generics this bot is built from, named once for annotations."""
from __future__ import annotations

from typing import Any, TypeAlias

from telegram.ext import Application, ContextTypes, JobQueue

from bot.intake import TolerantBot

# What build_application() builds: our TolerantBot, PTB's default context and plain dict data.
BotApplication: TypeAlias = Application[
    TolerantBot, ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any], dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]
