"""A 2-D t-SNE map of catalog items for one embedder: thumbnails at their coordinates, bordered by category.

    python scripts/tsne.py --embedder efficientnet-lite0 --n 300 --out docs/tsne-lite0.png
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from engine.catalog import CatalogStore, Item
from engine.embedders import load_embedder
from engine.errors import EngineError
from engine.images import load_image
from engine.ingest.runner import cache_folder
from engine.settings import Settings
from engine.training.features import embed_items
from scripts.lib import cli

logger = logging.getLogger("tsne")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = cli.parser(__doc__)
    cli.add_data_dir(parser, settings)
    parser.add_argument("--embedder", default=settings.embedders[0], help="default: %(default)s")
    parser.add_argument("--n", type=int, default=300, help="items to place (default: %(default)s)")
    parser.add_argument("--split", help="only items of this split")
    parser.add_argument("--input-size", type=int, help="input size of a built-in embedder")
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--thumb", type=int, default=28, help="thumbnail side in pixels (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("tsne.png"), help="PNG to write (default: %(default)s)")
    cli.add_device(parser, settings)
    cli.add_allow_random_weights(parser, settings)
    cli.add_quiet(parser)
    return parser


def sample_items(catalog: CatalogStore, n: int, split: str | None, seed: int) -> list[Item]:
    items = [i for i in catalog.iter_items(split=split) if i.category]
    if len(items) <= n:
        return items
    picks = np.random.default_rng(seed).choice(len(items), n, replace=False)
    return [items[p] for p in np.sort(picks)]


def tsne_coordinates(features: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3))
    coordinates: np.ndarray = TSNE(n_components=2, perplexity=perplexity, init="pca",
                                   random_state=seed).fit_transform(features)
    return coordinates


def draw_map(items: list[Item], coords: np.ndarray, catalog: CatalogStore, title: str, thumb: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage
    from matplotlib.patches import Patch

    categories = sorted({i.category for i in items})
    colours = plt.get_cmap("tab20" if len(categories) > 10 else "tab10")
    colour_of = {c: colours(n % colours.N) for n, c in enumerate(categories)}
    figure, axes = plt.subplots(figsize=(14, 12), dpi=100)
    axes.scatter(coords[:, 0], coords[:, 1], s=0)  # sets the limits
    for item, (x, y) in zip(items, coords):
        image = load_image(catalog.resolve_image(item), bbox=item.bbox)
        image.thumbnail((thumb, thumb))
        box = AnnotationBbox(OffsetImage(np.asarray(image), zoom=1.0), (x, y), frameon=True, pad=0.1,
                             bboxprops={"edgecolor": colour_of[item.category], "linewidth": 2})
        axes.add_artist(box)
    axes.legend(handles=[Patch(color=colour_of[c], label=c) for c in categories], loc="upper right", fontsize=8)
    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, bbox_inches="tight")
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args, settings = cli.parse(build_parser, argv)
    try:
        with CatalogStore(settings.catalog_path, create=False) as catalog:
            items = sample_items(catalog, args.n, args.split, args.seed)
            embedder = load_embedder(args.embedder, args.device, models_dir=settings.models_dir,
                                     allow_random=args.allow_random_weights, input_size=args.input_size)
            label = f"{embedder.name}@{args.input_size}" if args.input_size else embedder.name
            folder = cache_folder(settings.embeddings_dir, label.replace("@", "-at-"))
            _, features = embed_items(items, catalog.root, embedder, folder, {"catalog_id": catalog.catalog_id},
                                      workers=0, progress=not args.quiet)
            coords = tsne_coordinates(features, args.perplexity, args.seed)
            draw_map(items, coords, catalog, f"t-SNE of {label} ({len(items)} items)", args.thumb, args.out)
    except (EngineError, ValueError) as exc:
        logger.error("%s", exc)
        return 1
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.run(main))
