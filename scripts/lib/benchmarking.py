"""Shared helpers of the benchmark scripts (scripts/bench_*.py): machine info, timing, tables.

Every benchmark compares its contenders in one process, so its figures are ratios measured on
the same machine at the same moment; the JSON it writes records that machine next to the rows.
A row that could not be measured is kept with a `skipped` reason instead of silently missing.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scripts.lib import cli

if TYPE_CHECKING:
    from engine.catalog.store import CatalogStore

logger = logging.getLogger(__name__)

RESULTS_DIR = Path("bench_results")
CLUSTERS = 512  # centres of clustered()
Row = dict[str, Any]


# --- the machine ----------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else whatever platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPU, cores, library versions, accelerator."""
    import hnswlib  # noqa: F401  (imported to fail early if missing)
    import torch
    import torchvision

    cuda = torch.cuda.is_available()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "device": "cuda" if cuda else "cpu",
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(info: dict[str, Any]) -> str:
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return (f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, torch {info['torch']}"
            f"{gpu}; load average at start {info['load_average']}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_bytes() -> int:
    """Resident memory now (Linux /proc), for before/after deltas."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- timing ---------------------------------------------------------------------------------
@contextmanager
def stage(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time of the `with` body to timings[name]."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds of a list of latencies in seconds."""
    values = np.asarray(seconds, dtype=np.float64) * 1000
    if not len(values):
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1),
            "p99_ms": round(float(p99), 1), "mean_ms": round(float(values.mean()), 1)}


def shares(timings: dict[str, float]) -> dict[str, float]:
    """Each stage's fraction of the stages' total (0..1), rounded."""
    total = sum(timings.values()) or 1.0
    return {name: round(value / total, 3) for name, value in timings.items()}


# --- output ---------------------------------------------------------------------------------
def markdown_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """A GitHub Markdown table of `columns` (missing cells blank, floats to 4 significant)."""
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, dict):
            return ", ".join(f"{k} {cell(v)}" for k, v in value.items())
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def report(out: Path, benchmark: str, rows: Sequence[Row], columns: Sequence[str], title: str, *,
           info: dict[str, Any] | None = None, **extra: Any) -> int:
    """A benchmark's ending: the JSON results (`extra` beside the rows), then `title — the machine`
    and the rows as a Markdown table on stdout. Returns the exit code, 0."""
    info = info or machine_info()
    cli.write_json(out, {"benchmark": benchmark, "machine": info, "rows": list(rows), **extra})
    print(f"{title} — {machine_line(info)}\n")
    print(markdown_table(rows, columns))
    return 0


def skipped(reason: str, **keys: Any) -> Row:
    """A row that was not measured, and why (shown in the table, kept in the JSON)."""
    return {**keys, "skipped": reason}


# --- command line ---------------------------------------------------------------------------
def base_parser(benchmark: str, description: str | None) -> argparse.ArgumentParser:
    """The shared script flags plus --quick, --out, --threads and --verbose, for every bench script."""
    parser = cli.parser(description)
    parser.add_argument("--quick", action="store_true",
                        help="CI-sized run: tiny inputs, seconds not minutes (figures meaningless)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / f"{benchmark}.json",
                        help="where to write the JSON results (default: %(default)s)")
    cli.add_threads(parser)
    parser.add_argument("--verbose", action="store_true", help="debug logging (same as --log-level DEBUG)")
    return parser


# --- inputs ---------------------------------------------------------------------------------
def synthetic_catalog(folder: Path, n: int, *, size: int = 640, seed: int = 0) -> CatalogStore:
    """A catalog of `n` real JPEG product photos (the demo generator at `size` px) in `folder`.

    Reused when it already holds `n` items made with the same size and seed (rendering 600 px
    photos costs about as much as embedding them).
    """
    from engine.catalog.importers import write_items
    from engine.catalog.store import CatalogStore
    from engine.catalog.synthetic import iter_synthetic_catalog

    folder = folder / f"synthetic-n{n}-s{size}-seed{seed}"
    path = folder / "catalog.sqlite"
    if path.exists():
        store = CatalogStore(path)
        if len(store) == n:
            return store
        store.close()
        path.unlink()
    store = CatalogStore(path)
    items = iter_synthetic_catalog(folder / "images", seed=seed, n=n, size=size)
    write_items(store, items, total=n, desc="render catalog", progress=False)
    return store


def query_photos(n: int, *, size: int = 800, seed: int = 1) -> list[bytes]:
    """`n` JPEG photos (bytes) of `size` px, like a phone picture Telegram recompressed."""
    from engine.catalog.synthetic import synthetic_sample

    return [synthetic_sample(seed, i, size=size).jpeg for i in range(n)]


def clustered(n: int, dim: int, seed: int, chunk: int = 50_000) -> np.ndarray:
    """n ReLU'd points around CLUSTERS fixed centres (same centres for every seed)."""
    centres = np.random.default_rng(12345 + dim).standard_normal((CLUSTERS, dim), dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        labels = rng.integers(CLUSTERS, size=stop - start)
        noise = rng.standard_normal((stop - start, dim), dtype=np.float32)
        np.maximum(centres[labels] + 0.8 * noise, 0, out=out[start:stop])
    return out


VOTE_PROMPT_PREFIX = "Top "  # bot.captions.vote_prompt: the message that carries the vote keyboard


def is_vote_keyboard(message: dict[str, Any]) -> bool:
    """Whether a bot message (as the emulator's FakeUser sees it) is a search's vote keyboard."""
    return (message.get("text") or "").startswith(VOTE_PROMPT_PREFIX)
