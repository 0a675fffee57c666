"""Import a plain image folder: `root/<category>/<image>` (images may sit in sub-folders).

The top-level folder name is the category, the file stem (underscores as spaces) the title.
Files directly under `root` have no category and are skipped with one warning. The sku is
`file:<absolute path>`, so importing the same folder twice is refused by the store rather
than silently doubling the catalog. Images are referenced where they are, not copied.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from engine.catalog.store import Item
from engine.errors import CatalogError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})


def iter_folder(
    root: str | Path,
    *,
    limit: int | None = None,
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> Iterator[Item]:
    """Yield one Item per image under `root/<category>/`, in sorted (reproducible) order.

    Raises CatalogError when `root` is not a folder or holds no images in category folders.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise CatalogError(f"{root} is not a folder")
    stray = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in extensions]
    if stray:
        logger.warning(
            "skipping %d images directly under %s: put them in a <category>/ folder",
            len(stray),
            root,
        )
    found = islice(_iter_category_images(root, extensions), limit)
    yielded = 0
    for category, path in found:
        yielded += 1
        yield Item(
            image_path=str(path),
            title=path.stem.replace("_", " ").strip(),
            category=category,
            sku=f"file:{path}",
        )
    if yielded == 0:
        raise CatalogError(f"No images found in category folders under {root}")


def _iter_category_images(root: Path, extensions: frozenset[str]) -> Iterator[tuple[str, Path]]:
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name)):
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(_hidden(part) for part in relative.parts):
                continue  # .DS_Store, .thumbnails/ and friends are not products
            if path.is_file() and path.suffix.lower() in extensions:
                yield folder.name, path


def _hidden(name: str) -> bool:
    return name.startswith(".")
