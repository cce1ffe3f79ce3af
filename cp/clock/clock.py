"""The injected clock: one `Clock` per control plane, real or virtual (DESIGN.md, "Clock").

Nothing in cpemu reads the wall clock except `RealClock`; everything else (timestamps, AGE,
probe timing, backoff, delayed queue adds) asks the injected `Clock`. This follows trio's
`MockClock` and client-go's injected `clock.Clock` in `util/workqueue`.

`VirtualClock` keeps a heap of timers and jumps straight to the earliest one, but only when
the shared `Activity` counter says the whole system is idle (notes/virtual-time-and-
determinism.md). Timers due at the same instant fire in the order they were armed, so a run
is deterministic. Each batch of due callbacks runs synchronously while the clock holds one
activity count: whatever a callback starts (a work-queue add, a woken `sleep`) takes its own
count before that count is released, so the clock cannot jump again before it has happened.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

import anyio
import msgspec

from cp.clock.activity import Activity

__all__ = [
    "VIRTUAL_EPOCH",
    "AdvanceReport",
    "Clock",
    "ClockError",
    "RealClock",
    "TimerHandle",
    "VirtualClock",
    "VirtualTimer",
]

Callback = Callable[[], object]


class ClockError(Exception):
    """The clock was misused: a negative delay, a NaN time, or two concurrent `advance` calls."""


@runtime_checkable
class TimerHandle(Protocol):
    """A timer armed with `call_at`/`call_later`; `cancel()` is idempotent."""

    def cancel(self) -> None: ...

    def cancelled(self) -> bool: ...


class Clock(Protocol):
    """Time as the control plane sees it, in seconds."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: float, callback: Callback) -> TimerHandle: ...

    def call_later(self, delay: float, callback: Callback) -> TimerHandle: ...


def _check_time(value: float, what: str) -> None:
    if math.isnan(value):
        raise ClockError(f"{what} is NaN")


class RealClock:
    """Wall-clock time for a live control plane; timers run on the running loop.

    `now()` is seconds since the Unix epoch, but measured on the monotonic clock from an
    epoch offset taken once at construction, so it never goes backwards.
    """

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic() + self._offset

    async def sleep(self, seconds: float) -> None:
        _check_time(seconds, "sleep")
        await anyio.sleep(max(0.0, seconds))

    def call_at(self, when: float, callback: Callback) -> TimerHandle:
        _check_time(when, "call_at time")
        return self.call_later(max(0.0, when - self.now()), callback)

    def call_later(self, delay: float, callback: Callback) -> TimerHandle:
        _check_time(delay, "call_later delay")
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


class AdvanceReport(msgspec.Struct, frozen=True, gc=False):
    """What one `VirtualClock.advance`/`run_until_idle` did.

    `converged` is True when it stopped because no timer was left, False when the next timer
    lay past the horizon; `next_timer` is that timer's virtual time (None when converged).
    """

    elapsed: float
    fired: int
    converged: bool
    next_timer: float | None


class VirtualTimer:
    """A timer in a `VirtualClock`'s heap."""

    __slots__ = ("_callback", "_cancelled", "_clock", "when")

    def __init__(self, clock: VirtualClock, when: float, callback: Callback) -> None:
        self._clock = clock
        self._callback: Callback | None = callback
        self._cancelled = False
        self.when = when

    def cancel(self) -> None:
        if not self._cancelled and self._callback is not None:
            self._cancelled = True
            self._callback = None
            self._clock._timer_cancelled()

    def cancelled(self) -> bool:
        return self._cancelled

    def _run(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


#: Virtual time of a fresh plane: 2023-11-14T22:13:20Z (seconds since the Unix epoch).
VIRTUAL_EPOCH: Final = 1_700_000_000.0


class VirtualClock:
    """Virtual time that jumps to the next timer whenever `activity` is idle.

    Time moves only inside `advance`/`run_until_idle`; `call_at` with a time in the past
    fires at the current instant on the next step. Ties fire in the order armed.
    """

    def __init__(self, activity: Activity, start: float = 0.0) -> None:
        _check_time(start, "start")
        self._activity = activity
        self._now = float(start)
        self._heap: list[tuple[float, int, VirtualTimer]] = []
        self._seq = itertools.count()
        self._live = 0
        self._advancing = False

    @property
    def activity(self) -> Activity:
        return self._activity

    @property
    def pending(self) -> int:
        """Timers armed and not yet fired or cancelled."""
        return self._live

    @property
    def next_timer(self) -> float | None:
        """The virtual time of the earliest pending timer, or None."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callback) -> VirtualTimer:
        _check_time(when, "call_at time")
        timer = VirtualTimer(self, max(when, self._now), callback)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        self._live += 1
        return timer

    def call_later(self, delay: float, callback: Callback) -> VirtualTimer:
        _check_time(delay, "call_later delay")
        return self.call_at(self._now + max(0.0, delay), callback)

    async def sleep(self, seconds: float) -> None:
        """Wait until virtual time reaches now + seconds.

        The timer takes an activity count when it fires and the sleeper gives it back when it
        resumes, so the clock cannot jump between the wake-up and the sleeper running.
        """
        woken = anyio.Event()
        fired = False

        def wake() -> None:
            nonlocal fired
            fired = True
            self._activity.acquire()
            woken.set()

        timer = self.call_later(seconds, wake)
        try:
            await woken.wait()
        finally:
            timer.cancel()
            if fired:
                self._activity.release()

    async def advance(self, max_seconds: float) -> AdvanceReport:
        """Run timers up to `max_seconds` of virtual time from now (see `run_until_idle`)."""
        _check_time(max_seconds, "max_seconds")
        if max_seconds < 0:
            raise ClockError(f"cannot advance by a negative time ({max_seconds})")
        return await self.run_until_idle(self._now + max_seconds)

    async def run_until_idle(self, horizon: float = math.inf) -> AdvanceReport:
        """Fire timers until none is left or the next lies after `horizon` (virtual time).

        Each step waits for the activity counter to be idle, then moves `now` to the earliest
        timer and fires every timer due at that instant, in the order armed. Time is not moved
        to the horizon when it stops there: it stays at the last timer fired, so settling a
        quiet system ages nothing. Work that never finishes (a key queued with no worker)
        keeps the counter above zero and this call waiting, by design. A callback that raises
        ends the run with its exception; the timers still due stay armed.
        """
        _check_time(horizon, "horizon")
        if self._advancing:
            raise ClockError("the virtual clock is already advancing")
        self._advancing = True
        start, fired = self._now, 0
        try:
            while True:
                await self._activity.wait_idle()
                next_time = self.next_timer
                if next_time is None or next_time > horizon:
                    break
                self._now = max(self._now, next_time)
                fired += self._fire_due()
        finally:
            self._advancing = False
        return AdvanceReport(
            elapsed=self._now - start,
            fired=fired,
            converged=next_time is None,
            next_timer=next_time,
        )

    def _fire_due(self) -> int:
        """Fire every timer due at `now`, holding one activity count while they run."""
        fired = 0
        with self._activity.hold():
            while self._heap and self._heap[0][0] <= self._now:
                _, _, timer = heapq.heappop(self._heap)
                if timer.cancelled():
                    continue
                self._live -= 1
                fired += 1
                timer._run()
        return fired

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled():
            heapq.heappop(self._heap)

    def _timer_cancelled(self) -> None:
        self._live -= 1
