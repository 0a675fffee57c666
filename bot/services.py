"""Long-lived services of the running bot, kept in `bot_data` and read through typed accessors.

`Services` is created in `post_init` (bot/app.py) and closed in `post_shutdown`; handlers call
`services(context)` instead of poking at `bot_data` keys.
"""
from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from bot.coalesce import EditCoalescer
from bot.journal import SentJournal
from bot.lanes import UserLanes
from votes.registry import ModelRegistry
from votes.store import VoteStore
from bot.personal import AdapterCache
from bot.ptb import BotApplication
from engine.errors import EngineError
from engine.reload import ModelReloader
from engine.search import Engine
from engine.serving import BatchingSearcher
from engine.settings import Settings

SERVICES_KEY = "services"
SETTINGS_KEY = "settings"
EDIT_DELAY_SECONDS = 1.0  # vote presses within this fold into one keyboard edit (bot/coalesce.py)
_MAX_REMEMBERED_ALBUMS = 1024


@dataclass
class Services:
    settings: Settings
    engine: Engine
    searcher: BatchingSearcher
    store: VoteStore
    owns_engine: bool = False
    owns_store: bool = False
    # item_id → Telegram file_id of its photo, once uploaded: later albums reuse it (fast).
    photo_file_ids: dict[int, str] = field(default_factory=dict)
    lanes: UserLanes = field(default_factory=UserLanes)  # one search at a time per user, FIFO
    edits: EditCoalescer = field(default_factory=lambda: EditCoalescer(delay=EDIT_DELAY_SECONDS))
    journal: SentJournal | None = None  # replies already sent, per update (bot/journal.py)
    seen_albums: OrderedDict[str, None] = field(default_factory=OrderedDict)
    rng: random.Random = field(default_factory=random.Random)
    # Model lifecycle (bot/lifecycle.py): hot reloads, the registry, the champion's variant.
    reloader: ModelReloader = field(init=False)
    registry: ModelRegistry = field(init=False)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    judge_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    champion_variant: str | None = None
    sighup_installed: bool = False
    retraining: bool = False  # a scheduled retraining is running (bot/retraining.py)
    adapters: AdapterCache = field(default_factory=AdapterCache)  # personal adapters (bot/personal.py)
    background: set[asyncio.Task[object]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.reloader = ModelReloader(self.engine, self.settings)
        self.registry = ModelRegistry(self.store)

    def first_of_album(self, media_group_id: str) -> bool:
        """True for the first photo of a user's album seen; later ones are ignored."""
        if media_group_id in self.seen_albums:
            return False
        self.seen_albums[media_group_id] = None
        while len(self.seen_albums) > _MAX_REMEMBERED_ALBUMS:
            self.seen_albums.popitem(last=False)
        return True

    def default_variant(self) -> str:
        """The champion's variant when it is served, else the configured default, else the first."""
        variants = self.engine.variants()
        wanted = self.settings.default_variant
        configured = wanted if wanted in variants else variants[0]
        champion = self.champion_variant
        if champion is not None and champion in variants and \
                champion.rpartition("/")[0] != configured.rpartition("/")[0]:
            return champion
        return configured

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    async def variant_of(self, user_id: int) -> str:
        """The user's chosen variant if it still exists, else the default."""
        chosen = await self.store.get_variant(user_id)
        return chosen if chosen in self.engine.variants() else self.default_variant()


def services(context: ContextTypes.DEFAULT_TYPE | Any) -> Services:
    """The running bot's services (raises if post_init has not run)."""
    found = context.bot_data.get(SERVICES_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("bot services are not initialised (post_init did not run)")
    return found


def settings_of(application: BotApplication) -> Settings:
    found = application.bot_data[SETTINGS_KEY]
    if not isinstance(found, Settings):
        raise RuntimeError("the application has no settings (not made by build_application)")
    return found


def job_services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The services a repeating job was scheduled with (its `data`)."""
    found = context.job.data if context.job is not None else None
    if not isinstance(found, Services):
        raise RuntimeError("this job was not scheduled with the bot's services")
    return found


def check_engine_weights(engine: Engine, settings: Settings) -> None:
    """Refuse to serve untrained (random) weights unless the settings allow it (tests only)."""
    random_ones = sorted(name for name, e in engine.embedders.items() if getattr(e, "is_random", False))
    if random_ones and not settings.allow_random_weights:
        raise EngineError(
            f"embedders {random_ones} have random weights; refusing to start the bot. "
            "Set DOPE_ALLOW_RANDOM_WEIGHTS=true only for tests and demos."
        )
