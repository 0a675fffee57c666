"""The bot shows what it searched: the user's photo with the product framed leads the album,
other products found in the photo get "🔍 Item N" buttons, and only the photo's owner may use
them. A really trained localiser and ft:photo embedder (tests/photos/conftest.py) serve it."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from bot import captions
from bot.emulator import FakeUser
from engine.catalog import CatalogStore
from engine.images import load_image
from engine.photos import EVAL_STYLE, background_pool, compose, cut_out
from engine.search import Engine
from engine.settings import Settings
from tests.bot.conftest import TOP_K, keyboard, press_data
from tests.photos.conftest import photo_settings  # noqa: F401  (the session fixture)
from votes.store import VoteStore

VARIANT = "ft:photo/cosine"


@pytest.fixture(scope="session")
def engine_settings(photo_settings: Settings) -> Settings:  # noqa: F811  (overrides tests/bot's)
    return photo_settings


@pytest.fixture(scope="session")
def engine(photo_settings: Settings) -> Engine:  # noqa: F811
    return Engine.from_settings(photo_settings)


def two_product_photo(settings: Settings) -> bytes:
    """A phone-like photo with two catalog products on an evaluation background."""
    style = dataclasses.replace(EVAL_STYLE, distractor=1.0, occlusion=0.0, blur=0.0, scale=(0.3, 0.45))
    with CatalogStore(settings.catalog_path, create=False) as catalog:
        first, second = list(catalog.iter_items())[:2]
        cutouts = [cut_out(load_image(catalog.resolve_image(i)), i.bbox) for i in (first, second)]
    return compose(cutouts[0], background_pool("eval"), np.random.default_rng(3), style, distractor=cutouts[1]).jpeg


def region_buttons(message: dict[str, Any]) -> list[dict[str, str]]:
    return [b for row in keyboard(message) for b in row if b["text"].startswith("🔍")]


async def test_album_leads_with_the_searched_product_and_offers_the_others(
        app: Any, alice: FakeUser, bob: FakeUser, engine: Engine, store: VoteStore,
        photo_settings: Settings) -> None:  # noqa: F811
    photo = two_product_photo(photo_settings)
    expected = engine.search(photo, TOP_K, VARIANT)  # what the bot will find in the same bytes
    assert expected.box is not None
    await alice.send_photo(photo)
    replies = await alice.wait_for_messages(TOP_K + 2, timeout=60)
    lead, album, prompt = replies[0], replies[1 : TOP_K + 1], replies[-1]
    assert lead.get("caption") == captions.SEARCHED_CAPTION and lead.get("photo")
    assert [m.get("media_group_id") for m in album] == [lead.get("media_group_id")] * TOP_K  # one album
    assert [m["caption"].split("\n")[0] for m in album][0]  # the matches follow with their captions
    others = region_buttons(prompt)
    assert len(others) == min(len(expected.regions) - 1, 3)
    assert ("crop the photo" in prompt["text"]) == (not expected.confident)

    # "🔍 Item N" (a real button when the localiser found a second product; the same data otherwise).
    counts = await store.table_counts()
    query_id = counts["queries"]  # alice's search is the only one
    width, height = expected.photo_size  # type: ignore[misc]
    data = others[0]["callback_data"] if others else f"rg:{query_id}:{width // 2},0,{width},{height}"
    box = tuple(float(v) for v in data.split(":")[2].split(","))
    await bob.send_command("/help")
    bobs_message = (await bob.wait_for_messages(1))[0]
    stranger = await press_data(bob, bobs_message, data)  # alice's button data: bob may not search her photo
    assert "gone" in ((await stranger.answered())["text"] or "")
    assert (await store.table_counts())["queries"] == counts["queries"]

    press = await press_data(alice, prompt, data)
    await press.answered()
    # wait_through: everything up to the next vote prompt, however many photos came before it.
    second = await alice.wait_through(lambda m: bool(m.get("reply_markup")) and "photo" not in m, timeout=60)
    assert len(second) == TOP_K + 2 and second[0].get("caption") == captions.SEARCHED_CAPTION
    assert region_buttons(second[-1]) == []  # an explicit region offers no further regions
    wanted = [m.item.id for m in engine.search(photo, TOP_K, VARIANT, box=box)]  # type: ignore[arg-type]
    rows = await store.fetchall("SELECT item_id FROM shown WHERE query_id = ? ORDER BY rank", (query_id + 1,))
    assert [r["item_id"] for r in rows] == wanted
