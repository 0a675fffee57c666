"""Crash test: `kill -9` the bot with photos and button presses in flight, restart it, and count
what was lost, answered twice or left behind.

The Bot API emulator runs in this process; the bot runs as `python -m bot` in a subprocess
pointed at it, with the data dir's catalog and indexes but a scratch votes database. Each
repeat: every user gets one search answered (so there are keyboards to press), then all users
send another photo and press --presses buttons at once; as soon as the bot is busy with them it
is killed with SIGKILL and started again. Then:

- lost: a photo without its vote keyboard, or a press never answered;
- double counted: more votes stored than matches pressed (a vote counted twice);
- repeated: a photo answered with a second album or keyboard. The journal (bot/journal.py) makes
  this rare, but it cannot be zero: if the kill lands after Telegram accepted a send and before
  the bot read the reply, nobody on the bot's side can know it went out (the Bot API has no
  idempotency keys), and the replay sends it again rather than lose it;
- orphan: searches recorded without a keyboard sent, shown rows beyond k per search, or updates
  still pending in the inbox.

    python scripts/bench_crash.py --data-dir data/demo --users 6 --presses 4 --repeats 5
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.emulator import BotApiEmulator, FakeUser
from engine.catalog.store import CatalogStore
from engine.settings import Settings
from scripts.lib import cli
from scripts.lib.benchmarking import RESULTS_DIR, is_vote_keyboard

logger = logging.getLogger("bench_crash")
LOG_LEVEL = "WARNING"


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = cli.parser(__doc__, log_level=LOG_LEVEL)
    cli.add_data_dir(parser, settings, "catalog + indexes")
    parser.add_argument("--embedders", default=",".join(settings.embedders), help="default: %(default)s")
    parser.add_argument("--users", type=int, default=6, help="users, one photo each in flight (default: 6)")
    parser.add_argument("--presses", type=int, default=4, help="button presses in flight per user (default: 4)")
    parser.add_argument("--repeats", type=int, default=5, help="crash/restart cycles (default: 5)")
    parser.add_argument("--k", type=int, default=5, help="matches per photo (default: 5)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_crash.json", help="output (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    cli.add_allow_random_weights(parser)
    return parser.parse_args(argv)


def scratch_data_dir(source: Path, scratch: Path) -> Path:
    """A data dir that shares the source's catalog and indexes but has its own votes file."""
    target = scratch / "data"
    target.mkdir()
    for entry in source.iterdir():
        if not entry.name.startswith("votes.sqlite"):
            (target / entry.name).symlink_to(entry.resolve())
    return target


class BotProcess:
    """`python -m bot` against the emulator; `kill()` is SIGKILL, no goodbye."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=self.env, stdout=out, stderr=out)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, sig)

    async def wait(self) -> None:
        if self.process is not None:
            await self.process.wait()


def bot_env(args: argparse.Namespace, emu: BotApiEmulator, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "TELEGRAM_BOT_TOKEN": emu.token, "DOPE_TELEGRAM_BASE_URL": emu.base_url,
            "DOPE_TELEGRAM_BASE_FILE_URL": emu.base_file_url, "DOPE_DATA_DIR": str(data_dir),
            "DOPE_EMBEDDERS": args.embedders, "DOPE_TOP_K": str(args.k), "DOPE_TORCH_THREADS": "1",
            "DOPE_ALLOW_RANDOM_WEIGHTS": "true" if args.allow_random_weights else "false",
            "DOPE_RELOAD_POLL_SECONDS": "0", "PYTHONUNBUFFERED": "1"}


async def wait_ready(emu: BotApiEmulator, polls_before: int, timeout: float = 120) -> None:
    """Until the (re)started bot polls getUpdates."""
    if not await emu.state.wait_until(lambda: emu.calls["getupdates"] > polls_before, timeout):
        raise TimeoutError("the bot did not start polling")


def keyboards(user: FakeUser) -> list[dict[str, Any]]:
    return [m for m in user.messages if is_vote_keyboard(m)]


def albums(user: FakeUser) -> set[str]:
    return {m["media_group_id"] for m in user.messages if "media_group_id" in m}


async def one_repeat(args: argparse.Namespace, data_source: Path, rng: random.Random, log: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as scratch:
        data_dir = scratch_data_dir(data_source, Path(scratch))
        async with BotApiEmulator() as emu:
            catalog = CatalogStore(data_dir / "catalog.sqlite", create=False)
            items = [catalog.get(i) for i in catalog.ids()[:200]]
            photos = [catalog.resolve_image(item) for item in items if item is not None]
            catalog.close()
            users = [emu.user(810_000 + i, first_name=f"Crash{i}") for i in range(args.users)]
            bot = BotProcess(bot_env(args, emu, data_dir), log)
            await bot.start()
            await wait_ready(emu, 0)
            for user in users:  # warm-up: a keyboard per user to press during the crash
                await user.send_photo(rng.choice(photos).read_bytes())
            for user in users:
                await user.wait_through(is_vote_keyboard, timeout=120)  # album (+ the framed photo), then it
            pressed: dict[int, int] = {}  # shown_id -> value of the last press
            presses = []
            for user in users:
                board = keyboards(user)[0]
                await user.send_photo(rng.choice(photos).read_bytes())
                for row in board["reply_markup"]["inline_keyboard"][: args.presses]:
                    button = rng.choice(row)
                    shown_id, value = int(button["callback_data"].split(":")[1]), button["callback_data"][-1]
                    pressed[shown_id] = 1 if value == "+" else -1
                    presses.append(await user.press(board, button["callback_data"]))
            # Kill as soon as the bot is busy with them: the first answer or chat action of this wave.
            actions_before = len(emu.state.chat_actions)
            await emu.state.wait_until(lambda: any(p.answer for p in presses)
                                       or len(emu.state.chat_actions) > actions_before, timeout=60)
            await asyncio.sleep(rng.uniform(0, 0.3))
            answered_at_kill = sum(1 for p in presses if p.answer)
            keyboards_at_kill = sum(len(keyboards(u)) - 1 for u in users)
            bot.kill()
            await bot.wait()
            polls = emu.calls["getupdates"]
            await bot.start()
            await wait_ready(emu, polls)
            done = await emu.state.wait_until(
                lambda: all(p.answer for p in presses) and all(len(keyboards(u)) >= 2 for u in users), timeout=120)
            await asyncio.sleep(1.5)  # anything answered twice would show up now
            bot.kill(signal.SIGTERM)
            await bot.wait()
            votes_db = sqlite3.connect(data_dir / "votes.sqlite")
            votes = dict(votes_db.execute("SELECT shown_id, value FROM votes").fetchall())
            queries = votes_db.execute("SELECT COUNT(*) FROM queries").fetchone()[0]
            shown = votes_db.execute("SELECT COUNT(*) FROM shown").fetchone()[0]
            pending = votes_db.execute("SELECT COUNT(*) FROM inbox WHERE status != 'done'").fetchone()[0]
            votes_db.close()
            sent_keyboards = sum(len(keyboards(u)) for u in users)
            return {
                "photos_in_flight": len(users), "presses_in_flight": len(presses),
                "answered_before_kill": answered_at_kill, "keyboards_before_kill": keyboards_at_kill,
                "recovered": bool(done),
                "lost": sum(1 for u in users if len(keyboards(u)) < 2) + sum(1 for p in presses if not p.answer),
                "double_counted": max(0, len(votes) - len(pressed)),  # more votes than pressed matches
                "repeated_albums": sum(max(0, len(albums(u)) - 2) for u in users),
                "repeated_keyboards": sum(max(0, len(keyboards(u)) - 2) for u in users),
                "wrong_votes": sum(1 for shown_id, value in pressed.items() if votes.get(shown_id) != value),
                "orphan": max(0, queries - sent_keyboards) + max(0, shown - queries * args.k) + pending,
            }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    log = args.json.with_suffix(".bot.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    repeats = []
    for number in range(1, args.repeats + 1):
        started = time.perf_counter()
        result = await one_repeat(args, args.data_dir, rng, log)
        result["seconds"] = round(time.perf_counter() - started, 1)
        print(f"repeat {number}: {json.dumps(result)}", flush=True)
        repeats.append(result)
    totals = {key: sum(r[key] for r in repeats) for key in (
        "lost", "double_counted", "repeated_albums", "repeated_keyboards", "wrong_votes", "orphan",
        "photos_in_flight", "presses_in_flight")}
    return {"repeats": repeats, "totals": totals, "bot_log": str(log)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, Settings())
    if args.users < 1 or args.presses < 1 or args.repeats < 1 or not 1 <= args.presses <= args.k:
        logger.error("--users, --repeats >= 1 and 1 <= --presses <= --k")
        return 2
    report = asyncio.run(run(args))
    totals = report["totals"]
    print(f"{args.repeats} repeats, {totals['photos_in_flight']} photos and {totals['presses_in_flight']} presses in "
          f"flight at the kill: lost {totals['lost']}, double-counted {totals['double_counted']}, wrong votes "
          f"{totals['wrong_votes']}, orphan rows {totals['orphan']}; repeated albums {totals['repeated_albums']}, "
          f"repeated keyboards {totals['repeated_keyboards']}")
    print(f"wrote {cli.write_json(args.json, report)}")
    return 0 if not (totals["lost"] or totals["double_counted"] or totals["wrong_votes"] or totals["orphan"]) else 1


if __name__ == "__main__":
    raise SystemExit(cli.run(main, log_level=LOG_LEVEL))
