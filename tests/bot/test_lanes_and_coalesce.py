"""Per-user lanes (FIFO, one polite refusal per flood) and coalesced keyboard edits."""
from __future__ import annotations

import asyncio

import pytest

from bot.coalesce import EditCoalescer
from bot.lanes import Admission, UserLanes


async def test_lanes_run_a_users_photos_in_order_and_refuse_a_flood_once() -> None:
    lanes = UserLanes(max_queued=2)
    order: list[int] = []

    async def photo(n: int) -> None:
        async with lanes.turn(7):
            order.append(n)
            await asyncio.sleep(0.01)

    assert lanes.admit(7) is Admission.ADMITTED and lanes.admit(7) is Admission.ADMITTED
    assert lanes.admit(7) is Admission.REFUSED_WARN  # the flood's first refusal says "slow down"
    assert lanes.admit(7) is Admission.REFUSED_SILENT
    assert lanes.admit(8) is Admission.ADMITTED  # another user is not affected
    await asyncio.gather(photo(1), photo(2))
    assert order == [1, 2] and lanes.queued(7) == 0
    assert lanes.admit(7) is Admission.ADMITTED  # an emptied lane starts afresh


async def test_quick_presses_fold_into_one_edit() -> None:
    coalescer = EditCoalescer(delay=0.05, max_wait=1.0)
    edits: list[int] = []
    state = {"value": 0}
    tasks: list[asyncio.Task[None]] = []

    async def edit() -> None:
        edits.append(state["value"])

    for value in range(1, 6):
        state["value"] = value
        coalescer.request(("chat", 1), edit, lambda c: tasks.append(asyncio.create_task(c)))
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert edits == [5]  # one edit, showing the newest state
    assert coalescer.requests == 5 and coalescer.edits_run == 1 and coalescer.pending() == 0


async def test_a_request_during_an_edit_gets_one_more_edit() -> None:
    coalescer = EditCoalescer()
    release = asyncio.Event()
    edits: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def slow_edit() -> None:
        edits.append("edit")
        await release.wait()

    def spawn(c):  # type: ignore[no-untyped-def]
        tasks.append(asyncio.create_task(c))

    coalescer.request("m", slow_edit, spawn)
    await asyncio.sleep(0)
    for _ in range(3):
        coalescer.request("m", slow_edit, spawn)  # while the first edit is in flight
    release.set()
    await asyncio.gather(*tasks)
    assert edits == ["edit", "edit"] and len(tasks) == 1


@pytest.mark.parametrize("max_queued", [0, -1])
def test_lanes_need_room_for_one(max_queued: int) -> None:
    with pytest.raises(ValueError):
        UserLanes(max_queued)
