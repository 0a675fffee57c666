"""Run the emulator standalone for a local demo: ``python -m bot.emulator --port 8081 --token T``.

Point the bot at it with ``base_url=http://127.0.0.1:PORT/bot`` and
``base_file_url=http://127.0.0.1:PORT/file/bot``, then open http://127.0.0.1:PORT/ to chat.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os

from bot.emulator.server import DEFAULT_TOKEN, BotApiEmulator

logger = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (0 = any free port)")
    parser.add_argument("--token", default=os.environ.get("TELEGRAM_BOT_TOKEN", DEFAULT_TOKEN),
                        help="bot token the emulator accepts (default: $TELEGRAM_BOT_TOKEN or a test token)")
    parser.add_argument("--bot-name", default="Dope or Nope", help="the bot's first_name in getMe")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Serve until cancelled (Ctrl+C)."""
    async with BotApiEmulator(token=args.token, host=args.host, port=args.port,
                              bot_first_name=args.bot_name) as emu:
        logger.info("Web chat:      %s/", emu.url)
        logger.info("Bot base_url:  %s   base_file_url: %s", emu.base_url, emu.base_file_url)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(parse_args(argv)))
    except KeyboardInterrupt:
        logger.info("Emulator stopped")


if __name__ == "__main__":
    main()
