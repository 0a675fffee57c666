"""The bot's command menu (setMyCommands), in menu order; README documents each of them."""
from __future__ import annotations

BOT_COMMANDS: list[tuple[str, str]] = [
    ("start", "What this bot does"),
    ("help", "How to use it"),
    ("variant", "Choose the search variant"),
    ("play", "Play Dope or Nope"),
    ("leaderboard", "Best variants so far"),
    ("stats", "Your vote counts"),
    ("export", "Your votes as CSV"),
    ("forget", "Delete your data"),
]
