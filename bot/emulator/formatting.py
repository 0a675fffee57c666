"""parse_mode handling: turn HTML-formatted text into plain text plus MessageEntity dicts.

Telegram strips the markup and reports entities, and rejects malformed HTML with
"can't parse entities"; doing the same here catches unescaped ``<``/``&`` in bot replies.
MarkdownV2 and Markdown are stored verbatim (only HTML is parsed).
"""
from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from bot.emulator.limits import bad_request, utf16_len

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "code": "code",
    "pre": "pre", "tg-spoiler": "spoiler", "blockquote": "blockquote",
}


class _TelegramHtml(HTMLParser):
    """Collects text and entities; raises ApiError on tags Telegram does not support."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.entities: list[dict[str, Any]] = []
        self._open: list[tuple[str, dict[str, Any]]] = []

    @property
    def text_offset(self) -> int:
        return utf16_len("".join(self.parts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        entity = self._entity_for(tag, dict(attrs))
        entity["offset"] = self.text_offset
        self._open.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise bad_request(f"can't parse entities: Unmatched end tag \"{tag}\"")
        _, entity = self._open.pop()
        entity["length"] = self.text_offset - entity["offset"]
        if entity["length"] > 0 and entity["type"] != "_ignored":
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def close(self) -> None:
        super().close()
        if self._open:
            raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{self._open[-1][0]}\"")

    @staticmethod
    def _entity_for(tag: str, attrs: dict[str, str | None]) -> dict[str, Any]:
        if tag in _SIMPLE_TAGS:
            return {"type": _SIMPLE_TAGS[tag]}
        if tag == "a" and attrs.get("href"):
            return {"type": "text_link", "url": attrs["href"]}
        if tag == "span" and attrs.get("class") == "tg-spoiler":
            return {"type": "spoiler"}
        if tag == "tg-emoji":
            return {"type": "_ignored"}
        raise bad_request(f"can't parse entities: Unsupported start tag \"{tag}\"")


def parse_formatted(text: str | None, parse_mode: str | None) -> tuple[str | None, list[dict[str, Any]]]:
    """Return (plain text, entities) as Telegram would store the message."""
    if text is None or not parse_mode or parse_mode.upper() != "HTML":
        return text, []
    if _has_bare_ampersand_or_lt(text):
        raise bad_request("can't parse entities: Unsupported start tag or unescaped character")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    entities = sorted(parser.entities, key=lambda e: e["offset"])
    return "".join(parser.parts), entities


def _has_bare_ampersand_or_lt(text: str) -> bool:
    """Python's HTMLParser forgives ``a < b`` and ``AT&T``; Telegram does not."""
    for index, char in enumerate(text):
        nxt = text[index + 1:index + 2]
        if char == "<" and not (nxt.isalpha() or nxt == "/"):
            return True
        if char == "&":
            end = text.find(";", index)
            if end == -1 or not text[index + 1:end].replace("#", "").isalnum():
                return True
    return False
