"""Benchmark the bot end to end under Telegram's limits: photo → vote keyboard latency, N users.

Starts the local Bot API emulator (which enforces Telegram's flood control: ~1 message/s per
chat after a short burst, ~30/s overall, answering 429 beyond) and the real bot (engine from the
data dir, pacing on) in one process. Every simulated user sends --photos photos one after
another; with --vote-all they press 👍 or 👎 on every match of each answer (as fast as the bot
answers the presses) before sending the next photo. All users start at the same moment.

Reports p50/p95/max of photo → keyboard, the emulator's HTTP 429 count, and Bot API calls per
search (albums, chat actions, keyboard edits). Example (the issue's figure):

    python scripts/bench_bot.py --data-dir data/demo --users 50 --photos 3 --vote-all
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import build_application, running
from bot.emulator import BotApiEmulator, FakeUser
from bot.services import services
from engine.settings import Settings
from votes.store import VoteStore
from scripts.lib import cli
from scripts.lib.benchmarking import RESULTS_DIR, is_vote_keyboard

logger = logging.getLogger("bench_bot")
LOG_LEVEL = "WARNING"  # the bot's INFO lines would drown the table


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = cli.parser(__doc__, log_level=LOG_LEVEL)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedders", default=",".join(settings.embedders), help="default: %(default)s")
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users (default: 20)")
    parser.add_argument("--photos", "--rounds", dest="photos", type=int, default=3,
                        help="photos per user, each sent after the previous answer (default: 3)")
    parser.add_argument("--vote-all", action="store_true", help="press a vote button on every match before the next photo")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds a user pauses before each press and before the next photo (default: 0)")
    parser.add_argument("--torch-threads", type=int, default=settings.torch_threads,
                        help="CPU threads per forward pass, 0 = torch's default (default: %(default)s)")
    parser.add_argument("--k", type=int, default=settings.top_k, help="matches per photo (default: %(default)s)")
    parser.add_argument("--mode", choices=("polling", "webhook"), default="polling", help="update delivery")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_bot.json", help="output (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    cli.add_allow_random_weights(parser, settings)
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summarise(latencies: list[float]) -> dict[str, float]:
    return {"n": len(latencies), "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95), "max_ms": 1000 * max(latencies),
            "mean_ms": 1000 * statistics.fmean(latencies)}


async def one_user(user: FakeUser, photos: list[bytes], k: int, vote_all: bool, rng: random.Random,
                   think: float = 0.0, presses: list[float] | None = None) -> list[float]:
    """Send the photos one after another; seconds from each photo to its vote keyboard (and, in
    `presses`, from each button press to its answer)."""
    latencies = []
    for number, photo in enumerate(photos):
        if number and think:
            await asyncio.sleep(think)
        started = time.perf_counter()
        await user.send_photo(photo)
        *_, board = await user.wait_through(is_vote_keyboard, timeout=300)  # the album (+ framed photo), then it
        latencies.append(time.perf_counter() - started)
        if vote_all:
            rows = (board.get("reply_markup") or {}).get("inline_keyboard") or []
            for row in rows:
                if think:
                    await asyncio.sleep(think)
                pressed = time.perf_counter()
                await (await user.press(board, rng.choice(row)["callback_data"])).answered(timeout=300)
                if presses is not None:
                    presses.append(time.perf_counter() - pressed)
    return latencies


async def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as scratch:
        store = VoteStore(Path(scratch) / "votes.sqlite")  # never the data dir's real votes
        await store.initialize()
        try:
            return await _run(args, settings, store)
        finally:
            await store.shutdown()


async def _run(args: argparse.Namespace, settings: Settings, store: VoteStore) -> dict[str, Any]:
    async with BotApiEmulator() as emu:
        settings = settings.model_copy(update={
            "telegram_bot_token": SecretStr(emu.token), "telegram_base_url": emu.base_url,
            "telegram_base_file_url": emu.base_file_url, "top_k": args.k, "bot_rate_limiter": True,
            "data_dir": args.data_dir,
        })
        app = build_application(settings, vote_store=store)
        async with running(app, mode=args.mode, timeout=5):
            svc = services(app)
            rng = random.Random(args.seed)
            catalog = svc.engine.catalog
            items = [catalog.get(i) for i in rng.sample(catalog.ids(), min(50, len(catalog)))]
            pool = [catalog.resolve_image(item).read_bytes() for item in items if item]
            users = [emu.user(900_000 + i, first_name=f"Bench{i}") for i in range(args.users)]
            emu.calls.clear()
            started = time.perf_counter()
            presses: list[float] = []
            per_user = await asyncio.gather(*(
                one_user(u, [rng.choice(pool) for _ in range(args.photos)], args.k, args.vote_all,
                         random.Random(args.seed + n), args.think, presses) for n, u in enumerate(users)))
            wall = time.perf_counter() - started
            # Let coalesced keyboard edits still in flight land before counting calls.
            while svc.edits.pending():
                await asyncio.sleep(0.05)
            edits = svc.edits
            searches = args.users * args.photos
            calls = dict(emu.calls)
    latencies = [seconds for user in per_user for seconds in user]
    by_photo = [summarise([user[i] for user in per_user]) for i in range(args.photos)]
    return {"users": args.users, "photos": args.photos, "vote_all": args.vote_all, "k": args.k, "mode": args.mode,
            "think_s": args.think, "torch_threads": args.torch_threads,
            "overall": summarise(latencies), "by_photo": by_photo, "wall_s": wall,
            "press_to_answer": summarise(presses) if presses else None,
            "http_429": len(emu.flood_rejections), "calls": calls,
            "per_search": {"chat_actions": calls.get("sendchataction", 0) / searches,
                           "albums": calls.get("sendmediagroup", 0) / searches,
                           "keyboard_edits": calls.get("editmessagereplymarkup", 0) / searches},
            "edit_requests": edits.requests, "edits_sent": edits.edits_run}


def print_table(report: dict[str, Any]) -> None:
    print(f"{'photo':>5} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8}")
    rows = [(str(n), r) for n, r in enumerate(report["by_photo"], start=1)] + [("all", report["overall"])]
    for label, row in rows:
        print(f"{label:>5} {row['n']:>4} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
              f"{row['max_ms']:>8.0f} {row['mean_ms']:>8.0f}")
    if report["press_to_answer"]:
        press = report["press_to_answer"]
        print(f"press → answer: p50 {press['p50_ms']:.0f} ms, p95 {press['p95_ms']:.0f} ms ({press['n']} presses)")
    per = report["per_search"]
    print(f"HTTP 429s: {report['http_429']}   wall: {report['wall_s']:.1f} s   per search: "
          f"{per['albums']:.2f} albums, {per['chat_actions']:.2f} chat actions, {per['keyboard_edits']:.2f} keyboard "
          f"edits ({report['edit_requests']} vote presses needing an edit → {report['edits_sent']} edits)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, Settings())
    if args.users < 1 or args.photos < 1:
        logger.error("--users and --photos must be >= 1")
        return 2
    settings = Settings(data_dir=args.data_dir, embedders=cli.names(args.embedders),
                        allow_random_weights=args.allow_random_weights, torch_threads=args.torch_threads)
    report = asyncio.run(run(args, settings))
    print_table(report)
    print(f"wrote {cli.write_json(args.json, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main, log_level=LOG_LEVEL))
