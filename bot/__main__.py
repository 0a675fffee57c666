"""Run the bot: `python -m bot` (settings from the environment / .env; see .env.example)."""
from __future__ import annotations

import logging
import sys

from telegram import Update

from bot.app import ConfigError, build_application
from engine.errors import EngineError
from engine.settings import Settings

logger = logging.getLogger("bot")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines contain the token in URLs
    try:
        application = build_application(Settings())
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    except (ConfigError, EngineError) as error:
        logger.error("cannot start the bot: %s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
