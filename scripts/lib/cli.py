"""The plumbing every script shares: its parser, the common flags, settings from --data-dir,
logging, and JSON output.

A script's shape:

    def build_parser(settings: Settings) -> argparse.ArgumentParser:
        parser = cli.parser(__doc__)           # the docstring as --help, plus --log-level
        cli.add_data_dir(parser, settings)     # and the other add_* flags it takes
        ...

    def main(argv: list[str] | None = None) -> int:
        args, settings = cli.parse(build_parser, argv)
        ...

    if __name__ == "__main__":
        raise SystemExit(cli.run(main))

`run` configures logging (from --log-level) before it calls main, so main(argv) never touches
logging and tests call it in-process.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.settings import ALL_METRICS, MetricName, Settings

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_METRICS: dict[str, MetricName] = {metric: metric for metric in ALL_METRICS}
Main = Callable[[list[str] | None], int]


# --- the parser and its shared flags ----------------------------------------------------------
def _log_flags(default: str) -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=default,
                       help="logging level (default: %(default)s)")
    return flags


def parser(description: str | None, *, log_level: str = "INFO", raw: bool = True,
           epilog: str | None = None) -> argparse.ArgumentParser:
    """A script's parser: `description` (the module docstring, its examples kept as written when
    `raw`) and --log-level, which `run` reads; `log_level` must match the one given to `run`."""
    return argparse.ArgumentParser(
        description=description, epilog=epilog, parents=[_log_flags(log_level)],
        formatter_class=argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter)


def add_data_dir(parser: argparse.ArgumentParser, settings: Settings, what: str = "data folder") -> None:
    """--data-dir, defaulting to the settings' (DOPE_DATA_DIR, .env, else data/)."""
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir,
                        help=f"{what} (default: %(default)s, from DOPE_DATA_DIR)")


def add_device(parser: argparse.ArgumentParser, settings: Settings) -> None:
    parser.add_argument("--device", default=settings.device,
                        help="auto (CUDA when present), cpu, cuda (default: %(default)s)")


def add_allow_random_weights(parser: argparse.ArgumentParser, settings: Settings | None = None) -> None:
    """--allow-random-weights (off unless DOPE_ALLOW_RANDOM_WEIGHTS when `settings` are given)."""
    parser.add_argument("--allow-random-weights", action="store_true",
                        default=settings.allow_random_weights if settings else False,
                        help="tests/demos only: let random-init (and weightless trunks) load")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=None,
                        help="torch/hnswlib threads (default: torch's own choice)")


def parse(build_parser: Callable[[Settings], argparse.ArgumentParser],
          argv: Sequence[str] | None) -> tuple[argparse.Namespace, Settings]:
    """Parse `argv` with a parser whose defaults come from the settings (environment, .env);
    returns the arguments and the settings pointed at --data-dir."""
    settings = Settings()
    args = build_parser(settings).parse_args(argv)
    return args, with_data_dir(settings, args)


def with_data_dir(settings: Settings, args: argparse.Namespace, **overrides: Any) -> Settings:
    """`settings` pointed at --data-dir (and any other field given)."""
    return settings.model_copy(update={"data_dir": args.data_dir, **overrides})


def apply_threads(threads: int | None) -> None:
    """torch's intra-op threads, when --threads was given (0 or None: torch's own choice)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def names(csv: str) -> list[str]:
    """`a, b,,c` → ['a', 'b', 'c']: a comma-separated flag's values."""
    return [name.strip() for name in csv.split(",") if name.strip()]


def metric_names(csv: str) -> list[MetricName]:
    """A --metrics flag's values, in order; an unknown one is a ValueError naming the valid ones."""
    chosen = names(csv)
    unknown = [name for name in chosen if name not in _METRICS]
    if unknown:
        raise ValueError(f"unknown metric {', '.join(unknown)}; valid: {', '.join(ALL_METRICS)}")
    return [_METRICS[name] for name in chosen]


# --- running as a program ---------------------------------------------------------------------
def configure_logging(level: str | int = "INFO") -> None:
    """Entry-point logging: one format for every script; httpx's per-request lines at WARNING."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run(main: Main, argv: Sequence[str] | None = None, *, log_level: str = "INFO") -> int:
    """Run `main` as a program: logging from --log-level (--verbose: DEBUG), then main(argv)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    peek = _log_flags(log_level)
    peek.add_argument("--verbose", action="store_true")
    known, _ = peek.parse_known_args(arguments)
    configure_logging("DEBUG" if known.verbose else known.log_level)
    return main(arguments)


# --- output -----------------------------------------------------------------------------------
def _jsonable(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    return str(value)


def to_json(payload: object) -> str:
    """Indented JSON; paths as text, numpy scalars as numbers, anything else as its str()."""
    return json.dumps(payload, indent=2, ensure_ascii=False, default=_jsonable)


def write_json(path: Path, payload: object, *, table: str | None = None) -> Path:
    """`payload` as JSON at `path` (folders made), and `table` beside it as .md when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(payload), encoding="utf-8")
    if table is not None:
        path.with_suffix(".md").write_text(table.rstrip("\n") + "\n", encoding="utf-8")
    logger.info("wrote %s", path)
    return path


def print_json(payload: object, out: Path | None = None) -> None:
    """Print `payload` as JSON, and write the same to `out` when given (a script's --out)."""
    print(to_json(payload))
    if out is not None:
        write_json(out, payload)
