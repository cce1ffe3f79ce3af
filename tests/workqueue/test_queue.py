"""The work queue's guarantees (cp.workqueue.queue docstring), on the virtual clock."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cp.runtime import Activity, VirtualClock
from cp.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    NotProcessing,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def activity() -> Activity:
    return Activity()


@pytest.fixture
def clock(activity: Activity) -> VirtualClock:
    return VirtualClock(activity)


@pytest.fixture
def queue(clock: VirtualClock, activity: Activity) -> WorkQueue[str]:
    return WorkQueue(clock=clock, activity=activity, name="test")


async def turns(n: int = 20) -> None:
    for _ in range(n):
        await anyio.lowlevel.checkpoint()


# -- basic semantics --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fifo_and_readds_collapse(queue: WorkQueue[str]) -> None:
    for key in ["a", "b", "a", "c", "b", "a"]:
        queue.add(key)
    assert len(queue) == 3
    assert queue.len() == 3
    got = [await queue.get() for _ in range(3)]
    assert got == ["a", "b", "c"]
    for key in got:
        queue.done(key)
    assert len(queue) == 0
    assert queue.processing == 0


@pytest.mark.anyio
async def test_readd_while_processing_is_processed_once_more(queue: WorkQueue[str]) -> None:
    queue.add("a")
    key = await queue.get()
    for _ in range(5):
        queue.add("a")
    assert len(queue) == 0, "a key being processed must not be handed out again"
    queue.add("b")
    assert await queue.get() == "b"
    queue.done("b")
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 0
    with pytest.raises(NotProcessing):
        queue.done("a")


@pytest.mark.anyio
async def test_getters_are_served_in_order(queue: WorkQueue[str]) -> None:
    served: list[tuple[int, str]] = []

    async def getter(n: int) -> None:
        served.append((n, await queue.get()))

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(getter, n)
            await turns(2)
        for key in ["x", "y", "z"]:
            queue.add(key)
    assert served == [(0, "x"), (1, "y"), (2, "z")]


@pytest.mark.anyio
async def test_cancelled_getter_passes_its_wakeup_on(queue: WorkQueue[str]) -> None:
    """A getter cancelled after its wake-up (asyncio's task.cancel) must not lose the key."""
    first = asyncio.create_task(queue.get())
    await turns()
    second = asyncio.create_task(queue.get())
    await turns()
    queue.add("k")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it takes the key
    await turns()
    assert first.cancelled()
    assert second.done()
    assert second.result() == "k"


# -- 50 concurrent workers --------------------------------------------------------------------


@pytest.mark.anyio
async def test_fifty_workers_never_share_a_key(queue: WorkQueue[str], activity: Activity) -> None:
    """No key in two workers at once, no add lost, and never more runs than adds."""
    rng = random.Random(7)
    keys = [f"k{i}" for i in range(20)]
    in_flight: set[str] = set()
    starts: Counter[str] = Counter()
    adds: Counter[str] = Counter()
    step = itertools.count()
    last_add: dict[str, int] = {}
    last_start: dict[str, int] = {}
    overlaps: list[str] = []

    def add(key: str) -> None:
        adds[key] += 1
        last_add[key] = next(step)
        queue.add(key)

    async def worker() -> None:
        async for key in queue:
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
            starts[key] += 1
            last_start[key] = next(step)
            for _ in range(rng.randrange(1, 5)):
                await anyio.lowlevel.checkpoint()
                if rng.random() < 0.3:
                    add(rng.choice(keys))
            in_flight.discard(key)
            queue.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(worker)
        for _ in range(10):
            for key in keys:
                add(key)
            await turns(3)
        await activity.wait_idle()
        assert len(queue) == 0
        assert queue.processing == 0
        queue.shut_down()
    assert not overlaps
    assert set(starts) == set(keys)
    assert all(last_start[key] > last_add[key] for key in keys), "an add was lost"
    assert all(starts[key] <= adds[key] for key in keys)
    assert sum(starts.values()) < sum(adds.values()), "re-adds never collapsed"
    assert activity.idle


@pytest.mark.anyio
async def test_many_workers_process_a_burst_exactly_once(
    queue: WorkQueue[str], activity: Activity
) -> None:
    processed: list[str] = []

    async def worker() -> None:
        async for key in queue:
            await anyio.lowlevel.checkpoint()
            processed.append(key)
            queue.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(worker)
        await turns()
        for i in range(500):
            queue.add(f"k{i % 200}")  # 300 re-adds collapse
        await activity.wait_idle()
        queue.shut_down()
    assert sorted(processed) == sorted(f"k{i}" for i in range(200))


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.sampled_from("abcd")),
            st.tuples(st.just("get"), st.just("")),
            st.tuples(st.just("done"), st.integers(0, 3)),
        ),
        max_size=60,
    )
)
def test_queue_matches_a_model(ops: list[tuple[str, str | int]]) -> None:
    """Random add/get/done sequences against a plain model of queue.go's sets."""
    activity = Activity()
    queue: WorkQueue[str] = WorkQueue(clock=VirtualClock(activity), activity=activity)
    order: list[str] = []  # model: queued keys, FIFO
    dirty: set[str] = set()
    processing: list[str] = []
    for op, arg in ops:
        if op == "add":
            assert isinstance(arg, str)
            queue.add(arg)
            if arg not in dirty:
                dirty.add(arg)
                if arg not in processing:
                    order.append(arg)
        elif op == "get" and order:
            key = _get_now(queue)
            assert key == order.pop(0)
            dirty.discard(key)
            processing.append(key)
        elif op == "done" and processing:
            assert isinstance(arg, int)
            key = processing.pop(arg % len(processing))
            queue.done(key)
            if key in dirty:
                order.append(key)
        assert len(queue) == len(order)
        assert queue.processing == len(processing)
        assert activity.count == len(dirty | set(processing))


def _get_now(queue: WorkQueue[str]) -> str:
    """Run `queue.get()` when a key is queued: it returns without suspending."""
    coro = queue.get()
    try:
        coro.send(None)
    except StopIteration as stop:
        key: str = stop.value
        return key
    coro.close()
    raise AssertionError("get() suspended although a key was queued")


# -- activity ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_activity_counts_queued_and_processing_keys(
    queue: WorkQueue[str], activity: Activity
) -> None:
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert activity.count == 2
    key = await queue.get()
    assert activity.count == 2  # one queued, one processing
    queue.add(key)  # re-added while processing: still one count for it
    assert activity.count == 2
    queue.done(key)  # re-queued: the count carries over
    assert activity.count == 2
    for _ in range(2):
        queue.done(await queue.get())
    assert activity.idle
    queue.add_after("c", 5.0)
    assert activity.idle, "a delayed add is a timer, not activity"


# -- delayed adds -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_add_after_on_virtual_time_keeps_the_earliest(
    queue: WorkQueue[str], clock: VirtualClock
) -> None:
    arrivals: list[tuple[str, float]] = []

    async def worker() -> None:
        async for key in queue:
            arrivals.append((key, clock.now()))
            queue.done(key)

    queue.add_after("a", 10.0)
    queue.add_after("a", 30.0)  # later: ignored
    queue.add_after("b", 20.0)
    queue.add_after("b", 5.0)  # earlier: wins
    queue.add_after("c", 0.0)  # at once
    assert queue.waiting == 2
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        report = await clock.run_until_idle()
        queue.shut_down()
    assert arrivals == [("c", 0.0), ("b", 5.0), ("a", 10.0)]
    assert report.converged
    assert report.fired == 2


@pytest.mark.anyio
async def test_cancel_after_drops_only_that_keys_timer(
    queue: WorkQueue[str], clock: VirtualClock
) -> None:
    arrivals: list[tuple[str, float]] = []

    async def worker() -> None:
        async for key in queue:
            arrivals.append((key, clock.now()))
            queue.done(key)

    queue.add_after("a", 10.0)
    queue.add_after("b", 20.0)
    assert queue.cancel_after("a")
    assert not queue.cancel_after("a")
    assert not queue.cancel_after("never-added")
    assert queue.waiting == 1
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        report = await clock.run_until_idle()
        queue.shut_down()
    assert arrivals == [("b", 20.0)]
    assert report.fired == 1
    assert clock.pending == 0


@pytest.mark.anyio
async def test_add_after_key_is_not_available_before_its_time(
    queue: WorkQueue[str], clock: VirtualClock
) -> None:
    arrivals: list[float] = []

    async def worker() -> None:
        async for key in queue:
            arrivals.append(clock.now())
            queue.done(key)

    queue.add_after("a", 10.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        report = await clock.run_until_idle(horizon=9.999)
        assert arrivals == []
        assert report.next_timer == 10.0
        assert clock.now() == 0.0, "time moves to timers, not to the horizon"
        report = await clock.run_until_idle(horizon=10.0)
        assert arrivals == [10.0]
        assert report.converged
        queue.shut_down()


@pytest.mark.anyio
async def test_clock_waits_for_a_delayed_key_to_be_processed(
    queue: WorkQueue[str], clock: VirtualClock
) -> None:
    """The timer's add takes its count before the clock lets go: no jump mid-reconcile."""
    seen: list[tuple[str, float]] = []

    async def worker() -> None:
        async for key in queue:
            seen.append(("start", clock.now()))
            await turns(30)  # a slow reconcile, many loop turns long
            seen.append(("end", clock.now()))
            queue.done(key)

    queue.add_after("a", 5.0)
    clock.call_at(6.0, lambda: seen.append(("timer", clock.now())))
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await clock.run_until_idle()
        queue.shut_down()
    assert seen == [("start", 5.0), ("end", 5.0), ("timer", 6.0)]


# -- rate limiting ----------------------------------------------------------------------------


def test_exponential_backoff_grows_caps_and_forgets() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(25)]
    assert delays[:5] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18:] == [1000.0] * 7
    assert limiter.num_requeues("a") == 25
    assert limiter.when("b") == 0.005
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.005
    for _ in range(2000):
        limiter.when("a")
    assert limiter.when("a") == 1000.0


def test_bucket_limits_overall_rate_on_the_injected_clock() -> None:
    clock = VirtualClock(Activity())
    bucket: BucketRateLimiter[str] = BucketRateLimiter(clock, qps=10.0, burst=100)
    assert [bucket.when(f"k{i}") for i in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)


@pytest.mark.anyio
async def test_bucket_refills_as_virtual_time_passes() -> None:
    clock = VirtualClock(Activity())
    bucket: BucketRateLimiter[str] = BucketRateLimiter(clock, qps=10.0, burst=2)
    assert [bucket.when("k") for _ in range(3)] == [0.0, 0.0, pytest.approx(0.1)]
    clock.call_later(1.0, lambda: None)
    await clock.run_until_idle()
    assert bucket.when("k") == 0.0  # refilled (capped at the burst)
    assert bucket.when("k") == 0.0
    assert bucket.when("k") == pytest.approx(0.1)


def test_default_limiter_is_the_max_of_both() -> None:
    clock = VirtualClock(Activity())
    limiter: MaxOfRateLimiter[str] = default_controller_rate_limiter(clock)
    assert limiter.when("a") == 0.005  # bucket has tokens: per-key backoff decides
    for i in range(99):
        limiter.when(f"k{i}")
    assert limiter.when("b") == pytest.approx(0.1)  # bucket empty: it decides
    assert limiter.num_requeues("a") == 1
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


@pytest.mark.anyio
async def test_add_rate_limited_backs_off_per_key(
    queue: WorkQueue[str], clock: VirtualClock
) -> None:
    arrivals: list[float] = []

    async def failing_worker() -> None:
        async for key in queue:
            arrivals.append(clock.now())
            if len(arrivals) < 5:
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            queue.done(key)

    queue.add("a")
    async with anyio.create_task_group() as tg:
        tg.start_soon(failing_worker)
        report = await clock.run_until_idle()
        queue.shut_down()
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(arrivals)]
    assert gaps == [0.005, 0.01, 0.02, 0.04]
    assert report.converged
    assert queue.num_requeues("a") == 0


# -- shutdown ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_shut_down_wakes_getters_and_releases_counts(
    queue: WorkQueue[str], activity: Activity, clock: VirtualClock
) -> None:
    errors: list[BaseException] = []

    async def getter() -> None:
        try:
            await queue.get()
        except ShutDown as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(getter)
        await turns()
        queue.shut_down()
    assert len(errors) == 3
    queue.add("a")
    queue.add_after("b", 1.0)
    assert len(queue) == 0
    assert clock.pending == 0
    assert activity.idle
    with pytest.raises(ShutDown):
        await queue.get()


@pytest.mark.anyio
async def test_shut_down_drops_queued_and_delayed_keys(
    queue: WorkQueue[str], activity: Activity, clock: VirtualClock
) -> None:
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 5.0)
    key = await queue.get()
    queue.add(key)  # dirty while processing
    queue.shut_down()
    assert activity.count == 1  # only the key being processed
    assert clock.pending == 0
    queue.done(key)  # not re-queued after shutdown
    assert activity.idle
    assert len(queue) == 0


@pytest.mark.anyio
async def test_shut_down_with_drain_waits_for_in_flight(
    queue: WorkQueue[str], activity: Activity
) -> None:
    queue.add("a")
    queue.add("b")
    first = await queue.get()
    second = await queue.get()
    drained = False

    async def drain() -> None:
        nonlocal drained
        await queue.shut_down_with_drain()
        drained = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(drain)
        await turns()
        assert not drained
        queue.done(first)
        await turns()
        assert not drained
        queue.done(second)
        await turns()
        assert drained
    assert activity.idle
