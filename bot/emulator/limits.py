"""Telegram's documented limits and the errors the emulator answers when a bot breaks them.

The descriptions copy Telegram's own wording so that a bot's error handling sees what it would
see in production (python-telegram-bot turns a 400 into ``telegram.error.BadRequest``).
"""
from __future__ import annotations

from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
MIN_MEDIA_GROUP = 2
MAX_MEDIA_GROUP = 10
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_GET_UPDATES_TIMEOUT = 50


class ApiError(Exception):
    """A Bot API error: becomes ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, description: str, error_code: int = 400, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """The error body Telegram sends."""
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(f"Bad Request: {detail}", 400)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def check_text(text: str | None) -> str:
    """Validate a message text (after entity parsing)."""
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    if utf16_len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text


def check_caption(caption: str | None) -> None:
    """Validate a media caption (after entity parsing)."""
    if caption is not None and utf16_len(caption) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")


def check_reply_markup(markup: Any) -> None:
    """Validate an inline keyboard the way Telegram does; other keyboards pass through."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays")
    for row in rows:
        for button in row:
            _check_inline_button(button)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif not any(key in button for key in _OTHER_BUTTON_KINDS):
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")


_OTHER_BUTTON_KINDS = (
    "url", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)
