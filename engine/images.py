"""Safe image decoding: bytes or a path in, an upright RGB PIL image out, or InvalidImageError.

Every image the product touches (a user's photo, a catalog file) passes through `load_image`,
so corrupt, truncated, animated, huge and non-image inputs fail here with one exception type.
"""
from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InvalidImageError

logger = logging.getLogger(__name__)

ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF"})
DEFAULT_MAX_PIXELS = 40_000_000
BBox = tuple[float, float, float, float]


def load_image(
    source: bytes | str | Path | Image.Image,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    bbox: BBox | None = None,
    max_side: int | None = None,
) -> Image.Image:
    """Decode `source` into an RGB image, EXIF-rotated and cropped to `bbox` when given.

    The pixel count is checked from the header *before* decoding, so a decompression bomb
    costs nothing. With `max_side`, a JPEG larger than twice that is decoded at a reduced
    scale (libjpeg's DCT scaling, still at least `max_side`): a 12 Mpx phone photo decodes
    several times faster; `image.info["draft_scale"]` then says how many full-size pixels one
    decoded pixel covers. `bbox` is in the full-size pixels either way.
    Raises InvalidImageError with a message fit for the user.
    """
    if isinstance(source, Image.Image):
        image = source
        _check_size(image.size, max_pixels)
    else:
        image = _open_checked(source, max_pixels, max_side)
    scale = float(image.info.get("draft_scale", 1.0))
    if bbox is not None and scale != 1.0:
        bbox = (bbox[0] / scale, bbox[1] / scale, bbox[2] / scale, bbox[3] / scale)
    try:
        image = ImageOps.exif_transpose(image) or image
    except Exception as exc:  # a malformed EXIF block must not sink an otherwise fine photo
        logger.debug("ignoring unreadable EXIF: %s", exc)
    image = to_rgb(image)
    if bbox is not None:
        image = crop_to_bbox(image, bbox)
    if scale != 1.0:
        image.info["draft_scale"] = scale  # full-size pixels per decoded pixel (see max_side)
    return image


def _open_checked(source: bytes | str | Path, max_pixels: int, max_side: int | None = None) -> Image.Image:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InvalidImageError("The file is empty.")
        stream: io.BytesIO | Path = io.BytesIO(bytes(source))
    else:
        stream = Path(source)
    try:
        with warnings.catch_warnings():
            # Pillow warns (not raises) between 1x and 2x its own bomb limit; we decide ourselves.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidImageError(
                    f"{image.format or 'This'} files are not supported; send a JPEG, PNG or WebP photo."
                )
            if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":
                raise InvalidImageError("Animated images are not supported; send a still photo.")
            _check_size(image.size, max_pixels)
            full = image.size
            if max_side and image.format == "JPEG" and max(full) >= 2 * max_side:
                image.draft("RGB", (max_side * full[0] // max(full), max_side * full[1] // max(full)))
                image.info["draft_scale"] = full[0] / image.size[0]
            image.load()  # decode now, so truncation is caught here and not later in a worker
    except InvalidImageError:
        raise
    except FileNotFoundError as exc:
        raise InvalidImageError(f"Image file not found: {stream}") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own limit (~179 Mpx) fired first
        raise InvalidImageError(f"The image is too large; the limit is {max_pixels:,} pixels.") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError("This file is not an image I can read.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated/corrupt data as OSError or SyntaxError depending on the codec.
        raise InvalidImageError("The image is corrupt or truncated.") from exc
    return image


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise InvalidImageError("The image has no pixels.")
    if width * height > max_pixels:
        raise InvalidImageError(
            f"The image is too large ({width}×{height}); the limit is {max_pixels:,} pixels."
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode (RGBA, P, L, I;16, CMYK...) to RGB; transparency becomes white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I") or image.mode == "F":
        image = image.point(lambda value: value / 256).convert("L")  # 16-bit greyscale → 8-bit
    return image.convert("RGB")


def crop_to_bbox(image: Image.Image, bbox: BBox) -> Image.Image:
    """Crop to (x1, y1, x2, y2) in pixels, clamped to the image; a degenerate box keeps the image."""
    x1, y1, x2, y2 = bbox
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(image.width, int(round(x2))), min(image.height, int(round(y2)))
    if right - left < 2 or bottom - top < 2:
        logger.warning("ignoring degenerate bbox %s for a %s image", bbox, image.size)
        return image
    return image.crop((left, top, right, bottom))
