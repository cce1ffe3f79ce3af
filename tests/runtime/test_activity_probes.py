"""Activity busy-probes: `idle` is false while a probe reports busy; `wait_idle` re-checks."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from cp.runtime import Activity, VirtualClock

GUARD = 5.0  # seconds: a hang guard only


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_idle_is_false_while_a_probe_reports_busy() -> None:
    activity = Activity()
    busy = [True]
    remove = activity.add_probe(lambda: busy[0])
    assert not activity.idle
    assert activity.probing
    assert activity.count == 0
    busy[0] = False
    assert activity.idle
    assert not activity.probing
    busy[0] = True
    remove()
    assert activity.idle
    remove()  # removing twice does nothing
    assert activity.idle


def test_the_same_function_registered_twice_is_two_probes() -> None:
    activity = Activity()
    busy = [True]

    def probe() -> bool:
        return busy[0]

    first = activity.add_probe(probe)
    activity.add_probe(probe)
    first()
    assert not activity.idle  # the second registration remains


def test_count_and_probes_combine() -> None:
    activity = Activity()
    activity.add_probe(lambda: False)
    activity.acquire()
    assert not activity.idle
    activity.release()
    assert activity.idle


@pytest.mark.anyio
async def test_wait_idle_waits_for_probes_to_turn_false() -> None:
    activity = Activity()
    remaining = [30]

    def probe() -> bool:
        return remaining[0] > 0

    activity.add_probe(probe)
    finished: list[int] = []

    async def work() -> None:
        while remaining[0]:
            remaining[0] -= 1
            await anyio.lowlevel.checkpoint()

    async def waiter() -> None:
        await activity.wait_idle()
        finished.append(remaining[0])

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            tg.start_soon(work)
    assert finished == [0]


@pytest.mark.anyio
async def test_wait_idle_waits_for_the_count_then_for_probes() -> None:
    activity = Activity()
    busy = [True]
    activity.add_probe(lambda: busy[0])
    hold = activity.hold()
    order: list[str] = []

    async def worker() -> None:
        await anyio.lowlevel.checkpoint()
        order.append("release")
        hold.release()
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        order.append("probe-off")
        busy[0] = False

    async def waiter() -> None:
        await activity.wait_idle()
        order.append("idle")

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            tg.start_soon(worker)
    assert order == ["release", "probe-off", "idle"]


@pytest.mark.anyio
async def test_virtual_clock_does_not_jump_while_a_probe_is_busy() -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    pending = [10]
    activity.add_probe(lambda: pending[0] > 0)
    seen: list[int] = []
    clock.call_later(5.0, lambda: seen.append(pending[0]))

    async def work() -> None:
        while pending[0]:
            pending[0] -= 1
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(work)
            await clock.advance(10.0)
    assert seen == [0]
