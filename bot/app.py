"""All wiring of the Telegram bot: `build_application(settings)` returns a ready PTB Application.

Services (engine, batching searcher, vote store) are created in `post_init` and closed in
`post_shutdown`, unless the caller injects them (tests share one engine across applications).
The only difference between production and the local emulator is settings.telegram_base_url
and settings.telegram_base_file_url.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import torch
from telegram import BotCommand, Update
from telegram.ext import (
    ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler,
    filters,
)

from bot.commands import BOT_COMMANDS
from bot.handlers import account, admin, errors, fallback, game, leaderboard, search, start, variants, votes
from bot.health import HealthServer
from bot.intake import DONE_GROUP, DurableUpdateQueue, mark_done, tolerant_bot
from bot.journal import SentJournal
from bot.lanes import UserLanes
from bot.lifecycle import ensure_champion, install_sighup, reload_models, remove_sighup, start_watching
from bot.pacing import TelegramPacer
from bot.retraining import start_retraining
from bot.serve import running as running  # re-exported: tests, demo and benchmark import it from here
from bot.services import SERVICES_KEY, SETTINGS_KEY, Services, check_engine_weights
from bot.ptb import BotApplication
from votes.store import VoteStore
from votes.inbox import UpdateInbox
from engine.search import Engine
from engine.serving import BatchingSearcher
from engine.settings import Settings

logger = logging.getLogger(__name__)

_INJECTED_KEY = "injected"
_HEALTH_KEY = "health"


class ConfigError(RuntimeError):
    """The bot cannot start with these settings (the message says what to set)."""


def build_application(settings: Settings, *, engine: Engine | None = None,
                      vote_store: VoteStore | None = None) -> BotApplication:
    """The bot, configured from `settings`; inject `engine`/`vote_store` to share or reuse them."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env")
    bot = tolerant_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_base_url,
                       settings.telegram_base_file_url,
                       TelegramPacer() if settings.bot_rate_limiter else None)  # per-chat and global pacing
    builder = (
        ApplicationBuilder()
        .bot(bot)  # survives unparseable updates (bot/intake.py)
        .concurrent_updates(True)  # many users at once; the engine batches their photos
        .update_queue(DurableUpdateQueue())  # stored before Telegram hears it arrived (bot/intake.py)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    application = builder.build()
    application.bot_data[SETTINGS_KEY] = settings
    application.bot_data[_INJECTED_KEY] = (engine, vote_store)
    _add_handlers(application)
    return application


def _add_handlers(app: BotApplication) -> None:
    """One group; inside it the first matching handler wins, so the ORDER below matters."""
    messages = filters.UpdateType.MESSAGE  # edited messages are ignored
    # 1. Commands.
    app.add_handler(CommandHandler(["start", "help"], start.start))
    app.add_handler(CommandHandler("variant", variants.show))
    app.add_handler(CommandHandler("play", game.play))
    app.add_handler(CommandHandler("leaderboard", leaderboard.show))
    app.add_handler(CommandHandler("stats", account.stats))
    app.add_handler(CommandHandler("export", account.export))
    app.add_handler(CommandHandler("forget", account.forget))
    app.add_handler(CommandHandler("reload", admin.reload))  # admins only (settings.admin_ids)
    app.add_handler(CommandHandler("models", admin.models))  # admins only
    app.add_handler(CommandHandler("retrain", admin.retrain))  # admins only
    # 2. Searchable images: photos, and JPEG/PNG/WebP sent as files (before the document fallback).
    app.add_handler(MessageHandler(messages & (filters.PHOTO | search.ImageDocument()), search.photo))
    # 3. Buttons, routed by their callback prefix (each handler validates the full data).
    app.add_handler(CallbackQueryHandler(votes.vote, pattern=r"^v:"))
    app.add_handler(CallbackQueryHandler(game.game_vote, pattern=r"^g:"))
    app.add_handler(CallbackQueryHandler(game.play, pattern=r"^gn$"))
    app.add_handler(CallbackQueryHandler(variants.pick, pattern=r"^var:"))
    app.add_handler(CallbackQueryHandler(account.forget_confirm, pattern=r"^fg:"))
    app.add_handler(CallbackQueryHandler(search.region, pattern=r"^rg:"))
    # 4. Fallbacks last: unknown commands, then any other message, then any other button.
    app.add_handler(MessageHandler(messages & filters.COMMAND, fallback.unknown_command))
    app.add_handler(MessageHandler(messages, fallback.unsupported))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
    app.add_error_handler(errors.on_error)
    # 5. A later group runs after group 0 finished (or failed): the update is done, never replayed.
    app.add_handler(TypeHandler(Update, mark_done), group=DONE_GROUP)


async def _post_init(app: BotApplication) -> None:
    """Create (or adopt injected) services, then publish the command menu."""
    settings: Settings = app.bot_data[SETTINGS_KEY]
    engine, store = app.bot_data[_INJECTED_KEY]
    owns_engine, owns_store = engine is None, store is None
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)  # process-wide: per forward (searcher workers)
    if engine is None:
        engine = await asyncio.to_thread(Engine.from_settings, settings)  # loads torch: off the loop
    check_engine_weights(engine, settings)
    if store is None:
        store = VoteStore(settings.votes_path)
        await store.initialize()
    searcher = BatchingSearcher(engine, window_ms=settings.batch_window_ms, max_batch=settings.batch_max_queries,
                                workers=settings.search_workers)
    await searcher.initialize()
    journal = SentJournal(Path(store.path).with_suffix(".sent")) if store.path != ":memory:" else None
    svc = Services(settings, engine, searcher, store, owns_engine, owns_store,
                   lanes=UserLanes(settings.bot_photos_per_user), journal=journal)
    app.bot_data[SERVICES_KEY] = svc
    # The registry decides what is served beyond settings.embedders: load its models, then watch.
    await ensure_champion(svc)
    await reload_models(svc, "start-up")
    start_watching(app, svc)
    start_retraining(app, svc)
    install_sighup(svc)
    if isinstance(app.update_queue, DurableUpdateQueue):
        inbox = UpdateInbox(store)
        await inbox.prune()  # finished updates older than a week: Telegram may reuse their ids
        app.update_queue.attach(inbox)
        await app.update_queue.replay_unfinished(app.bot)  # handled once app.start() runs
    if settings.health_port is not None:
        health = app.bot_data[_HEALTH_KEY] = HealthServer(app, settings.webhook_listen, settings.health_port)
        await health.start()
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in BOT_COMMANDS])
    app.bot_data["started"] = True
    logger.info("bot ready: variants %s, votes in %s", engine.variants(), store.path)


async def _post_shutdown(app: BotApplication) -> None:
    """Close what post_init created (injected services belong to the caller)."""
    health = app.bot_data.pop(_HEALTH_KEY, None)
    if isinstance(health, HealthServer):
        await health.stop()
    svc = app.bot_data.pop(SERVICES_KEY, None)
    if not isinstance(svc, Services):
        return
    remove_sighup(svc)
    for task in list(svc.background):
        task.cancel()
    await svc.searcher.shutdown()
    if svc.journal is not None:
        svc.journal.close()
    if svc.owns_store:
        await svc.store.shutdown()
    if svc.owns_engine:
        svc.engine.close()
