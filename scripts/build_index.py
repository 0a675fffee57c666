"""Build (or update) the search indexes: catalog → cached embeddings → one index per variant.

Resumable: embeddings already cached are not recomputed, and existing indexes are updated with
new and removed items instead of being rebuilt. Example:

    python scripts/build_index.py --embedders efficientnet-lite0 --metrics l2,l1,hamming,cosine
    python scripts/build_index.py --index-backend milvus --milvus-uri data/milvus.db   # Milvus Lite
    python scripts/build_index.py --ray                       # embed on a local Ray (one actor per CPU slot/GPU)
    python scripts/build_index.py --ray ray://head:10001      # ... on a Ray cluster (see README)
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from engine.build import build_embedder_indexes
from engine.catalog import CatalogStore
from engine.embedders import Embedder, load_embedder
from engine.index.backends import BACKENDS, open_backend
from engine.ingest import EmbeddingRun, embed_catalog
from engine.ingest.plan import plan_for
from engine.settings import Settings
from scripts.lib import cli

logger = logging.getLogger("build_index")


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedders", default=",".join(settings.embedders),
                        help="comma-separated embedder names (default: %(default)s)")
    parser.add_argument("--metrics", default=",".join(settings.metrics), help="default: %(default)s")
    cli.add_device(parser, settings)
    parser.add_argument("--batch-size", type=int,
                        default=settings.batch_size,
                        help="images per forward pass (default: DOPE_BATCH_SIZE, else the device's plan)")
    parser.add_argument("--workers", type=int, help="image-decoding processes (default: the device's plan)")
    parser.add_argument("--cpu-bf16", action=argparse.BooleanOptionalAction, default=settings.cpu_bf16,
                        help="CPU: channels_last + bf16 autocast (default: %(default)s, DOPE_CPU_BF16)")
    parser.add_argument("--weights", type=Path, help="local weights file for a built-in embedder")
    parser.add_argument("--input-size", type=int, help="override the embedder's input size")
    parser.add_argument("--rebuild", action="store_true", help="ignore existing indexes")
    parser.add_argument("--index-backend", choices=BACKENDS, default=settings.index_backend,
                        help="where indexes live (default: %(default)s, DOPE_INDEX_BACKEND)")
    parser.add_argument("--milvus-uri", default=settings.milvus_uri,
                        help="Milvus Lite file or server URL (default: DATA_DIR/milvus.db, DOPE_MILVUS_URI)")
    parser.add_argument("--decoder", choices=["auto", "pil", "device"], default=settings.decoder,
                        help="JPEG decoding: auto = batched on the GPU under CUDA (default: %(default)s)")
    parser.add_argument("--compile", action="store_true", default=settings.compile_model,
                        help="torch.compile the embedder (pays off for big GPU runs)")
    cli.add_allow_random_weights(parser, settings)
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="embed on Ray Data: a local Ray without ADDRESS, else a cluster (ray://host:10001, auto)")
    parser.add_argument("--ray-cpus", type=int, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--cpus-per-actor", type=int, default=1, help="Ray: CPUs (torch threads) per CPU actor")
    parser.add_argument("--shard-size", type=int, default=1024, help="embeddings per cache shard (resume unit)")
    cli.add_quiet(parser)
    return parser.parse_args(argv)


def embed(catalog: CatalogStore, embedder: Embedder, settings: Settings, args: argparse.Namespace) -> EmbeddingRun:
    """Catalog → cached embeddings, here (DataLoader workers) or on Ray Data (--ray)."""
    plan = plan_for(embedder.device)
    if args.ray is None:
        with plan.applied():  # torch threads sized so decode workers do not starve the model
            return embed_catalog(
                catalog, embedder, settings.embeddings_dir, batch_size=args.batch_size or plan.batch_size,
                num_workers=plan.num_workers if args.workers is None else args.workers,
                max_pixels=settings.max_image_pixels, progress=not args.quiet, decoder=args.decoder,
                shard_size=args.shard_size,
            )
    from engine.ingest.distributed import EmbedderSpec, embed_catalog_ray

    def text(path: Path | None) -> str | None:
        return str(path.resolve()) if path else None

    spec = EmbedderSpec(embedder.name, text(settings.models_dir), text(settings.weights_dir), text(args.weights),
                        args.allow_random_weights, args.input_size, args.cpu_bf16)
    return embed_catalog_ray(
        catalog, embedder, spec, settings.embeddings_dir, address=args.ray, num_cpus=args.ray_cpus,
        cpus_per_actor=args.cpus_per_actor, batch_size=args.batch_size or plan.batch_size, shard_size=args.shard_size,
        max_pixels=settings.max_image_pixels,
    )


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    args = parse_args(argv, settings)
    settings = cli.with_data_dir(settings, args, index_backend=args.index_backend, milvus_uri=args.milvus_uri)
    try:
        metrics = cli.metric_names(args.metrics)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    report: dict[str, dict[str, Any]] = {}
    backend = open_backend(settings)
    with CatalogStore(settings.catalog_path, create=False) as catalog, closing(backend):
        for name in cli.names(args.embedders):
            started = time.perf_counter()
            embedder = load_embedder(
                name, args.device, models_dir=settings.models_dir, weights_dir=settings.weights_dir,
                weights=args.weights, allow_random=args.allow_random_weights, input_size=args.input_size,
            )
            embedder.use_cpu_bf16(args.cpu_bf16)
            if args.compile:
                embedder.compile()
            run = embed(catalog, embedder, settings, args)
            seconds = build_embedder_indexes(catalog, embedder, run.ids, run.features, backend, metrics,
                                             rebuild=args.rebuild)
            report[name] = {
                "items": int(len(run.ids)), "embedded_now": run.embedded_now, "failed": len(run.failed),
                "stage_seconds": run.timings, "index_seconds": seconds,
                "total_seconds": time.perf_counter() - started,
            }
            logger.info("%s: %s", name, json.dumps(report[name]))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"embedders": report, "peak_rss_mib": round(peak_mib, 1), "index_backend": backend.name}
    cli.write_json(settings.indexes_dir / "build_report.json", summary)
    logger.info("done; peak memory %.0f MiB; report in %s", peak_mib, settings.indexes_dir / "build_report.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
