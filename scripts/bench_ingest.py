"""Ingestion throughput (images/s): a seed-style loop vs the engine's batched pipeline.

    python scripts/bench_ingest.py                     # 200 photos of 640 px, efficientnet-lite0
    python scripts/bench_ingest.py --quick             # CI-sized: 12 photos, random-init

(a) "seed loop": what a first script does: for each file, PIL open, resize to the input size,
to float tensor, normalise, `model(x)` with autograd on, one image at a time.
(b) "engine": engine.ingest.embed_catalog: DataLoader workers decode and letterbox while the
model runs, batches, inference_mode; with decoder "pil" (CPU workers) and "device" (batched
torchvision decode_jpeg on the embedder's device: nvjpeg on CUDA).
(c) "engine, plan": the same with engine.ingest.plan's batch size, workers and torch threads for
the device, in fp32 and (on CPUs with AVX-512 BF16/AMX) with channels_last + bf16 autocast.
The load average is recorded before and after: a figure from a loaded machine is not a result.
Each path runs on the CPU and, when CUDA exists, on the GPU, all in one process; each stage's
share of the wall time names the bottleneck. Results: --out JSON and a Markdown table.
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.catalog.store import CatalogStore
from engine.embedders import Embedder, load_embedder
from engine.ingest import embed_catalog
from engine.ingest.plan import cpu_has_bf16, plan_for
from scripts.lib import cli
from scripts.lib.benchmarking import (
    RESULTS_DIR, Row, base_parser, machine_info, report, shares, skipped, stage, synthetic_catalog,
)

logger = logging.getLogger("bench_ingest")

COLUMNS = ["device", "path", "images", "seconds", "images_per_s", "speedup", "bottleneck", "shares"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser("bench_ingest", __doc__)
    parser.add_argument("--n", type=int, default=200, help="catalog photos (default: %(default)s)")
    parser.add_argument("--size", type=int, default=640, help="photo size in px (default: %(default)s)")
    parser.add_argument("--embedder", default="efficientnet-lite0", help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader decode processes")
    parser.add_argument("--devices", default="cpu,cuda", help="devices to try; absent ones are skipped")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (GPU)")
    parser.add_argument("--cache", type=Path, default=RESULTS_DIR / "cache",
                        help="where the rendered catalog is kept between runs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.size, args.embedder, args.batch_size, args.workers = 8, 96, "random-init", 4, 0
    return args


def seed_loop(catalog: CatalogStore, embedder: Embedder) -> tuple[int, dict[str, float]]:
    """The naive way: one image at a time, plain resize, float tensor, autograd on."""
    timings: dict[str, float] = {}
    mean = torch.tensor(embedder.mean).view(1, 3, 1, 1)
    std = torch.tensor(embedder.std).view(1, 3, 1, 1)
    rows = []
    count = 0
    for item in catalog.iter_items():
        with stage(timings, "read"):
            image = Image.open(catalog.resolve_image(item)).convert("RGB")
        with stage(timings, "preprocess"):
            image = image.resize((embedder.input_size, embedder.input_size))
            x = torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None]
            x = ((x - mean) / std).to(embedder.device)
        with stage(timings, "embed"):
            rows.append(embedder.model(x).detach().cpu().numpy())  # autograd on, as written naively
        count += 1
    with stage(timings, "write"), tempfile.TemporaryDirectory() as scratch:
        np.save(Path(scratch) / "features.npy", np.concatenate(rows))
    return count, timings


def engine_path(catalog: CatalogStore, embedder: Embedder, decoder: str, batch_size: int,
                workers: int) -> tuple[int, dict[str, float]]:
    with tempfile.TemporaryDirectory() as scratch:
        run = embed_catalog(catalog, embedder, Path(scratch), batch_size=batch_size,
                            num_workers=workers, progress=False, decoder=decoder)
    return len(run.ids), run.timings


def plan_rows(catalog: CatalogStore, embedder: Embedder, device: str, args: argparse.Namespace,
              baseline: float) -> list[Row]:
    """The engine with the device's plan: fp32, then bf16 + channels_last where the CPU has it."""
    plan = plan_for(device)
    rows = []
    modes = [False, True] if device == "cpu" and cpu_has_bf16() else [False]
    with plan.applied():
        for bf16 in modes:
            embedder.use_cpu_bf16(bf16)
            embedder.embed_batch(torch.zeros((2, 3, embedder.input_size, embedder.input_size), dtype=torch.uint8))
            label = (f"engine plan: batch {plan.batch_size}, {plan.num_workers} workers, {plan.torch_threads} threads"
                     + (", bf16 + channels_last" if bf16 else ", fp32"))
            rows.append(measure(label, device, lambda: engine_path(
                catalog, embedder, "pil", plan.batch_size, plan.num_workers), baseline))
    embedder.use_cpu_bf16(False)
    return rows


def measure(label: str, device: str, work: Callable[[], tuple[int, dict[str, float]]], baseline: float | None) -> Row:
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    count, timings = work()
    seconds = time.perf_counter() - started
    rate = count / seconds
    part = shares(timings)
    logger.info("%s on %s: %d images in %.1f s (%.1f img/s) %s", label, device, count, seconds, rate, part)
    return {"device": device, "path": label, "images": count, "seconds": round(seconds, 2),
            "images_per_s": round(rate, 2), "speedup": round(rate / baseline, 2) if baseline else 1.0,
            "bottleneck": max(part, key=lambda name: part[name]) if part else None, "shares": part,
            "stage_seconds": {k: round(v, 3) for k, v in timings.items()}}


def bench_device(catalog: CatalogStore, device: str, args: argparse.Namespace) -> list[Row]:
    embedder = load_embedder(args.embedder, device, allow_random=True)
    warm = torch.zeros((2, 3, embedder.input_size, embedder.input_size), dtype=torch.uint8)
    embedder.embed_batch(warm)  # first-call allocations are not part of anybody's throughput
    rows = [measure("seed loop (1 image, autograd on)", device, lambda: seed_loop(catalog, embedder), None)]
    baseline = rows[0]["images_per_s"]
    for decoder in ("pil", "device"):
        label = f"engine batch {args.batch_size}, {args.workers} workers, decoder={decoder}"
        work = partial(engine_path, catalog, embedder, decoder, args.batch_size, args.workers)
        rows.append(measure(label, device, work, baseline))
    rows += plan_rows(catalog, embedder, device, args, baseline)
    if args.compile and device == "cuda":
        embedder.compile()
        engine_path(catalog, embedder, "device", args.batch_size, args.workers)  # compile + warm-up, not timed
        rows.append(measure("engine + torch.compile, decoder=device", device,
                            lambda: engine_path(catalog, embedder, "device", args.batch_size, args.workers), baseline))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.apply_threads(args.threads)
    load_start = [round(x, 2) for x in os.getloadavg()]
    catalog = synthetic_catalog(args.cache, args.n, size=args.size)
    rows: list[Row] = []
    for device in cli.names(args.devices):
        if device.startswith("cuda") and not torch.cuda.is_available():
            rows.append(skipped("no CUDA device on this machine", device=device))
            continue
        rows += bench_device(catalog, device, args)
    catalog.close()
    info = machine_info()
    info["load_average"], load_end = load_start, info["load_average"]
    title = f"Ingestion, {args.embedder}, {args.n} JPEGs of {args.size} px (load average at the end {load_end})"
    return report(args.out, "ingest", rows, COLUMNS + ["skipped"], title, info=info, args=vars(args),
                  embedder=args.embedder, load_average_start=load_start, load_average_end=load_end,
                  random_weights=args.embedder != "efficientnet-lite0")


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
