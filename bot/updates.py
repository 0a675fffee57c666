"""Typed accessors for the Update fields a handler's filter guarantees.

python-telegram-bot types every Update field as Optional: a CommandHandler's update has a message
and a user, a CallbackQueryHandler's has a callback_query, but the types cannot say so. These
read the field and raise MissingField in the case that cannot happen, rather than an
AttributeError on None somewhere later; the error handler logs it like any other bug.
"""
from __future__ import annotations

from telegram import CallbackQuery, Chat, Message, Update, User


class MissingField(RuntimeError):
    """An update lacks a field its handler's filter promised."""


def message_of(update: Update) -> Message:
    if update.effective_message is None:
        raise MissingField(f"update {update.update_id} has no message")
    return update.effective_message


def user_of(update: Update) -> User:
    if update.effective_user is None:
        raise MissingField(f"update {update.update_id} has no user")
    return update.effective_user


def chat_of(update: Update) -> Chat:
    if update.effective_chat is None:
        raise MissingField(f"update {update.update_id} has no chat")
    return update.effective_chat


def query_of(update: Update) -> CallbackQuery:
    if update.callback_query is None:
        raise MissingField(f"update {update.update_id} has no callback query")
    return update.callback_query
