"""Durable intake: no update is lost when the bot dies, whether it polls or receives webhooks.

python-telegram-bot's Updater puts each update into `application.update_queue` before it
acknowledges it to Telegram: polling confirms a batch only with the *next* getUpdates call, and
the webhook server answers 200 only after `put` returns. `DurableUpdateQueue.put` therefore
stores the update in the inbox (committed) first, so by the time Telegram forgets an update, it is
on disk. A redelivered update that is already in the inbox is dropped. `mark_done` (a handler
in the last group) marks it handled; `replay_unfinished` (at start-up) puts back what a crash left
pending, once.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from votes.inbox import UpdateInbox

logger = logging.getLogger(__name__)

DONE_GROUP = 100  # after every feature handler (group 0): runs when the update was handled


class InboxNotReady(RuntimeError):
    """An update arrived before `attach()` (post_init) gave the queue its inbox."""


class DurableUpdateQueue(asyncio.Queue):  # type: ignore[type-arg]
    """The application's update queue; updates are stored before they are queued."""

    def __init__(self) -> None:
        super().__init__()
        self.inbox: UpdateInbox | None = None
        self.duplicates = 0

    def attach(self, inbox: UpdateInbox) -> None:
        self.inbox = inbox

    async def put(self, item: Any) -> None:
        """Store an `Update`, then queue it; anything else (PTB's stop signal) just queues."""
        if isinstance(item, Update):
            if self.inbox is None:
                raise InboxNotReady("update received before the inbox was attached")
            if not await self.inbox.add(item.update_id, json.dumps(item.to_dict())):
                self.duplicates += 1
                logger.info("update %s was delivered again; it is already in the inbox", item.update_id)
                return
        await super().put(item)

    async def replay_unfinished(self, bot: Any) -> int:
        """Queue (without storing again) the updates a previous run left pending; returns how many."""
        if self.inbox is None:
            raise InboxNotReady("replay before the inbox was attached")
        pending = await self.inbox.take_unfinished()
        for row in pending:
            update = Update.de_json(json.loads(row.payload), bot)
            if update is not None:
                super().put_nowait(update)
        if pending:
            logger.info("replaying %d update(s) left unfinished by the previous run", len(pending))
        return len(pending)


async def mark_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last handler group: the update has been handled (or refused), so it is never replayed."""
    queue = context.application.update_queue
    if isinstance(queue, DurableUpdateQueue) and queue.inbox is not None:
        await queue.inbox.done(update.update_id)
