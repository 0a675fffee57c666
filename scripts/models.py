"""The model registry of a votes database: stages, the running comparison and every decision.

    python scripts/models.py                       # what the bot's /models shows, as text
    python scripts/models.py --json                # the same as JSON (for cron mail, dashboards)
    python scripts/models.py --move ft:votes-3 retired --reason "bad catalog crop"

Each model is candidate, challenger, champion or retired. The champion × challenger comparison is
counted from the interleaved albums users voted on (wins, losses, ties, sign test p, the decision
the promotion rule would take now). Every transition is listed with its time and reason. --move
records an operator's decision; the running bot serves the new set at its next reload.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.feedback.interleaving import decide
from engine.settings import Settings
from votes import BadTransition, ModelRegistry, VoteStore
from scripts.lib import cli

logger = logging.getLogger("models")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--votes", type=Path, help="votes database (default: <data-dir>/votes.sqlite)")
    parser.add_argument("--metric", default=settings.interleave_metric, help="interleaved metric (default: %(default)s)")
    parser.add_argument("--min-comparisons", type=int, default=settings.promotion_min_comparisons,
                        help="decided albums the sign test runs on (default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=settings.promotion_alpha, help="default: %(default)s")
    parser.add_argument("--events", type=int, default=20, help="latest transitions to list (default: %(default)s)")
    parser.add_argument("--move", nargs=2, metavar=("NAME", "STAGE"), help="record a transition by hand")
    parser.add_argument("--reason", default="operator decision", help="reason stored with --move")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


async def report(store: VoteStore, args: argparse.Namespace) -> dict[str, Any]:
    registry = ModelRegistry(store)
    if args.move:
        await registry.move(args.move[0], args.move[1], args.reason)
    champion, challenger = await registry.champion(), await registry.challenger()
    comparison = None
    if champion and challenger:
        albums = await registry.interleaved(f"{champion}/{args.metric}", f"{challenger}/{args.metric}")
        decision = decide([(a.champion_score, a.challenger_score) for a in albums],
                          min_comparisons=args.min_comparisons, alpha=args.alpha)
        comparison = {"champion": champion, "challenger": challenger, "albums": len(albums),
                      **asdict(decision.tally), "p_value": decision.p_value, "would": decision.action,
                      "reason": decision.reason}
    return {"models": [asdict(m) for m in await registry.models()], "comparison": comparison,
            "events": [asdict(e) for e in await registry.events(args.events)]}


def as_text(data: dict[str, Any]) -> str:
    lines = ["models:"]
    lines += [f"  {m['name']}: {m['stage']} since {m['updated_at']}"
              + ("" if m["held_out_ok"] is None else f" (held-out ok: {m['held_out_ok']})") for m in data["models"]]
    if data["comparison"]:
        c = data["comparison"]
        lines.append(f"comparison: {c['challenger']} vs {c['champion']}: {c['reason']} → would {c['would']}")
    lines.append("decisions (newest first):")
    lines += [f"  {e['at']} {e['name']}: {e['from_stage'] or 'new'} → {e['to_stage']} ({e['reason']})"
              for e in data["events"]]
    return "\n".join(lines)


async def run(args: argparse.Namespace, votes: Path) -> dict[str, Any]:
    store = VoteStore(votes)
    await store.initialize()
    try:
        return await report(store, args)
    finally:
        await store.shutdown()


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = build_parser(settings).parse_args(argv)
    votes = args.votes or (args.data_dir / "votes.sqlite")
    if not votes.exists():
        logger.error("no votes database at %s", votes)
        return 1
    try:
        data = asyncio.run(run(args, votes))
    except BadTransition as exc:
        logger.error("%s", exc)
        return 2
    print(cli.to_json(data) if args.json else as_text(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
