"""bot/updates.py on real telegram.Update objects: the promised field, or MissingField."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User

from bot.updates import MissingField, chat_of, message_of, query_of, user_of

USER = User(id=7, first_name="Ann", is_bot=False)
CHAT = Chat(id=7, type=Chat.PRIVATE)
MESSAGE = Message(message_id=1, date=datetime.now(timezone.utc), chat=CHAT, from_user=USER, text="/start")


def test_a_command_update_has_its_message_user_and_chat() -> None:
    update = Update(update_id=1, message=MESSAGE)
    assert message_of(update) is MESSAGE
    assert user_of(update) is USER and chat_of(update) is CHAT
    with pytest.raises(MissingField, match="update 1 has no callback query"):
        query_of(update)


def test_a_button_press_has_its_query() -> None:
    query = CallbackQuery(id="q1", from_user=USER, chat_instance="c", data="vote:3:+", message=MESSAGE)
    update = Update(update_id=2, callback_query=query)
    assert query_of(update) is query and user_of(update) is USER


@pytest.mark.parametrize("accessor", [message_of, user_of, chat_of, query_of])
def test_an_empty_update_lacks_every_field(accessor: Callable[[Update], object]) -> None:
    with pytest.raises(MissingField, match="update 3 has no"):
        accessor(Update(update_id=3))
