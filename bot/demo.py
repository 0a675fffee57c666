"""Local demo without Telegram: the Bot API emulator, the real bot and the web chat, one process.

    python scripts/make_demo_catalog.py && python scripts/build_index.py && python -m bot.demo

then open the logged URL (http://127.0.0.1:8081/ by default) and send a photo. Settings (data
dir, embedders, top_k...) come from the environment / .env as for `python -m bot`; the bot token
and Telegram URLs are replaced by the emulator's.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import SecretStr

from bot.app import ConfigError, build_application, running
from bot.emulator import DEFAULT_TOKEN, BotApiEmulator
from engine.errors import EngineError
from engine.settings import Settings

logger = logging.getLogger("bot.demo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="port of the web chat (default: %(default)s)")
    return parser.parse_args(argv)


def demo_settings(settings: Settings, emu: BotApiEmulator) -> Settings:
    """`settings` pointed at the emulator instead of api.telegram.org."""
    return settings.model_copy(update={
        "telegram_bot_token": SecretStr(emu.token), "telegram_base_url": emu.base_url,
        "telegram_base_file_url": emu.base_file_url,
    })


async def serve(args: argparse.Namespace) -> None:
    """Run until cancelled (Ctrl+C)."""
    async with BotApiEmulator(token=DEFAULT_TOKEN, host=args.host, port=args.port) as emu:
        application = build_application(demo_settings(Settings(), emu))
        async with running(application, timeout=10):
            logger.info("Demo ready: open %s/ in a browser and send a photo", emu.url)
            await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(parse_args(argv)))
    except KeyboardInterrupt:
        logger.info("demo stopped")
    except (ConfigError, EngineError) as error:
        logger.error("cannot start the demo: %s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
