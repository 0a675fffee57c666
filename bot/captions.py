"""Texts the bot sends: captions of matches and game items, help and short replies.

Plain text only (no parse_mode), so catalog titles can never break the markup.
"""
from __future__ import annotations

from engine.catalog.store import Item
from engine.search import Match

MAX_CAPTION = 1024  # Telegram's caption limit

START = (
    "👋 Send me a photo of a thing you like, and I'll answer with the most similar products "
    "from the catalog. Rate each match 👍 dope or 👎 nope: your votes teach the search."
)
HELP = (
    "Commands:\n"
    "/variant – choose the search variant (model × distance)\n"
    "/play – blind game: is the second item a good match for the first?\n"
    "/leaderboard – which variant people like best\n"
    "/stats – your votes  ·  /export – your votes as CSV  ·  /forget – delete your data\n"
    "Photos: JPEG, PNG or WebP (as photo or file), up to 20 MB."
)
SEND_A_PHOTO = "Send me a photo (or an image file) and I'll find similar products. /help lists the commands."
SLOW_DOWN = ("🐢 Slow down, please: I'm still searching with your earlier photos. I'll answer those; "
             "send more once they're done.")
ALBUM_FIRST_ONLY = "You sent an album: I search with the first photo only."
CANNOT_DOWNLOAD = ("I couldn't download that file from Telegram (it may have expired or be unavailable). "
                   "Please send the photo again.")
TOO_BIG = "That file is too big: bots can download at most 20 MB. Please send a smaller image."
NOT_AN_IMAGE = "I can only search with images (JPEG, PNG or WebP). Please send a photo."
NO_MATCHES = "I couldn't find any matches for that photo."
SOMETHING_WRONG = "😵 Sorry, something went wrong on my side. Please try again."
STALE_BUTTON = "This button is no longer valid."
NOT_YOURS = "That button belongs to someone else."


def item_line(item: Item) -> str:
    parts = [item.title or f"Item #{item.id}"]
    if item.category:
        parts.append(f"({item.category})")
    return " ".join(parts)


def match_caption(match: Match) -> str:
    """`#1 red disc (disc) · distance 0.123` and the product link, if any."""
    caption = f"#{match.rank} {item_line(match.item)} · distance {match.distance:.3f}"
    if match.item.price is not None:
        caption += f" · {match.item.price:g}"
    if match.item.url:
        caption += f"\n{match.item.url}"
    return caption[:MAX_CAPTION]


def vote_prompt(variant: str, count: int, *, unsure: bool = False, others: int = 0) -> str:
    text = f"Top {count} matches ({variant}). Rate them: 👍 dope or 👎 nope."
    if others:
        text += f"\nI also spotted {others} more product{'s' if others > 1 else ''}: tap 🔍 to search {'them' if others > 1 else 'it'}."
    if unsure:
        text += f"\n{CROP_TIP}"
    return text


CROP_TIP = "💡 I wasn't sure where the product is: crop the photo to it for better matches."
SEARCHED_CAPTION = "🔎 What I searched (1)"
UNKNOWN_SEARCH = "That search is gone (old or deleted). Send the photo again."


def game_caption(label: str, item: Item) -> str:
    return f"{label}: {item_line(item)}"[:MAX_CAPTION]


GAME_PROMPT = "Is B a good match for A? 👍 dope or 👎 nope?"


def game_reveal(value: int, variant: str, distance: float) -> str:
    verdict = "👍 dope" if value == 1 else "👎 nope"
    return f"You said {verdict}. That pair came from {variant} (distance {distance:.3f})."
