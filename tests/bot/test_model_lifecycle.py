"""The running bot's model lifecycle through the Bot API emulator: /reload, SIGHUP, file watching,
champion × challenger interleaving with per-match credit, promotion, and hot swaps under load."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application, running
from bot.emulator import BotApiEmulator
from bot.services import Services, services
from engine.embedders.registry import file_sha256
from engine.search import Engine
from engine.settings import Settings
from scripts import build_index
from tests.bot.conftest import TOP_K, bot_settings, button_texts, search_results
from tests.factories import COLOURS, SHAPES, jpeg_bytes, make_catalog, make_projection_model

pytestmark = pytest.mark.timeout(300)
ADMIN, USER = 7, 1001


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """A catalog indexed with random-init (l2), and two versions of ft:a kept aside."""
    data_dir = tmp_path_factory.mktemp("lifecycle")
    make_catalog(data_dir, n=24).close()
    argv = ["--data-dir", str(data_dir), "--embedders", "random-init", "--metrics", "l2",
            "--allow-random-weights", "--workers", "0", "--quiet"]
    assert build_index.main(argv) == 0
    settings = Settings(_env_file=None, data_dir=data_dir, embedders=["random-init"], metrics=["l2"],  # type: ignore[call-arg]
                        allow_random_weights=True, device="cpu")
    aside = tmp_path_factory.mktemp("aside")
    for seed in (1, 2):
        path = make_projection_model(settings, "a", seed=seed)
        shutil.copy(path, aside / f"a{seed}.pt")
        shutil.copy(settings.indexes_dir / "ft--a__l2.idx", aside / f"a{seed}.idx")
    (settings.models_dir / "a.pt").unlink()
    (settings.indexes_dir / "ft--a__l2.idx").unlink()
    return settings, aside


@pytest.fixture
def data(model_files: tuple[Settings, Path], tmp_path: Path) -> Settings:
    """A private copy of the data folder (tests add and swap models in it)."""
    settings, _ = model_files
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return settings.model_copy(update={"data_dir": tmp_path / "data"})


def install(data: Settings, aside: Path, seed: int) -> str:
    """Put version `seed` of ft:a in place (as retrain.py would); returns its sha256."""
    data.models_dir.mkdir(exist_ok=True)
    shutil.copy(aside / f"a{seed}.idx", data.indexes_dir / "ft--a__l2.idx")
    shutil.copy(aside / f"a{seed}.pt", data.models_dir / "a.pt")
    return file_sha256(data.models_dir / "a.pt")


@pytest.fixture
async def bot(emu: BotApiEmulator, data: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Application]:
    extra: dict[str, Any] = {"admin_ids": [ADMIN], "reload_poll_seconds": 0, "interleave_share": 0.0,
                             **getattr(request, "param", {})}
    settings = bot_settings(data, emu, data.data_dir, **extra)
    engine = Engine.from_settings(settings)
    application = build_application(settings, engine=engine)
    try:
        async with running(application, timeout=5):
            yield application
    finally:
        engine.close()


def rows(svc: Services, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(svc.settings.votes_path) as db:
        return db.execute(sql, params).fetchall()


async def test_reload_is_for_admins_and_serves_a_new_checkpoint(emu: BotApiEmulator, bot: Application,
                                                                model_files: tuple[Settings, Path]) -> None:
    svc = services(bot)
    install(svc.settings, model_files[1], 1)
    user, admin = emu.user(USER), emu.user(ADMIN)
    await user.send_command("reload")
    assert "for the bot's admins" in (await user.wait_for_messages(1))[0]["text"]
    assert "ft:a/l2" not in svc.engine.variants()
    await admin.send_command("reload")
    reply = (await admin.wait_for_messages(1))[0]["text"]
    assert "registered ft:a" in reply and "loaded ft:a" in reply
    assert "ft:a/l2" in svc.engine.variants() and await svc.registry.challenger() == "ft:a"
    await admin.send_command("models")
    report = (await admin.wait_for_messages(1))[0]["text"]
    assert "ft:a: challenger" in report and "random-init: champion" in report
    assert "new checkpoint found in models/" in report


async def test_sighup_reloads(bot: Application, model_files: tuple[Settings, Path]) -> None:
    svc = services(bot)
    assert svc.sighup_installed
    install(svc.settings, model_files[1], 1)
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(200):
        if "ft:a/l2" in svc.engine.variants():
            break
        await asyncio.sleep(0.05)
    assert "ft:a/l2" in svc.engine.variants()


@pytest.mark.parametrize("bot", [{"reload_poll_seconds": 0.2}], indirect=True)
async def test_file_watching_swaps_in_a_changed_model(bot: Application, model_files: tuple[Settings, Path]) -> None:
    svc = services(bot)
    first = install(svc.settings, model_files[1], 1)

    async def served_version() -> str | None:
        for _ in range(100):
            if "ft:a" in svc.engine.embedders:
                version = svc.engine.models.current.version_of("ft:a")
                if version == wanted:
                    return version
            await asyncio.sleep(0.05)
        return None

    wanted = first
    assert await served_version() == first
    wanted = install(svc.settings, model_files[1], 2)
    assert await served_version() == wanted != first
    (svc.settings.models_dir / "a.pt").write_bytes(b"not a checkpoint")  # broken: refused, old keeps serving
    await asyncio.sleep(1.0)
    assert svc.engine.models.current.version_of("ft:a") == wanted


@pytest.mark.parametrize("bot", [{"interleave_share": 1.0, "promotion_min_comparisons": 6}], indirect=True)
async def test_interleaved_albums_credit_each_match_and_promote_the_winner(
        emu: BotApiEmulator, bot: Application, model_files: tuple[Settings, Path]) -> None:
    svc = services(bot)
    install(svc.settings, model_files[1], 1)
    admin, user = emu.user(ADMIN), emu.user(USER)
    await admin.send_command("reload")
    await admin.wait_for_messages(1)
    colours = list(COLOURS)
    for n in range(12):
        album, board = await search_results(user, jpeg_bytes(SHAPES[n % 4], colours[n % 8], 96, 100 + n))
        assert "blind mix of two models" in board["text"]
        (query_id,) = rows(svc, "SELECT MAX(query_id) FROM queries")[0]
        credit = rows(svc, "SELECT rank, variant FROM shown WHERE query_id = ? ORDER BY rank", (query_id,))
        assert {v for _, v in credit} <= {"random-init/l2", "ft:a/l2"} and len(credit) == TOP_K
        # this user likes exactly what the challenger brought
        for rank, variant in credit:
            await (await user.press(board, f"#{rank} {'👍' if variant == 'ft:a/l2' else '👎'}")).answered()
        if await svc.registry.champion() == "ft:a":
            break
    assert await svc.registry.champion() == "ft:a"
    assert (await svc.registry.get("random-init")).stage == "retired"  # type: ignore[union-attr]
    counts = {(v, s): (c.up, c.down) for c in await svc.store.leaderboard_counts() for v, s in [(c.variant, c.source)]}
    assert counts[("ft:a/l2", "search")][1] == 0 and counts[("random-init/l2", "search")][0] == 0
    note = await admin.wait_for(lambda m: "ft:a is now champion" in (m.get("text") or ""))
    assert "won 6, lost 0" in note["text"]
    assert svc.default_variant() == "ft:a/l2"  # new users now search with the champion
    await user.send_command("leaderboard")
    board = (await user.wait_for_messages(1))[0]["text"]
    assert "Interleaving" in board


async def test_twenty_users_search_and_vote_through_ten_hot_swaps(
        emu: BotApiEmulator, bot: Application, model_files: tuple[Settings, Path]) -> None:
    """0 queries or votes lost, and every album's matches are exactly what the model version it
    was recorded with returns for that photo."""
    svc = services(bot)
    aside = model_files[1]
    versions = {}
    colours = list(COLOURS)
    photos = [jpeg_bytes(SHAPES[i % 4], colours[i % 8], 96, 200 + i) for i in range(20)]
    expected: dict[str, list[list[int]]] = {}
    for seed in (1, 2):
        version = install(svc.settings, aside, seed)
        versions[seed] = version
        assert "ft:a" in (await _reload(svc)).loaded
        expected[version] = [[int(m.item.id or 0) for m in svc.engine.search(p, TOP_K, "ft:a/l2")] for p in photos]
    users = [emu.user(9000 + i) for i in range(20)]
    for user in users:
        await svc.store.set_variant(user.id, "ft:a/l2")
    rounds = 2

    async def one_user(number: int) -> int:
        user, pressed = users[number], 0
        for _ in range(rounds):
            _, board = await search_results(user, photos[number], timeout=60)
            for rank in range(1, TOP_K + 1):
                await (await user.press(board, f"#{rank} {'👍' if rank % 2 else '👎'}")).answered(timeout=30)
                pressed += 1
        return pressed

    async def swapper() -> int:
        while len(rows(svc, "SELECT 1 FROM queries WHERE user_id >= 9000")) < 3:  # users are busy
            await asyncio.sleep(0.02)
        swaps = 0
        for n in range(10):
            install(svc.settings, aside, 1 + n % 2)
            swaps += "ft:a" in (await _reload(svc)).loaded
            await asyncio.sleep(0.1)
        return swaps

    *pressed, swaps = await asyncio.gather(*(one_user(i) for i in range(20)), swapper())
    assert swaps == 10
    queries = rows(svc, "SELECT q.query_id, q.user_id, q.model_version FROM queries q WHERE q.user_id >= 9000")
    assert len(queries) == 20 * rounds  # no query lost
    served = [version for _, _, version in queries]
    assert set(served) == set(versions.values())  # both versions answered during the run
    wrong = []
    for query_id, user_id, version in queries:
        shown = [r[0] for r in rows(svc, "SELECT item_id FROM shown WHERE query_id = ? ORDER BY rank", (query_id,))]
        if shown != expected[version][user_id - 9000]:
            wrong.append(query_id)
    assert wrong == []  # no album credited to a model version that did not rank it
    (votes,) = rows(svc, "SELECT COUNT(*) FROM votes WHERE user_id >= 9000")[0]
    assert votes == sum(pressed) == 20 * rounds * TOP_K  # no vote lost


async def _reload(svc: Services) -> Any:
    from bot.lifecycle import discover_checkpoints, reload_models

    await discover_checkpoints(svc)
    return await reload_models(svc, "test")


@pytest.mark.timeout(600)  # retraining runs in a worker thread: slow on a busy 2-core machine
@pytest.mark.parametrize("bot", [{"retrain_interval_hours": 0.0005, "retrain_min_votes": 12}], indirect=True)
async def test_scheduled_retraining_enters_a_challenger_without_a_restart(emu: BotApiEmulator,
                                                                          bot: Application) -> None:
    svc = services(bot)
    user = emu.user(USER)
    colours = list(COLOURS)
    for n in range(6):  # 24 votes: this user likes matches of the photo's colour family
        _, board = await search_results(user, jpeg_bytes(SHAPES[n % 4], colours[n % 8], 96, 300 + n))
        for rank in range(1, TOP_K + 1):
            await (await user.press(board, f"#{rank} {'👍' if rank <= 2 else '👎'}")).answered()
    for _ in range(4000):  # the job fires every 1.8 s; training runs in a worker thread
        challenger = await svc.registry.challenger()
        if challenger and f"{challenger}/l2" in svc.engine.variants():
            break
        await asyncio.sleep(0.1)
    assert challenger and challenger.startswith("ft:votes-"), (await svc.store.table_counts())["votes"]
    assert f"{challenger}/l2" in svc.engine.variants()
    events = await svc.registry.events()
    assert any(e.name == challenger and "retrained from" in e.reason for e in events)


@pytest.mark.parametrize("bot", [{"personal_min_votes": 4, "personal_candidates": 50}], indirect=True)
async def test_personal_adapter_is_served_live_and_forgotten(emu: BotApiEmulator, bot: Application,
                                                             model_files: tuple[Settings, Path]) -> None:
    import numpy as np

    from engine.feedback.personal import Adapter, UserAdapters, adapters_path, rerank

    svc = services(bot)
    install(svc.settings, model_files[1], 1)
    admin, user, other = emu.user(ADMIN), emu.user(USER), emu.user(USER + 1)
    await admin.send_command("reload")
    await admin.wait_for_messages(1)
    base_dim = svc.engine.embedders["random-init"].dim
    weight = np.zeros((4, base_dim), np.float32)
    weight[np.arange(4), np.arange(4)] = 1  # this user cares about four base features, and colour
    adapter = Adapter(weight, np.zeros(4, np.float32), appearance_weight=2.0)
    UserAdapters({USER: adapter}, base="random-init").save(adapters_path(svc.settings.models_dir / "a.pt"))
    for person in (user, other):
        await svc.store.set_variant(person.id, "ft:a/l2")
    await user.send_command("variant")
    assert "Personal results: off" in (await user.wait_for_messages(1))[0]["text"]
    photo = jpeg_bytes("bar", "teal", 96, 400)
    for person in (user, other):  # four votes each: enough for the user, no adapter for the other
        _, board = await search_results(person, photo)
        for rank in range(1, TOP_K + 1):
            await (await person.press(board, f"#{rank} 👍")).answered()
    await user.send_command("variant")
    status = (await user.wait_for_messages(1))[0]["text"]
    assert "Personal results: ON" in status and "colour matters to you" in status
    ids = np.asarray(svc.engine.catalog.ids(), np.int64)
    stored = svc.engine.stored_vectors("random-init/l2", ids.tolist())
    searched = svc.engine.search(photo, 1, "random-init/l2")
    expected = rerank(adapter, searched.vector, ids, stored, TOP_K, query_appearance=searched.appearance,
                      stored_appearance=svc.engine.appearance_of(ids.tolist()))[0].tolist()
    assert expected != rerank(Adapter(weight, adapter.bias), searched.vector, ids, stored, TOP_K)[0].tolist()
    for person in (user, other):
        await search_results(person, photo)
    latest = rows(svc, "SELECT user_id, variant, embedder, query_id, query_appearance FROM queries WHERE query_id IN "
                       "(SELECT MAX(query_id) FROM queries GROUP BY user_id)")
    by_user = {u: (variant, embedder, qid) for u, variant, embedder, qid, _ in latest}
    colours = {u: np.frombuffer(blob, np.float32) for u, *_, blob in latest}
    assert np.allclose(colours[USER], searched.appearance)  # the searched product's colour is recorded
    assert by_user[USER][:2] == ("ft:a+personal/l2", "random-init")  # labelled, base feature stored
    assert by_user[USER + 1][0] == "ft:a/l2"  # everybody else: unchanged
    shown = [r[0] for r in rows(svc, "SELECT item_id FROM shown WHERE query_id = ? ORDER BY rank", (by_user[USER][2],))]
    assert shown == expected  # 50 candidates ≥ 24 items: the re-rank is exact here
    await user.send_command("forget")
    prompt = (await user.wait_for_messages(1))[0]
    await (await user.press(prompt, "🗑 Yes, delete my data")).answered()
    await user.wait_for(lambda m: "deleted" in (m.get("text") or ""))
    assert not UserAdapters.load(adapters_path(svc.settings.models_dir / "a.pt")).has(USER)


@pytest.mark.parametrize("bot", [{"interleave_share": 1.0}], indirect=True)
async def test_a_variant_unloaded_mid_search_still_answers(emu: BotApiEmulator, bot: Application,
                                                           model_files: tuple[Settings, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The challenger is retired between choosing the interleaved pair and searching it."""
    from bot import interleave
    from bot.lifecycle import reload_models

    svc = services(bot)
    install(svc.settings, model_files[1], 1)
    await _reload(svc)
    user = emu.user(USER)
    chosen = await interleave.arms(svc, user.id)
    assert chosen == ("random-init/l2", "ft:a/l2")
    await svc.registry.move("ft:a", "retired", "test: retired mid-search")
    await reload_models(svc, "test")
    assert "ft:a/l2" not in svc.engine.variants()

    async def stale_arms(*_: Any) -> tuple[str, str]:
        return chosen  # what was true a moment ago

    monkeypatch.setattr(interleave, "arms", stale_arms)
    album, board = await search_results(user, jpeg_bytes("disc", "blue", 96, 500))
    assert len(album) == TOP_K and "random-init/l2" in board["text"]
