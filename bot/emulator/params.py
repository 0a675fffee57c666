"""Reading Bot API method parameters from any of the encodings Telegram accepts.

A parameter may come from the query string, a form-urlencoded body, a JSON body or a multipart
body (where uploads are file parts). Form values are strings, so objects (``reply_markup``,
``media``, ``commands``) arrive as JSON strings and numbers as digits; accessors normalise both.
"""
from __future__ import annotations

import builtins

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from bot.emulator.limits import bad_request


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Typed access to a request's parameters; bad values raise Telegram-style 400s."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]):
        self.values = values
        self.uploads = uploads

    def __contains__(self, name: builtins.str) -> bool:
        return name in self.values or name in self.uploads

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self.values.get(name, default)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def required(self, name: builtins.str) -> Any:
        if name not in self.values:
            raise bad_request(f"{name} is empty" if name != "chat_id" else "chat_id is empty")
        return self.values[name]

    def int(self, name: builtins.str, default: builtins.int | None = None) -> builtins.int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: builtins.str, default: Any = None) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def upload(self, name: builtins.str) -> Upload | None:
        return self.uploads.get(name)


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and whatever body the request carries."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            values.update(body)
        elif content_type.startswith("multipart/"):
            await _read_multipart(request, values, uploads)
        else:
            values.update(await request.post())
    return Params(values, uploads)


async def _read_multipart(request: web.Request, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue  # a nested multipart is not something the Bot API sends
        data = await part.read(decode=True)
        if part.filename is not None:
            uploads[part.name] = Upload(bytes(data), part.filename, part.headers.get("Content-Type"))
        else:
            values[part.name] = data.decode(part.get_charset(default="utf-8"))
