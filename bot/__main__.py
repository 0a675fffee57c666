"""Run the bot: `python -m bot` (settings from the environment / .env; see .env.example).

Long polling by default; webhook mode when DOPE_WEBHOOK_URL is set (see README, "Webhook mode").
SIGTERM drains: searches in flight finish before the process exits.
"""
from __future__ import annotations

import logging
import sys

from bot.app import ConfigError, build_application
from bot.serve import WebhookConfigError, run
from engine.errors import EngineError
from engine.settings import Settings

logger = logging.getLogger("bot")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines contain the token in URLs
    try:
        settings = Settings()
        run(build_application(settings), settings)  # polling, or webhook when DOPE_WEBHOOK_URL is set
    except (ConfigError, EngineError, WebhookConfigError) as error:
        logger.error("cannot start the bot: %s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
