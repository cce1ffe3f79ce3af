"""The Activity counter: idle is counted, not guessed (notes/virtual-time-and-determinism.md).

One `Activity` per control plane. A unit of work holds one count from the moment it exists
until the moment its consequences hold counts of their own: a pending store write, an event
in a watcher buffer, a key in a work queue (queued or being processed), a running reconcile.
The virtual clock jumps to its next timer only while the count is zero (see `wait_idle`).

Hand-over rule: take the next stage's count *before* releasing your own. A stage that
releases first lets the counter touch zero for an instant, and the clock may jump too early:

    token = activity.hold()          # the event sits in the watcher buffer
    ...
    queue.add(key)                   # the queue takes its own count for the key
    token.release()                  # only now let go of the event's count

Timers are not activity: they wait in the clock's heap.

Probes: a component whose pending work is easier to observe than to count (an informer that
has not yet applied the watch events up to the log head it knows of) registers a busy-probe
with `add_probe(fn)`. `idle` is false while any probe returns True, and `wait_idle` re-checks
the probes on every loop turn until all return False. A probe must be cheap, must not await
and must turn False by itself as the loop runs the work it reports (it is polled, not
signalled); `add_probe` returns the function that removes it.

The counter is not thread-safe: call it from the event loop's thread only (a worker thread
hands its completion back with `loop.call_soon_threadsafe` and releases there).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import anyio
import anyio.lowlevel

__all__ = ["Activity", "ActivityError", "Hold"]

#: Loop turns the counter must stay at zero before `wait_idle` calls the system idle.
DEFAULT_IDLE_TURNS = 5


class ActivityError(Exception):
    """The counter was misused: released below zero, or a token released twice."""


class Hold:
    """One count taken on an `Activity`; release it once, or use it as a context manager."""

    __slots__ = ("_activity", "_released")

    def __init__(self, activity: Activity) -> None:
        self._activity = activity
        self._released = False
        activity.acquire()

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        """Give the count back. Raises `ActivityError` on a second call."""
        if self._released:
            raise ActivityError("activity hold released twice")
        self._released = True
        self._activity.release()

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._released:
            self.release()


class Activity:
    """Counts units of work in flight; `idle` when the count is zero.

    `acquire()`/`release()` are the raw counter; `hold()` returns a `Hold` token (also a
    context manager) for code that prefers not to pair the calls by hand.
    """

    __slots__ = ("_count", "_probes", "_zero")

    def __init__(self) -> None:
        self._count = 0
        self._zero: anyio.Event | None = None
        self._probes: tuple[Callable[[], bool], ...] = ()

    @property
    def count(self) -> int:
        return self._count

    @property
    def idle(self) -> bool:
        """No count held and no probe reporting busy."""
        return self._count == 0 and not self.probing

    @property
    def probing(self) -> bool:
        """Whether any registered probe reports busy right now."""
        for probe in self._probes:  # noqa: SIM110 -- a plain loop beats any(<genexpr>)
            if probe():
                return True
        return False

    def add_probe(self, probe: Callable[[], bool]) -> Callable[[], None]:
        """Register a busy-probe; returns its remover (calling it again does nothing)."""
        token = _Probe(probe)
        self._probes = (*self._probes, token)

        def remove() -> None:
            self._probes = tuple(p for p in self._probes if p is not token)

        return remove

    def acquire(self, n: int = 1) -> None:
        """Take `n` counts (n >= 0)."""
        if n < 0:
            raise ActivityError(f"cannot acquire a negative count ({n})")
        self._count += n

    def release(self, n: int = 1) -> None:
        """Give back `n` counts. Raises `ActivityError` if that would go below zero."""
        if n < 0 or n > self._count:
            raise ActivityError(f"cannot release {n} of {self._count} held counts")
        self._count -= n
        if self._count == 0 and self._zero is not None:
            self._zero.set()
            self._zero = None

    def hold(self) -> Hold:
        """Take one count and return the token that gives it back."""
        return Hold(self)

    async def wait_idle(self, *, turns: int = DEFAULT_IDLE_TURNS) -> None:
        """Return once the count is zero and stays zero for `turns` loop turns.

        The extra turns let callbacks already scheduled on the loop run (a task woken by a
        future that is about to take a count); if any of them takes a count, wait again.
        While the count is zero but a probe reports busy, the probes are re-checked on every
        loop turn (the work they report runs meanwhile).
        """
        while True:
            while self._count:
                if self._zero is None:
                    self._zero = anyio.Event()
                await self._zero.wait()
            if self.probing:
                await anyio.lowlevel.checkpoint()
                continue
            for _ in range(turns):
                await anyio.lowlevel.checkpoint()
                if self._count or self.probing:
                    break
            else:
                return


class _Probe:
    """A registered probe: its own identity, so one function may be registered twice."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], bool]) -> None:
        self._fn = fn

    def __call__(self) -> bool:
        return self._fn()
