"""Media methods: sendPhoto, sendDocument, sendMediaGroup and getFile.

A file parameter is an upload (a multipart part named like the parameter, or ``attach://NAME``
pointing at a part) or the file_id of something already stored. URLs cannot be fetched here.
"""
from __future__ import annotations

from typing import Any

from bot.emulator.limits import (
    MAX_DOWNLOAD_BYTES, MAX_MEDIA_GROUP, MAX_PHOTO_UPLOAD_BYTES, MIN_MEDIA_GROUP, ApiError, bad_request,
    check_caption,
)
from bot.emulator.formatting import parse_formatted
from bot.emulator.media import document_dict, existing_photo, store_document, store_photo, store_video_like
from bot.emulator.methods_bot import Method
from bot.emulator.methods_messages import outgoing_message, with_caption
from bot.emulator.params import Params, Upload
from bot.emulator.state import EmulatorState


def _input_file(params: Params, name: str, value: Any) -> Upload | str:
    """The upload or file_id a file parameter designates."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = params.upload(value[len("attach://"):])
        if upload is None:
            raise bad_request(f"file for {value} not found in the request")
        return upload
    if value is None:
        upload = params.upload(name)
        if upload is None:
            raise bad_request(f"there is no {name} in the request")
        return upload
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    return str(value)


async def _photo(state: EmulatorState, source: Upload | str) -> list[dict[str, Any]]:
    if isinstance(source, str):
        return existing_photo(state, source)
    if len(source.data) > MAX_PHOTO_UPLOAD_BYTES:
        raise ApiError("Request Entity Too Large", 413)
    return await store_photo(state, source.data)


def _document(state: EmulatorState, source: Upload | str) -> dict[str, Any]:
    if isinstance(source, str):
        return document_dict(state.file(source))
    return store_document(state, source.data, source.filename, source.content_type)


async def send_photo(state: EmulatorState, params: Params) -> dict[str, Any]:
    """sendPhoto: returns a Message whose ``photo`` lists several sizes, largest last."""
    state.chat(params.required("chat_id"))
    content = with_caption({}, params)
    content["photo"] = await _photo(state, _input_file(params, "photo", params.str("photo")))
    return outgoing_message(state, params, content)


async def send_document(state: EmulatorState, params: Params) -> dict[str, Any]:
    """sendDocument."""
    state.chat(params.required("chat_id"))
    content = with_caption({}, params)
    content["document"] = _document(state, _input_file(params, "document", params.str("document")))
    return outgoing_message(state, params, content)


def _check_album(media: Any) -> None:
    if not isinstance(media, list):
        raise bad_request("can't parse media JSON object")
    if len(media) > MAX_MEDIA_GROUP:
        raise bad_request("too many messages to send as an album")
    if len(media) < MIN_MEDIA_GROUP:
        raise bad_request("wrong number of media items: an album must have 2-10 items")
    kinds = {item.get("type") for item in media if isinstance(item, dict)}
    if not kinds <= {"photo", "video", "document", "audio"} or len(kinds) == 0:
        raise bad_request("unsupported media type in album")
    if ("document" in kinds or "audio" in kinds) and len(kinds) > 1:
        raise bad_request("document can't be mixed with other media types")


async def _album_item(state: EmulatorState, params: Params, item: dict[str, Any]) -> dict[str, Any]:
    caption, entities = parse_formatted(item.get("caption"), item.get("parse_mode"))
    check_caption(caption)
    content: dict[str, Any] = {}
    if caption:
        content["caption"] = caption
        if item.get("caption_entities") or entities:
            content["caption_entities"] = item.get("caption_entities") or entities
    source = _input_file(params, item["type"], item.get("media"))
    if item["type"] == "photo":
        content["photo"] = await _photo(state, source)
    elif item["type"] == "video" and not isinstance(source, str):
        content["video"] = store_video_like(state, "video", source.data, source.filename or "video.mp4",
                                            "video/mp4", int(item.get("duration", 1)))
    else:
        content["document"] = _document(state, source)
    return content


async def send_media_group(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    """sendMediaGroup: one Message per item, all sharing a media_group_id."""
    state.chat(params.required("chat_id"))
    media = params.json("media")
    _check_album(media)
    contents = [await _album_item(state, params, item) for item in media]
    group_id = state.new_media_group_id()
    return [outgoing_message(state, params, {**content, "media_group_id": group_id}) for content in contents]


async def get_file(state: EmulatorState, params: Params) -> dict[str, Any]:
    """getFile: bots may download at most 20 MB."""
    record = state.file(params.required("file_id"))
    if record.size > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
            "file_size": record.size, "file_path": record.file_path}


METHODS: dict[str, Method] = {
    "sendphoto": send_photo, "senddocument": send_document, "sendmediagroup": send_media_group,
    "getfile": get_file,
}
