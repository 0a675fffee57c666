"""The learning loop end to end, driven through the Bot API emulator (the bot is never restarted).

    python scripts/simulate_loop.py --data-dir data/loop      # demo catalog + index built if missing
    python scripts/simulate_loop.py --quick                   # CI-sized, untrained weights

Simulated users with a known taste (colour, pattern or category) send photos of new demo
products to the running bot, vote 👍/👎 on every match by their taste (they "see" each match:
its shop link names the demo item, whose colour/pattern/shape the user knows) and play /play.
  1. before: each taste user searches --before photos with the served champion;
  2. an admin sends /retrain: the bot retrains off the event loop, the new model enters as
     challenger (hot-loaded) and users with enough votes get personal adapters;
  3. crowd users (a few searches each, no adapter) see champion × challenger interleaved albums
     until the bot promotes or retires the challenger (the admin is told);
  4. after: each taste user searches --after photos again; a control user who never voted sends
     each of those photos too ("after_control": what the regular would be shown without the
     loop's personal results, on the very same photos, so before/after is not a photo-set draw).
Reported per taste: approval (share of 👍) and P@5 (share of shown matches sharing the taste) before
and after, the votes it took, the registry's decision, and that no restart happened.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import build_application, running
from bot.emulator import BotApiEmulator, FakeUser
from engine.catalog.synthetic import DEMO_URL, sample_spec, synthetic_sample
from engine.settings import Settings
from scripts import build_index, make_demo_catalog
from scripts.lib import cli

logger = logging.getLogger("simulate_loop")

TOKEN = "777000:SIMULATED-LOOP"
ADMIN = 1
QUERY_SEED = 99  # query photos are new products, never catalog items
SKU = re.compile(re.escape(DEMO_URL) + r"demo-(\d+)-(\d+)")


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data/loop"), help="default: %(default)s")
    parser.add_argument("--items", type=int, default=600, help="demo catalog size when built here")
    parser.add_argument("--embedder", default="efficientnet-lite0", help="the initial champion")
    parser.add_argument("--tastes", default="colour:4,pattern:2,category:2", help="taste:users of the regulars")
    parser.add_argument("--before", type=int, default=25, help="photos per regular before retraining")
    parser.add_argument("--after", type=int, default=8, help="photos per regular after the loop")
    parser.add_argument("--crowd", type=int, default=30, help="crowd users judging the interleaved albums")
    parser.add_argument("--crowd-tastes", default="category,colour,pattern", help="their tastes, in turn")
    parser.add_argument("--crowd-rounds", type=int, default=8, help="most photos per crowd user")
    parser.add_argument("--min-comparisons", type=int, default=30, help="decided albums before the decision")
    parser.add_argument("--personal-min-votes", type=int, default=50)
    parser.add_argument("--game-rounds", type=int, default=2, help="/play rounds per regular")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    parser.add_argument("--quick", action="store_true", help="tiny catalog, untrained weights (CI)")
    return parser


@dataclass
class Tally:
    """Votes of one taste in one phase."""

    votes: int = 0
    up: int = 0
    shown: int = 0
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"votes": self.votes, "approval": self.up / self.votes if self.votes else None,
                "p_at_k": self.hits / self.shown if self.shown else None}


@dataclass
class Simulation:
    emu: BotApiEmulator
    k: int
    catalog_seed: int
    tallies: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    total_votes: int = 0
    photo_counter: int = 0

    def next_photo(self) -> tuple[bytes, dict[str, str]]:
        sample = synthetic_sample(QUERY_SEED, self.photo_counter)
        self.photo_counter += 1
        item = sample.item
        return sample.jpeg, {"category": item.category, **item.attributes}

    def seen(self, caption: str) -> dict[str, str]:
        """What a user sees in a match: the demo item named by its shop link."""
        found = SKU.search(caption)
        if not found:
            raise ValueError(f"no demo shop link in caption {caption!r}")
        spec = sample_spec(int(found.group(1)), int(found.group(2)))
        return {"category": spec.shape.name, "colour": spec.colour, "pattern": spec.pattern}

    async def search(self, user: FakeUser, taste: str, phase: str, control: FakeUser | None = None) -> None:
        """Send a new photo, vote on every match by taste; `control` sends it too and only looks."""
        photo, wanted = self.next_photo()
        if control is not None:
            await self.look(control, photo, taste, wanted[taste], self.tallies[f"{phase}_control"][taste])
        await user.send_photo(photo)
        replies = await user.wait_for_messages(self.k + 1, timeout=300)
        album, board = replies[:-1], replies[-1]
        tally = self.tallies[phase][taste]
        for rank, message in enumerate(album, start=1):
            same = self.seen(message.get("caption") or "")[taste] == wanted[taste]
            await (await user.press(board, f"#{rank} {'👍' if same else '👎'}")).answered(timeout=60)
            tally.votes += 1
            tally.up += same
            tally.shown += 1
            tally.hits += same
            self.total_votes += 1

    async def look(self, user: FakeUser, photo: bytes, taste: str, wanted: str, tally: Tally) -> None:
        """Send `photo` and count the matches sharing the wanted value; no vote is cast."""
        await user.send_photo(photo)
        replies = await user.wait_for_messages(self.k + 1, timeout=300)
        for message in replies[:-1]:
            tally.shown += 1
            tally.hits += self.seen(message.get("caption") or "")[taste] == wanted

    async def play(self, user: FakeUser, taste: str) -> None:
        """One /play round: is B (title) a good match for A by this user's taste?"""
        await user.send_command("play")
        replies = await user.wait_for_messages(3, timeout=120)
        titles = [m.get("caption") or "" for m in replies[:2]]
        same = _title_value(titles[0], taste) == _title_value(titles[1], taste)
        await (await user.press(replies[2], "👍 dope" if same else "👎 nope")).answered(timeout=60)
        self.total_votes += 1


async def admin_decision(admin: FakeUser, wait: float) -> str | None:
    """The bot's "🏁 … is now champion/retired" note to the admin, if it came within `wait` seconds."""
    try:
        decision: str = (await admin.wait_for(lambda m: "🏁" in (m.get("text") or ""), timeout=wait))["text"]
        return decision
    except TimeoutError:
        return None


def _title_value(caption: str, taste: str) -> str:
    """Colour, pattern or shape from a demo title caption like "A: Red gingham shirt"."""
    words = caption.split(":", 1)[-1].split()
    if taste == "colour":
        return words[0].lower() if words else ""
    if taste == "category":
        return words[-1].lower() if words else ""
    return words[1].lower() if len(words) > 2 else "solid"


def prepare(args: argparse.Namespace) -> None:
    """Demo catalog and the champion's l2 index, unless the data folder has them already.

    A previous run's votes, sent-album journal and retrained models are removed: every run starts
    the loop afresh (a new emulator numbers its updates from 1 again, which an old inbox or journal
    would take for replays of updates already answered, and answer with silence).
    """
    for leftover in [args.data_dir / "votes.sqlite", args.data_dir / "votes.sqlite-wal",
                     args.data_dir / "votes.sqlite-shm", args.data_dir / "votes.sent",  # the sent-album journal
                     *args.data_dir.glob("models/votes-*"),
                     *args.data_dir.glob("indexes/ft--votes-*"), *args.data_dir.glob("embeddings/ft--votes-*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink(missing_ok=True)
    if (args.data_dir / "catalog.sqlite").exists():
        return
    assert make_demo_catalog.main(["--data-dir", str(args.data_dir), "--n", str(args.items)]) == 0
    extra = ["--allow-random-weights"] if args.quick else []
    assert build_index.main(["--data-dir", str(args.data_dir), "--embedders", args.embedder, "--metrics", "l2",
                             "--quiet", *extra]) == 0


def bot_settings(args: argparse.Namespace, emu: BotApiEmulator) -> Settings:
    return Settings(
        _env_file=None, data_dir=args.data_dir, embedders=[args.embedder], metrics=["l2"],
        allow_random_weights=args.quick, device="cpu", telegram_bot_token=SecretStr(emu.token),
        telegram_base_url=emu.base_url, telegram_base_file_url=emu.base_file_url, top_k=args.k,
        bot_rate_limiter=True, admin_ids=[ADMIN], reload_poll_seconds=0, interleave_share=1.0,
        promotion_min_comparisons=args.min_comparisons, personal_min_votes=args.personal_min_votes,
        retrain_min_votes=min(200, args.personal_min_votes * 2),
    )


def parse_tastes(text: str) -> list[str]:
    tastes = []
    for part in text.split(","):
        taste, _, count = part.partition(":")
        tastes += [taste.strip()] * int(count or 1)
    return tastes


async def simulate(args: argparse.Namespace) -> dict[str, Any]:
    async with BotApiEmulator(token=TOKEN) as emu:
        app = build_application(bot_settings(args, emu))
        async with running(app, timeout=5):
            return await run_phases(args, emu)


async def run_phases(args: argparse.Namespace, emu: BotApiEmulator) -> dict[str, Any]:
    sim = Simulation(emu, args.k, catalog_seed=0)
    admin = emu.user(ADMIN, first_name="Admin")
    regulars = [(emu.user(1000 + n), taste) for n, taste in enumerate(parse_tastes(args.tastes))]
    logger.info("before: %d regulars × %d photos", len(regulars), args.before)
    for _ in range(args.before):
        await asyncio.gather(*(sim.search(user, taste, "before") for user, taste in regulars))
    for _ in range(args.game_rounds):
        await asyncio.gather(*(sim.play(user, taste) for user, taste in regulars))
    votes_at_retrain = sim.total_votes
    await admin.send_command("retrain")
    replies = await admin.wait_for_messages(2, timeout=1800)
    retrained = replies[-1]["text"]
    logger.info("%s", retrained)
    crowd_tastes = cli.names(args.crowd_tastes)
    crowd = [(emu.user(5000 + n), crowd_tastes[n % len(crowd_tastes)]) for n in range(args.crowd)]
    decision = None
    for _ in range(args.crowd_rounds):
        await asyncio.gather(*(sim.search(user, taste, "interleaved") for user, taste in crowd))
        decision = await admin_decision(admin, wait=0.5)
        if decision:
            break
    decision = decision or await admin_decision(admin, wait=60)  # the last vote's decision may be in flight
    logger.info("decision: %s", decision)
    controls = [emu.user(9000 + n) for n in range(len(regulars))]  # never vote: no adapter, no history
    for _ in range(args.after):
        await asyncio.gather(*(sim.search(user, taste, "after", control)
                               for (user, taste), control in zip(regulars, controls)))
    await admin.send_command("models")
    models = (await admin.wait_for(lambda m: (m.get("text") or "").startswith("🧪 Models"), timeout=60))["text"]
    return {
        "restarts": 0, "votes_total": sim.total_votes, "votes_at_retrain": votes_at_retrain,
        "retrained": retrained, "decision": decision, "registry": models,
        "tastes": {phase: {taste: tally.as_dict() for taste, tally in by_taste.items()}
                   for phase, by_taste in sim.tallies.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.embedder, args.items, args.before, args.after = "random-init", 40, 3, 1
        args.crowd, args.crowd_rounds, args.min_comparisons, args.personal_min_votes = 4, 2, 4, 10
        args.game_rounds = 1
    prepare(args)
    report = asyncio.run(simulate(args))
    cli.print_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
