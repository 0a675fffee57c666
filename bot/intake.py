"""Durable intake: no update is lost when the bot dies, whether it polls or receives webhooks.

python-telegram-bot's Updater puts each update into `application.update_queue` before it
acknowledges it to Telegram: polling confirms a batch only with the *next* getUpdates call, and
the webhook server answers 200 only after `put` returns. `DurableUpdateQueue.put` therefore
stores the update in the inbox (committed) first, so by the time Telegram forgets an update, it is
on disk. A redelivered update that is already in the inbox is dropped. `mark_done` (a handler
in the last group) marks it handled; `replay_unfinished` (at start-up) puts back what a crash left
pending, once. `TolerantBot` keeps one unparseable update from stalling polling.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, ExtBot
from telegram.request import HTTPXRequest

from votes.inbox import UpdateInbox

logger = logging.getLogger(__name__)

DONE_GROUP = 100  # after every feature handler (group 0): runs when the update was handled


class InboxNotReady(RuntimeError):
    """An update arrived before `attach()` (post_init) gave the queue its inbox."""


class DurableUpdateQueue(asyncio.Queue[object]):
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


class TolerantBot(ExtBot[None]):
    """An ExtBot whose getUpdates survives an update python-telegram-bot cannot parse.

    PTB parses a getUpdates batch as a whole: one update it cannot read (a newer Bot API shape, a
    malformed payload) fails the batch, the offset never advances and the bot stalls on it
    forever. Here such an update is logged once and replaced by a bare `{"update_id": …}`, so it
    is stored, marked done and confirmed like any other, and the updates behind it flow on.
    """

    async def _do_post(self, endpoint: str, data: dict[str, Any], **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [self._parseable(raw) for raw in result]
        return result

    def _parseable(self, raw: Any) -> Any:
        try:
            Update.de_json(raw, self)
        except Exception as error:  # any parse failure: PTB raises TypeError, KeyError, ValueError...
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            logger.warning("update %s cannot be parsed (%s: %s); skipping it", update_id, type(error).__name__, error)
            return {"update_id": update_id}
        return raw


def tolerant_bot(token: str, base_url: str, base_file_url: str, rate_limiter: Any | None) -> TolerantBot:
    """The bot with the request pools ApplicationBuilder would give it (256 connections, 1 for polling)."""
    return TolerantBot(token=token, base_url=base_url, base_file_url=base_file_url,
                       request=HTTPXRequest(connection_pool_size=256),
                       get_updates_request=HTTPXRequest(connection_pool_size=1), rate_limiter=rate_limiter)
