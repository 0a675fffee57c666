"""Reader for accelerators: workers read raw JPEG bytes, the GPU decodes and letterboxes them.

On a GPU the PIL path is CPU-bound (a 600 px JPEG decode + resize costs more than the network
on an H100), so here DataLoader workers only read files and check headers, and a whole batch is
decoded by nvjpeg in one call (`torchvision.io.decode_jpeg(list, device=...)`), then cropped,
resized (antialiased bilinear, like PIL's) and padded on the device. Anything nvjpeg cannot or
should not take (PNG, WebP, CMYK, oversized, corrupt) goes through the PIL path in the worker,
and a JPEG that fails on the device is retried with PIL, so results match the CPU reader.

The same code runs with device='cpu' (torchvision decodes on the CPU then), which is how the
tests check it against the PIL reader on a machine without a GPU.
"""
from __future__ import annotations

import io
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from engine.catalog.store import Item
from engine.embedders.base import PAD_COLOUR
from engine.errors import InvalidImageError
from engine.images import BBox, load_image
from engine.ingest.reader import Batch

logger = logging.getLogger(__name__)

# What nvjpeg decodes to the same pixels PIL would: baseline/progressive 8-bit RGB or grey.
DEVICE_MODES = frozenset({"RGB", "L"})


@dataclass
class RawSample:
    """One item from a worker: raw JPEG bytes for the device, or an already preprocessed tensor."""

    item_id: int
    jpeg: torch.Tensor | None  # 1-d uint8 file bytes
    bbox: BBox | None
    pixels: torch.Tensor | None  # (3, S, S) uint8 from the PIL path
    error: str = ""


@dataclass
class RawBatch:
    samples: list[RawSample]


class CatalogFiles(Dataset[RawSample]):
    """Item i → raw bytes when the header says the device can decode it, else the PIL result."""

    def __init__(self, items: Sequence[Item], root: Path,
                 preprocess: Callable[[Image.Image], torch.Tensor], max_pixels: int) -> None:
        self.items, self.root, self.preprocess, self.max_pixels = list(items), root, preprocess, max_pixels

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> RawSample:
        item = self.items[position]
        path = Path(item.image_path)
        path = path if path.is_absolute() else self.root / path
        item_id = int(item.id or 0)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return RawSample(item_id, None, None, None, f"Image file not found: {path} ({exc})")
        if device_decodable(data, self.max_pixels):
            return RawSample(item_id, torch.frombuffer(bytearray(data), dtype=torch.uint8), item.bbox, None)
        return pil_sample(item_id, data, item.bbox, self.preprocess, self.max_pixels)


def device_decodable(data: bytes, max_pixels: int) -> bool:
    """True for a JPEG in RGB or greyscale within the size limit (header only, no decoding)."""
    if data[:2] != b"\xff\xd8":
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                return image.format == "JPEG" and image.mode in DEVICE_MODES and 0 < width * height <= max_pixels
    except Exception:  # noqa: BLE001 - any header problem: let the PIL path produce the error
        return False


def pil_sample(item_id: int, data: bytes, bbox: BBox | None,
               preprocess: Callable[[Image.Image], torch.Tensor], max_pixels: int) -> RawSample:
    """The CPU reader's result for one file (also the fallback when the device decode fails)."""
    try:
        image = load_image(data, max_pixels=max_pixels, bbox=bbox)
    except InvalidImageError as exc:
        return RawSample(item_id, None, None, None, str(exc))
    return RawSample(item_id, None, None, preprocess(image))


def collate_raw(samples: list[RawSample]) -> RawBatch:
    return RawBatch(samples)


# --- on the device --------------------------------------------------------------------------
def letterbox_tensor(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) uint8 → (3, S, S) uint8: aspect-preserving antialiased resize, white padding.

    Mirrors engine.embedders.base.letterbox (PIL bilinear with reducing_gap) within a few
    grey levels; torch's antialiased bilinear is the same triangle filter as PIL's.
    """
    _, height, width = image.shape
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = F.interpolate(image[None].float(), size=(new_h, new_w), mode="bilinear",
                            antialias=True, align_corners=False)[0]
    resized = resized.round_().clamp_(0, 255).to(torch.uint8)
    if (new_h, new_w) == (size, size):
        return resized
    canvas = torch.tensor(PAD_COLOUR, dtype=torch.uint8, device=image.device).view(3, 1, 1).repeat(1, size, size)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[:, top : top + new_h, left : left + new_w] = resized
    return canvas


def crop_tensor(image: torch.Tensor, bbox: BBox | None) -> torch.Tensor:
    """Same rule as engine.images.crop_to_bbox: rounded, clamped, degenerate boxes ignored."""
    if bbox is None:
        return image
    _, height, width = image.shape
    x1, y1, x2, y2 = bbox
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(width, int(round(x2))), min(height, int(round(y2)))
    if right - left < 2 or bottom - top < 2:
        return image
    return image[:, top:bottom, left:right]


def decode_on_device(jpegs: list[torch.Tensor], device: torch.device) -> list[torch.Tensor | None]:
    """Batched decode (one nvjpeg call on CUDA); on failure, per image, None where it fails."""
    from torchvision.io import ImageReadMode, decode_jpeg

    # torchvision 0.29 deprecates its decoders in favour of TorchCodec, which has no batched
    # nvjpeg decode yet; the warning would repeat for every batch.
    warnings.filterwarnings("ignore", message=".*image decoding and encoding capabilities", category=DeprecationWarning)
    try:
        return list(decode_jpeg(jpegs, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True))
    except RuntimeError as exc:
        logger.debug("batched device decode failed (%s); retrying one by one", exc)
    decoded: list[torch.Tensor | None] = []
    for data in jpegs:
        try:
            decoded.append(decode_jpeg(data, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True))
        except RuntimeError:
            decoded.append(None)
    return decoded


def assemble_batch(raw: RawBatch, size: int, device: torch.device,
                   preprocess: Callable[[Image.Image], torch.Tensor], max_pixels: int) -> Batch:
    """Decode the batch's JPEGs on `device`, letterbox them, and merge in the PIL-path tensors."""
    samples = list(raw.samples)
    on_device = [(i, s.jpeg) for i, s in enumerate(samples) if s.jpeg is not None]
    decoded = decode_on_device([jpeg for _, jpeg in on_device], device) if on_device else []
    pixels: dict[int, torch.Tensor] = {}
    for (position, jpeg), image in zip(on_device, decoded):
        sample = samples[position]
        if image is None:  # nvjpeg refused it: PIL decides (and reports a real error if any)
            samples[position] = pil_sample(sample.item_id, bytes(jpeg.numpy()), sample.bbox,
                                           preprocess, max_pixels)
            continue
        pixels[position] = letterbox_tensor(crop_tensor(image, sample.bbox), size)
    for position, sample in enumerate(samples):
        if sample.pixels is not None:
            pixels[position] = sample.pixels.to(device, non_blocking=True)
    good = sorted(pixels)
    stacked = (torch.stack([pixels[p] for p in good]) if good
               else torch.zeros((0, 3, size, size), dtype=torch.uint8, device=device))
    failed = [(s.item_id, s.error) for s in samples if s.error]
    return Batch([samples[p].item_id for p in good], stacked, failed)


def device_batches(raw_batches: Iterable[RawBatch], size: int, device: torch.device,
                   preprocess: Callable[[Image.Image], torch.Tensor], max_pixels: int,
                   timings: dict[str, float]) -> Iterator[Batch]:
    """Assemble each worker batch on the device, adding the time to timings['decode']."""
    for raw in raw_batches:
        started = time.perf_counter()
        batch = assemble_batch(raw, size, device, preprocess, max_pixels)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # honest stage timing: kernels run asynchronously
        timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - started
        yield batch
