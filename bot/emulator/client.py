"""Acting as a Telegram user in tests: send messages and press buttons, then wait for replies.

A FakeUser writes into the emulator state exactly what Telegram would deliver to the bot (an
Update), and reads back what the bot sent to the private chat. Waiting uses the state's
condition, so tests never sleep::

    alice = emu.user(1001, first_name="Alice")
    await alice.send_photo(jpeg_bytes)
    [reply] = await alice.wait_for_messages(1)
    press = await alice.press(reply, "👍")
    answer = await press.answered()
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

from PIL import Image

from bot.emulator.limits import ApiError, check_caption, check_text
from bot.emulator.media import store_document, store_photo, store_sticker, store_video_like
from bot.emulator.state import EmulatorState

Message = dict[str, Any]


@dataclass
class CallbackPress:
    """A pressed inline button: the CallbackQuery sent and, later, the bot's answer."""

    query: dict[str, Any]
    state: EmulatorState

    @property
    def id(self) -> str:
        return str(self.query["id"])

    @property
    def answer(self) -> dict[str, Any] | None:
        """The answerCallbackQuery parameters, once the bot has answered."""
        answer: dict[str, Any] | None = self.state.callback_queries[self.id]["answer"]
        return answer

    async def answered(self, timeout: float = 10) -> dict[str, Any]:
        """Wait for the bot's answerCallbackQuery (Telegram shows a spinner until then)."""
        await self.state.wait_until(lambda: self.answer is not None, timeout)
        answer = self.answer
        if answer is None:
            raise TimeoutError(f"bot did not answer callback query {self.query['data']!r} in {timeout}s")
        return answer


class FakeUser:
    """One user in a private chat with the bot (chat id == user id)."""

    def __init__(self, state: EmulatorState, user: dict[str, Any]):
        self.state = state
        self.user = user
        self._cursor = 0

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def chat_id(self) -> int:
        return int(self.user["id"])

    # -- sending ---------------------------------------------------------------------------

    async def _deliver(self, content: dict[str, Any]) -> Message:
        message = self.state.add_message(self.chat_id, self.user, content)
        self.state.push_update("message", message)
        await self.state.notify()
        return message

    async def send_text(self, text: str, reply_to: Message | None = None) -> Message:
        """Send a text; a leading /command gets its bot_command entity as in Telegram."""
        content: dict[str, Any] = {"text": check_text(text)}
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            content["reply_to_message"] = dict(reply_to)
        return await self._deliver(content)

    async def send_command(self, command: str, args: str = "") -> Message:
        """Send ``/command args`` (the slash is optional)."""
        text = command if command.startswith("/") else f"/{command}"
        return await self.send_text(f"{text} {args}".strip())

    async def send_photo(self, data: bytes, caption: str | None = None,
                         media_group_id: str | None = None) -> Message:
        """Send a photo; Telegram offers the bot several PhotoSizes, largest last."""
        check_caption(caption)
        content: dict[str, Any] = {"photo": await store_photo(self.state, data)}
        return await self._deliver(_with_extras(content, caption, media_group_id))

    async def send_album(self, images: list[bytes], caption: str | None = None) -> list[Message]:
        """Send 2-10 photos as one album: separate updates sharing a media_group_id."""
        if not 2 <= len(images) <= 10:
            raise ValueError("an album has 2-10 items")
        group_id = self.state.new_media_group_id()
        return [await self.send_photo(data, caption if index == 0 else None, group_id)
                for index, data in enumerate(images)]

    async def send_document(self, data: bytes, file_name: str = "file.bin", mime_type: str | None = None,
                            caption: str | None = None, declared_size: int | None = None,
                            with_size: bool = True) -> Message:
        """Send a file as a document (e.g. an uncompressed image); ``declared_size`` fakes big files,
        ``with_size=False`` leaves out ``file_size``, which the Bot API marks optional."""
        check_caption(caption)
        document = store_document(self.state, data, file_name, mime_type, declared_size)
        if not with_size:
            document.pop("file_size", None)
        return await self._deliver(_with_extras({"document": document}, caption, None))

    async def send_sticker(self, data: bytes | None = None, emoji: str = "😎") -> Message:
        """Send a static sticker (a WEBP made with Pillow unless ``data`` is given)."""
        return await self._deliver({"sticker": store_sticker(self.state, data or _webp_sticker(), emoji)})

    async def send_animation(self, data: bytes, file_name: str = "animation.gif", duration: int = 1) -> Message:
        """Send a GIF: Telegram delivers it as an MP4 Animation that is also a Document."""
        animation = store_video_like(self.state, "animation", data, f"{file_name}.mp4", "video/mp4", duration)
        document = {k: animation[k] for k in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size")}
        return await self._deliver({"animation": animation, "document": document})

    async def send_video(self, data: bytes, file_name: str = "video.mp4", duration: int = 1,
                         caption: str | None = None) -> Message:
        """Send a video."""
        video = store_video_like(self.state, "video", data, file_name, "video/mp4", duration)
        return await self._deliver(_with_extras({"video": video}, caption, None))

    async def press(self, message: Message | int, button: str) -> CallbackPress:
        """Press the inline button whose text or callback_data is ``button``, on the message as it is now."""
        message_id = message if isinstance(message, int) else message["message_id"]
        try:
            current = self.state.message(self.chat_id, message_id)
        except ApiError:
            raise LookupError(f"message {message_id} is not in chat {self.chat_id} (deleted?)") from None
        data = _find_callback_data(current, button)
        query = self.state.new_callback_query(self.user, current, data)
        self.state.push_update("callback_query", query)
        await self.state.notify()
        return CallbackPress(query, self.state)

    def block_bot(self, blocked: bool = True) -> None:
        """Block (or unblock) the bot: its messages to this chat then get 403 Forbidden."""
        (self.state.blocked.add if blocked else self.state.blocked.discard)(self.chat_id)

    # -- reading what the bot sent ---------------------------------------------------------

    @property
    def all_messages(self) -> list[Message]:
        """Every message in the chat, both directions, deleted ones included, oldest first."""
        return list(self.state.chat(self.chat_id).messages)

    @property
    def messages(self) -> list[Message]:
        """Live messages the bot sent to this chat (edits applied in place), oldest first."""
        record = self.state.chat(self.chat_id)
        return [m for m in record.messages
                if self.state.is_from_bot(m) and m["message_id"] not in record.deleted]

    @property
    def last_callback_answer(self) -> dict[str, Any] | None:
        """The most recent answerCallbackQuery for this user's presses."""
        mine = [e["answer"] for e in self.state.callback_queries.values()
                if e["query"]["from"]["id"] == self.id and e["answer"] is not None]
        return mine[-1] if mine else None

    @property
    def chat_actions(self) -> list[str]:
        """sendChatAction calls for this chat, e.g. ["typing", "upload_photo"]."""
        return [action for chat_id, action in self.state.chat_actions if chat_id == self.chat_id]

    def _unread(self) -> list[tuple[int, Message]]:
        record = self.state.chat(self.chat_id)
        return [(index, m) for index, m in enumerate(record.messages) if index >= self._cursor
                and self.state.is_from_bot(m) and m["message_id"] not in record.deleted]

    async def wait_for_messages(self, n: int = 1, timeout: float = 10) -> list[Message]:
        """Wait for the next ``n`` bot messages not yet returned by an earlier call, and return them."""
        if not await self.state.wait_until(lambda: len(self._unread()) >= n, timeout):
            got = [m.get("text") or m.get("caption") or list(m)[-1] for _, m in self._unread()]
            raise TimeoutError(f"expected {n} bot message(s) within {timeout}s, got {len(got)}: {got!r}")
        unread = self._unread()[:n]
        self._cursor = unread[-1][0] + 1
        return [m for _, m in unread]

    async def wait_through(self, predicate: Callable[[Message], bool], timeout: float = 10) -> list[Message]:
        """Wait for the next unread bot message that satisfies ``predicate`` (a vote keyboard, say);
        return every unread message up to and including it, as `wait_for_messages` would."""
        def position() -> int | None:
            return next((i for i, (_, m) in enumerate(self._unread()) if predicate(m)), None)

        if not await self.state.wait_until(lambda: position() is not None, timeout):
            raise TimeoutError(f"no unread bot message matched within {timeout}s; have {len(self._unread())}")
        end = position()
        assert end is not None  # just waited for it
        unread = self._unread()[: end + 1]
        self._cursor = unread[-1][0] + 1
        return [m for _, m in unread]

    async def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 10) -> Message:
        """Wait until some live bot message (edits included) satisfies ``predicate``; return it."""
        def match() -> Message | None:
            return next((m for m in self.messages if predicate(m)), None)

        await self.state.wait_until(lambda: match() is not None, timeout)
        found = match()
        if found is None:
            raise TimeoutError(f"no bot message matched within {timeout}s; have {len(self.messages)}")
        return found


def _with_extras(content: dict[str, Any], caption: str | None, media_group_id: str | None) -> dict[str, Any]:
    if caption:
        content["caption"] = caption
    if media_group_id:
        content["media_group_id"] = media_group_id
    return content


def _find_callback_data(message: Message, button: str) -> str:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    buttons = [b for row in rows for b in row if "callback_data" in b]
    for candidate in buttons:
        if button in (candidate["text"], candidate["callback_data"]):
            return str(candidate["callback_data"])
    offered = [(b["text"], b["callback_data"]) for b in buttons]
    raise LookupError(f"no button {button!r} on message {message['message_id']}; buttons: {offered}")


def _webp_sticker() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, format="WEBP")
    return buffer.getvalue()
