"""The emulator's in-memory world: chats, messages, the updates queue, files and callback queries.

Pure data and bookkeeping, no HTTP. Every object handed out is a dict in Bot API shape, so the
server can return it as-is and tests can read it like Telegram's JSON. Waiters (long polling,
FakeUser.wait_for) sleep on ``changed``; whoever mutates the state calls ``notify()``.
"""
from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.limits import bad_request


def now() -> int:
    """Telegram dates are Unix time in seconds."""
    return int(time.time())


@dataclass
class FileRecord:
    """One stored file; ``declared_size`` lets a test fake a huge file without allocating it."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.data)


@dataclass
class ChatRecord:
    """A chat and its history, in order; ids are per chat as in Telegram private chats."""

    chat: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    next_message_id: int = 1
    version: int = 0


@dataclass
class WebhookConfig:
    """What setWebhook stored, plus delivery statistics for getWebhookInfo."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0
    failures: int = 0


class EmulatorState:
    """Everything the emulated Telegram knows, for one bot."""

    def __init__(self, token: str, first_name: str = "Emulated Bot", username: str | None = None):
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: dict[str, Any] = {
            "id": bot_id, "is_bot": True, "first_name": first_name,
            "username": username or f"emulated_{bot_id}_bot",
        }
        self.chats: dict[int, ChatRecord] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, FileRecord] = {}
        self.photo_sets: dict[str, list[dict[str, Any]]] = {}
        self.updates: list[dict[str, Any]] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.webhook: WebhookConfig | None = None
        self.blocked: set[int] = set()  # chats whose user blocked the bot
        self.unknown_methods: list[str] = []
        self.closing = False
        self.changed = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._media_groups = itertools.count(13_000_000_000_000_001)

    @property
    def webhook_url(self) -> str:
        return self.webhook.url if self.webhook else ""

    async def notify(self) -> None:
        """Wake every waiter; call after any mutation."""
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, predicate: Any, timeout: float) -> bool:
        """Wait until ``predicate()`` holds or the emulator closes; False on timeout."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.closing or predicate()), timeout)
            except asyncio.TimeoutError:
                return False
        return bool(predicate())

    # -- users and chats -------------------------------------------------------------------

    def register_user(self, user_id: int, first_name: str, username: str | None = None,
                      language_code: str = "en") -> dict[str, Any]:
        """Create (or refresh) a user and their private chat with the bot."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        if username:
            user["username"] = username
        self.users[user_id] = user
        if user_id not in self.chats:
            chat = {"id": user_id, "type": "private", "first_name": first_name}
            if username:
                chat["username"] = username
            self.chats[user_id] = ChatRecord(chat=chat)
        return user

    def chat(self, chat_id: Any) -> ChatRecord:
        """The chat record, or Telegram's "chat not found"."""
        try:
            return self.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat not found") from None

    # -- messages --------------------------------------------------------------------------

    def add_message(self, chat_id: int, sender: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """Append a message (user's or bot's) and return its Bot API dict."""
        record = self.chat(chat_id)
        message: dict[str, Any] = {"message_id": record.next_message_id, "from": sender, "chat": record.chat,
                                   "date": now()}
        message.update(content)
        record.next_message_id += 1
        record.messages.append(message)
        record.by_id[message["message_id"]] = message
        record.version += 1
        return message

    def message(self, chat_id: Any, message_id: Any) -> dict[str, Any]:
        """A live (not deleted) message, or Telegram's "message to edit not found"."""
        record = self.chat(chat_id)
        try:
            message = record.by_id[int(message_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("message to edit not found") from None
        if message["message_id"] in record.deleted:
            raise bad_request("message to edit not found")
        return message

    def edit_message(self, chat_id: Any, message_id: Any, changes: dict[str, Any],
                     remove: tuple[str, ...] = ()) -> dict[str, Any]:
        """Apply an edit in place (so callers holding the dict see it); reject no-op edits."""
        message = self.message(chat_id, message_id)
        after = {k: v for k, v in message.items() if k not in remove}
        after.update(changes)
        if after == message:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
        message.clear()
        message.update(after)
        message["edit_date"] = now()
        self.chat(chat_id).version += 1
        return message

    def delete_message(self, chat_id: Any, message_id: Any) -> None:
        """Mark a message deleted; it stays in history for tests but is gone for the bot."""
        record = self.chat(chat_id)
        try:
            mid = int(message_id)
        except (TypeError, ValueError):
            raise bad_request("message to delete not found") from None
        if mid not in record.by_id or mid in record.deleted:
            raise bad_request("message to delete not found")
        record.deleted.add(mid)
        record.version += 1

    def is_from_bot(self, message: dict[str, Any]) -> bool:
        return bool(message.get("from", {}).get("id") == self.bot_user["id"])

    def new_media_group_id(self) -> str:
        return str(next(self._media_groups))

    # -- updates ---------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; a deep copy, so later edits don't rewrite history."""
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self.updates.append(update)
        return update

    def confirm_updates(self, offset: int | None) -> None:
        """getUpdates' offset confirms (drops) every update with a smaller id; negative = from the end."""
        if offset is None:
            return
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    # -- callback queries ------------------------------------------------------------------

    def new_callback_query(self, user: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
        """Create a CallbackQuery for a button press; chat_instance is stable per chat."""
        chat_id = message["chat"]["id"]
        query: dict[str, Any] = {
            "id": str(secrets.randbits(60)), "from": user, "message": copy.deepcopy(message),
            "chat_instance": str((chat_id * 2654435761) % (2 ** 62)), "data": data,
        }
        self.callback_queries[query["id"]] = {"query": query, "answer": None}
        return query

    def answer_callback_query(self, query_id: str, answer: dict[str, Any]) -> None:
        """Record the bot's answer; Telegram refuses a second answer or an unknown id."""
        entry = self.callback_queries.get(str(query_id))
        if entry is None or entry["answer"] is not None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        entry["answer"] = answer
        self.callback_answers.append(answer)
        chat_id = entry["query"].get("message", {}).get("chat", {}).get("id")  # none for inline messages
        if chat_id in self.chats:
            self.chats[chat_id].version += 1

    # -- files -----------------------------------------------------------------------------

    def add_file(self, data: bytes, kind: str, extension: str, mime_type: str | None = None,
                 file_name: str | None = None, declared_size: int | None = None) -> FileRecord:
        """Store bytes under a fresh file_id; ``kind`` picks the folder in file_path like Telegram."""
        number = next(self._file_counter)
        record = FileRecord(
            file_id=f"{_FILE_ID_PREFIX.get(kind, 'BQAC')}{secrets.token_hex(12)}{number}",
            file_unique_id=f"AQAD{secrets.token_hex(6)}{number}", data=data, kind=kind,
            file_path=f"{_FOLDERS.get(kind, 'documents')}/file_{number}.{extension}",
            mime_type=mime_type, file_name=file_name, declared_size=declared_size,
        )
        self.files[record.file_id] = record
        return record

    def file(self, file_id: Any) -> FileRecord:
        """A stored file, or Telegram's error for an unknown id."""
        record = self.files.get(str(file_id))
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return record

    def file_by_path(self, file_path: str) -> FileRecord | None:
        return next((f for f in self.files.values() if f.file_path == file_path), None)


_FILE_ID_PREFIX = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC", "animation": "CgAC", "video": "BAAC"}
_FOLDERS = {"photo": "photos", "document": "documents", "sticker": "stickers", "animation": "animations",
            "video": "videos"}
