"""Text-message methods: send, edit, delete, chat actions and callback answers.

``outgoing_message`` is the shared tail of every send method (chat lookup, keyboard checks,
replies); the media methods reuse it.
"""
from __future__ import annotations

import copy
from typing import Any

from bot.emulator.formatting import parse_formatted
from bot.emulator.limits import (
    MAX_CALLBACK_ANSWER_LENGTH, bad_request, check_caption, check_reply_markup, check_text,
)
from bot.emulator.methods_bot import Method
from bot.emulator.params import Params
from bot.emulator.state import EmulatorState

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}


def formatted(params: Params, field: str, entities_field: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Text or caption after parse_mode, with explicit entities taking precedence."""
    text, entities = parse_formatted(params.str(field), params.str("parse_mode"))
    explicit = params.json(entities_field)
    return text, explicit if explicit else entities


def with_caption(content: dict[str, Any], params: Params) -> dict[str, Any]:
    """Add a validated caption (and its entities) to message content."""
    caption, entities = formatted(params, "caption", "caption_entities")
    check_caption(caption)
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    return content


def outgoing_message(state: EmulatorState, params: Params, content: dict[str, Any]) -> dict[str, Any]:
    """Store a bot-sent message in ``chat_id`` after the checks common to all send methods."""
    chat_id = params.required("chat_id")
    record = state.chat(chat_id)
    markup = params.json("reply_markup")
    check_reply_markup(markup)
    if markup and "inline_keyboard" in markup:
        # Telegram's Message.reply_markup only ever carries inline keyboards.
        content["reply_markup"] = markup
    reply = _replied_message(state, record.chat["id"], params)
    if reply is not None:
        content["reply_to_message"] = reply
    return state.add_message(record.chat["id"], state.bot_user, content)


def _replied_message(state: EmulatorState, chat_id: int, params: Params) -> dict[str, Any] | None:
    reply_parameters = params.json("reply_parameters") or {}
    message_id = reply_parameters.get("message_id", params.int("reply_to_message_id"))
    if message_id is None:
        return None
    allow_missing = reply_parameters.get("allow_sending_without_reply") or params.bool("allow_sending_without_reply")
    record = state.chat(reply_parameters.get("chat_id", chat_id))
    original = record.by_id.get(int(message_id))
    if original is None or original["message_id"] in record.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    reply = copy.deepcopy(original)
    reply.pop("reply_to_message", None)  # Telegram never nests replies more than one level
    return reply


async def send_message(state: EmulatorState, params: Params) -> dict[str, Any]:
    """sendMessage."""
    text, entities = formatted(params, "text", "entities")
    content: dict[str, Any] = {"text": check_text(text)}
    if entities:
        content["entities"] = entities
    return outgoing_message(state, params, content)


def _editable(state: EmulatorState, params: Params) -> tuple[Any, Any]:
    if params.str("inline_message_id"):
        raise bad_request("inline messages are not supported by the emulator")
    chat_id, message_id = params.required("chat_id"), params.required("message_id")
    if not state.is_from_bot(state.message(chat_id, message_id)):
        raise bad_request("message can't be edited")
    return chat_id, message_id


def _markup_changes(params: Params) -> tuple[dict[str, Any], tuple[str, ...]]:
    """An edit without reply_markup removes the inline keyboard, as in Telegram."""
    markup = params.json("reply_markup")
    check_reply_markup(markup)
    if markup and markup.get("inline_keyboard"):
        return {"reply_markup": markup}, ()
    return {}, ("reply_markup",)


async def edit_message_text(state: EmulatorState, params: Params) -> dict[str, Any]:
    """editMessageText: returns the edited Message."""
    chat_id, message_id = _editable(state, params)
    if "text" not in state.message(chat_id, message_id):
        raise bad_request("there is no text in the message to edit")
    text, entities = formatted(params, "text", "entities")
    changes, remove = _markup_changes(params)
    changes["text"] = check_text(text)
    if entities:
        changes["entities"] = entities
    else:
        remove += ("entities",)
    return state.edit_message(chat_id, message_id, changes, remove)


async def edit_message_caption(state: EmulatorState, params: Params) -> dict[str, Any]:
    """editMessageCaption: returns the edited Message."""
    chat_id, message_id = _editable(state, params)
    changes, remove = _markup_changes(params)
    with_caption(changes, params)
    remove += tuple(k for k in ("caption", "caption_entities") if k not in changes)
    return state.edit_message(chat_id, message_id, changes, remove)


async def edit_message_reply_markup(state: EmulatorState, params: Params) -> dict[str, Any]:
    """editMessageReplyMarkup: returns the edited Message."""
    chat_id, message_id = _editable(state, params)
    changes, remove = _markup_changes(params)
    return state.edit_message(chat_id, message_id, changes, remove)


async def delete_message(state: EmulatorState, params: Params) -> bool:
    """deleteMessage."""
    state.delete_message(params.required("chat_id"), params.required("message_id"))
    return True


async def send_chat_action(state: EmulatorState, params: Params) -> bool:
    """sendChatAction: recorded in ``state.chat_actions`` so tests can check "typing…" was shown."""
    record = state.chat(params.required("chat_id"))
    action = params.str("action")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.chat_actions.append((record.chat["id"], action))
    return True


async def answer_callback_query(state: EmulatorState, params: Params) -> bool:
    """answerCallbackQuery: the answer is kept for FakeUser.press() and the web chat."""
    text = params.str("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    answer = {"callback_query_id": params.str("callback_query_id"), "text": text,
              "show_alert": params.bool("show_alert"), "url": params.str("url"),
              "cache_time": params.int("cache_time", 0)}
    state.answer_callback_query(str(params.required("callback_query_id")), answer)
    return True


METHODS: dict[str, Method] = {
    "sendmessage": send_message, "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption, "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message, "sendchataction": send_chat_action,
    "answercallbackquery": answer_callback_query,
}
