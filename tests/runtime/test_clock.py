"""The Activity counter and the clocks: virtual time jumps only when idle, deterministically."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from cp.runtime import (
    Activity,
    ActivityError,
    AdvanceReport,
    Clock,
    ClockError,
    RealClock,
    TimerHandle,
    VirtualClock,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await anyio.lowlevel.checkpoint()


# -- Activity ---------------------------------------------------------------------------------


def test_activity_counts_and_refuses_to_go_negative() -> None:
    activity = Activity()
    assert activity.idle
    activity.acquire()
    activity.acquire(2)
    assert activity.count == 3
    assert not activity.idle
    activity.release(3)
    assert activity.idle
    with pytest.raises(ActivityError):
        activity.release()


def test_hold_token_releases_once() -> None:
    activity = Activity()
    token = activity.hold()
    assert activity.count == 1
    token.release()
    assert activity.idle
    assert token.released
    with pytest.raises(ActivityError):
        token.release()
    with activity.hold():
        assert activity.count == 1
    assert activity.idle


@pytest.mark.anyio
async def test_wait_idle_waits_for_zero_and_rechecks() -> None:
    activity = Activity()
    activity.acquire()
    returned = False

    async def waiter() -> None:
        nonlocal returned
        await activity.wait_idle()
        returned = True

    async def hand_over() -> None:
        # Takes a count on the loop turn right after the first one is released.
        await anyio.lowlevel.checkpoint()
        activity.acquire()

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await turns()
        assert not returned
        tg.start_soon(hand_over)
        activity.release()  # touches zero for an instant
        await turns()
        assert not returned, "wait_idle returned although a count was taken a turn later"
        activity.release()
        await turns()
        assert returned


@pytest.mark.anyio
async def test_wait_idle_returns_at_once_when_idle() -> None:
    activity = Activity()
    await activity.wait_idle()
    assert activity.idle


# -- VirtualClock -----------------------------------------------------------------------------


def test_virtual_clock_is_a_clock() -> None:
    clock: Clock = VirtualClock(Activity(), start=10.0)
    assert clock.now() == 10.0
    handle = clock.call_later(1.0, lambda: None)
    assert isinstance(handle, TimerHandle)
    assert not handle.cancelled()
    handle.cancel()
    assert handle.cancelled()


@pytest.mark.anyio
async def test_rearming_an_hour_timer_a_thousand_times() -> None:
    clock = VirtualClock(Activity())
    fired = 0

    def tick() -> None:
        nonlocal fired
        fired += 1
        if fired < 1000:
            clock.call_later(3600.0, tick)

    clock.call_later(3600.0, tick)
    report = await clock.run_until_idle()
    assert fired == 1000
    assert clock.now() == 3600.0 * 1000
    expected = AdvanceReport(elapsed=3600.0 * 1000, fired=1000, converged=True, next_timer=None)
    assert report == expected


@pytest.mark.anyio
async def test_timers_fire_in_time_then_insertion_order() -> None:
    clock = VirtualClock(Activity())
    order: list[tuple[str, float]] = []

    def record(name: str) -> None:
        order.append((name, clock.now()))

    for name, when in [("c", 2.0), ("a", 1.0), ("d", 2.0), ("b", 1.0), ("e", 0.5)]:
        clock.call_at(when, lambda name=name: record(name))  # type: ignore[misc]
    cancelled = clock.call_at(1.0, lambda: record("cancelled"))
    cancelled.cancel()
    assert clock.pending == 5
    report = await clock.advance(10.0)
    assert order == [("e", 0.5), ("a", 1.0), ("b", 1.0), ("c", 2.0), ("d", 2.0)]
    assert report.fired == 5
    assert report.converged
    assert clock.pending == 0


@pytest.mark.anyio
async def test_advance_never_jumps_while_activity_is_held() -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    clock.call_later(60.0, lambda: None)
    token = activity.hold()
    reports: list[AdvanceReport] = []

    async def advance() -> None:
        reports.append(await clock.advance(100.0))

    async with anyio.create_task_group() as tg:
        tg.start_soon(advance)
        await turns(50)
        assert clock.now() == 0.0
        assert not reports
        token.release()
        await turns(50)
        assert clock.now() == 60.0
    assert reports == [AdvanceReport(elapsed=60.0, fired=1, converged=True, next_timer=None)]


@pytest.mark.anyio
async def test_callback_consequences_hold_the_clock() -> None:
    """A timer whose callback takes a count (as a queue add does) stops the next jump."""
    activity = Activity()
    clock = VirtualClock(activity)
    held: list[float] = []

    def start_work() -> None:
        activity.acquire()  # e.g. the work queue's count for the added key
        held.append(clock.now())

    clock.call_at(5.0, start_work)
    clock.call_at(9.0, lambda: None)

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.advance, 100.0)
        await turns(50)
        assert clock.now() == 5.0, "the clock jumped past work started by a timer"
        assert held == [5.0]
        activity.release()
        await turns(50)
        assert clock.now() == 9.0


@pytest.mark.anyio
async def test_horizon_stops_with_the_next_timer_reported() -> None:
    clock = VirtualClock(Activity(), start=100.0)
    clock.call_later(10.0, lambda: None)
    clock.call_later(50.0, lambda: None)
    report = await clock.advance(30.0)
    assert report == AdvanceReport(elapsed=10.0, fired=1, converged=False, next_timer=150.0)
    assert clock.now() == 110.0
    assert clock.next_timer == 150.0
    report = await clock.advance(0.0)
    assert report == AdvanceReport(elapsed=0.0, fired=0, converged=False, next_timer=150.0)
    report = await clock.run_until_idle(horizon=150.0)
    assert report == AdvanceReport(elapsed=40.0, fired=1, converged=True, next_timer=None)


@pytest.mark.anyio
async def test_sleep_wakes_at_virtual_time_and_holds_activity_until_resumed() -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.now())
        await clock.sleep(seconds)
        woke.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper, 30.0)
        tg.start_soon(sleeper, 20.0)
        await turns()
        report = await clock.run_until_idle()
    assert woke == [20.0, 30.0, 40.0, 60.0]
    assert report.fired == 4
    assert activity.idle


@pytest.mark.anyio
async def test_cancelled_sleep_leaves_no_timer_and_no_count() -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    with anyio.CancelScope() as scope:
        scope.cancel()  # cancelled at its first checkpoint: no real deadline involved
        await clock.sleep(10.0)
    assert clock.pending == 0
    assert activity.idle


@pytest.mark.anyio
async def test_past_timers_fire_now_and_misuse_is_refused() -> None:
    clock = VirtualClock(Activity(), start=50.0)
    seen: list[float] = []
    clock.call_at(10.0, lambda: seen.append(clock.now()))
    report = await clock.advance(0.0)
    assert seen == [50.0]
    assert report.fired == 1
    with pytest.raises(ClockError):
        await clock.advance(-1.0)
    with pytest.raises(ClockError):
        clock.call_at(float("nan"), lambda: None)


@pytest.mark.anyio
async def test_concurrent_advance_is_refused() -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    token = activity.hold()
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.advance, 1.0)
        await turns()
        with pytest.raises(ClockError):
            await clock.advance(1.0)
        token.release()


# -- RealClock --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_real_clock_runs_a_due_timer_on_the_loop() -> None:
    clock: Clock = RealClock()
    assert clock.now() <= clock.now()
    fired = anyio.Event()
    handle = clock.call_at(clock.now() - 1.0, fired.set)  # already due: no real waiting
    await fired.wait()
    assert not handle.cancelled()
    clock.call_later(3600.0, fired.set).cancel()
