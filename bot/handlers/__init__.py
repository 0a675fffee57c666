"""Telegram handlers, one module per feature; wired together in bot/app.py."""
