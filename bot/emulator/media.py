"""Storing media like Telegram does: photos become several JPEG PhotoSizes, largest last.

Shared by the bot side (sendPhoto, sendMediaGroup, sendDocument) and the user side (FakeUser,
web chat). Pillow work runs in a thread so a big upload never stalls the bot under test.
"""
from __future__ import annotations

import asyncio
import io
import mimetypes
from typing import Any

from PIL import Image, UnidentifiedImageError

from bot.emulator.limits import bad_request
from bot.emulator.state import EmulatorState, FileRecord

# Telegram's thumbnail ladder ("s", "m", "x", "y"); the original size always comes last.
_PHOTO_SIDES = (90, 320, 800, 1280)


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height if Pillow can read the bytes, else None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


def render_photo_sizes(data: bytes) -> list[tuple[bytes, int, int]]:
    """JPEG renditions (bytes, width, height), smallest first; the original bytes kept if JPEG."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    rgb = image.convert("RGB")
    width, height = rgb.size
    longest = max(width, height)
    sides = [side for side in _PHOTO_SIDES if side < longest] or [max(1, longest // 2)]
    sizes = [_downscale(rgb, side) for side in sides]
    original = data if image.format == "JPEG" else _jpeg(rgb)
    sizes.append((original, width, height))
    return sizes


def _downscale(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((side, side))
    return _jpeg(copy), copy.width, copy.height


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=87)
    return buffer.getvalue()


async def store_photo(state: EmulatorState, data: bytes) -> list[dict[str, Any]]:
    """Store an uploaded photo; return its PhotoSize list (every file_id maps back to the set)."""
    renditions = await asyncio.to_thread(render_photo_sizes, data)
    photo: list[dict[str, Any]] = []
    for jpeg, width, height in renditions:
        record = state.add_file(jpeg, "photo", "jpg", mime_type="image/jpeg")
        photo.append({"file_id": record.file_id, "file_unique_id": record.file_unique_id,
                      "file_size": record.size, "width": width, "height": height})
    for size in photo:
        state.photo_sets[size["file_id"]] = photo
    return photo


def existing_photo(state: EmulatorState, file_id: str) -> list[dict[str, Any]]:
    """The PhotoSize list behind a file_id the bot re-sends."""
    if file_id not in state.photo_sets:
        record = state.file(file_id)
        raise bad_request(f"can't use file of type {record.kind.capitalize()} as Photo")
    return state.photo_sets[file_id]


def store_document(state: EmulatorState, data: bytes, file_name: str | None, mime_type: str | None = None,
                   declared_size: int | None = None) -> dict[str, Any]:
    """Store a document; return its Document dict."""
    file_name = file_name or "document"
    mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
    record = state.add_file(data, "document", extension, mime_type, file_name, declared_size)
    return document_dict(record)


def document_dict(record: FileRecord) -> dict[str, Any]:
    """The Document object for a stored file."""
    document = {"file_id": record.file_id, "file_unique_id": record.file_unique_id, "file_size": record.size}
    if record.file_name:
        document["file_name"] = record.file_name
    if record.mime_type:
        document["mime_type"] = record.mime_type
    return document


def store_sticker(state: EmulatorState, data: bytes, emoji: str) -> dict[str, Any]:
    """Store a static sticker (WEBP); return its Sticker dict."""
    width, height = image_dimensions(data) or (512, 512)
    record = state.add_file(data, "sticker", "webp", mime_type="image/webp")
    return {"file_id": record.file_id, "file_unique_id": record.file_unique_id, "type": "regular",
            "width": width, "height": height, "is_animated": False, "is_video": False,
            "emoji": emoji, "file_size": record.size}


def store_video_like(state: EmulatorState, kind: str, data: bytes, file_name: str, mime_type: str,
                     duration: int) -> dict[str, Any]:
    """Store an animation or video; return its Animation/Video dict (dimensions read if possible)."""
    width, height = image_dimensions(data) or (640, 360)
    extension = file_name.rsplit(".", 1)[-1] if "." in file_name else "mp4"
    record = state.add_file(data, kind, extension, mime_type, file_name)
    return {"file_id": record.file_id, "file_unique_id": record.file_unique_id, "width": width,
            "height": height, "duration": duration, "file_name": file_name, "mime_type": mime_type,
            "file_size": record.size}
