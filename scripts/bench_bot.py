"""Benchmark the bot end to end: photo → album + vote keyboard latency with N concurrent users.

Starts the local Bot API emulator and the real bot (engine from the data dir) in one process;
N simulated users each send a catalog photo at the same moment, for --rounds rounds. Prints
p50/p95/max per round and overall, and writes the numbers as JSON. Example:

    python scripts/bench_bot.py --users 20 --rounds 3 --json bench_results/bench_bot.json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import statistics
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import build_application, running
from bot.emulator import BotApiEmulator, FakeUser
from bot.services import services
from engine.settings import Settings

logger = logging.getLogger("bench_bot")


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir, help="default: %(default)s")
    parser.add_argument("--embedders", default=",".join(settings.embedders), help="default: %(default)s")
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users (default: 20)")
    parser.add_argument("--rounds", type=int, default=3, help="photos per user, sent in lockstep (default: 3)")
    parser.add_argument("--k", type=int, default=settings.top_k, help="matches per photo (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=Path("bench_results/bench_bot.json"), help="output (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow-random-weights", action="store_true", default=settings.allow_random_weights,
                        help="tests only: allow the random-init embedder")
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


async def one_photo(user: FakeUser, photo: bytes, k: int) -> float:
    """Seconds from the photo reaching the bot's queue to the keyboard message arriving."""
    await user.send_photo(photo)
    started = time.perf_counter()
    await user.wait_for_messages(k + 1, timeout=120)
    return time.perf_counter() - started


async def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    async with BotApiEmulator() as emu:
        settings = settings.model_copy(update={
            "telegram_bot_token": SecretStr(emu.token), "telegram_base_url": emu.base_url,
            "telegram_base_file_url": emu.base_file_url, "top_k": args.k, "bot_rate_limiter": False,
        })
        app = build_application(settings)
        async with running(app, timeout=5):
            engine = services(app).engine
            rng = random.Random(args.seed)
            items = [engine.catalog.get(i) for i in rng.sample(engine.catalog.ids(), min(50, len(engine.catalog)))]
            photos = [engine.catalog.resolve_image(item).read_bytes() for item in items if item]
            users = [emu.user(900_000 + i, first_name=f"Bench{i}") for i in range(args.users)]
            rounds = []
            for _ in range(args.rounds):
                latencies = await asyncio.gather(*(one_photo(u, rng.choice(photos), args.k) for u in users))
                rounds.append(summarise(list(latencies)))
            batch_sizes = services(app).searcher.batch_sizes
    return {"users": args.users, "rounds": rounds, "k": args.k, "variants": engine.variants(),
            "max_batch": max(batch_sizes, default=0), "mean_batch": statistics.fmean(batch_sizes or [0])}


def print_table(report: dict[str, Any]) -> None:
    print(f"{'round':>5} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8}")
    for number, row in enumerate(report["rounds"], start=1):
        print(f"{number:>5} {row['n']:>4} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
              f"{row['max_ms']:>8.0f} {row['mean_ms']:>8.0f}")
    print(f"engine batches: max {report['max_batch']}, mean {report['mean_batch']:.1f}")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, Settings())
    if args.users < 1 or args.rounds < 1:
        logger.error("--users and --rounds must be >= 1")
        return 2
    settings = Settings(data_dir=args.data_dir, embedders=[e for e in args.embedders.split(",") if e],
                        allow_random_weights=args.allow_random_weights)
    report = asyncio.run(run(args, settings))
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
