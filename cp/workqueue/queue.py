"""A stingy work queue of keys, after client-go's `util/workqueue`.

Follows `staging/src/k8s.io/client-go/util/workqueue/queue.go` (the dirty/processing sets),
`delaying_queue.go` (`AddAfter`) and `rate_limiting_queue.go` (`AddRateLimited`, `Forget`,
`NumRequeues`), in one class, with time taken from the injected `Clock`.

Guarantees:

- Fair: keys are handed out in the order they were added (FIFO), and waiting getters are
  served in the order they started waiting.
- Stingy: a key is never processed by two workers at once. A key is *dirty* from `add`
  until a worker `get`s it, and *processing* from `get` until `done`.
- Re-adds collapse: adding a key that is already queued does nothing; it keeps its place.
- A key added while it is processing is queued again, once, when `done` is called for it,
  however many times it was added meanwhile.
- `add_after(key, delay)` adds the key when the clock reaches now + delay; of several
  pending delayed adds of one key only the earliest is kept. A delay <= 0 adds at once.
- `add_rate_limited(key)` is `add_after(key, limiter.when(key))`; the default limiter is
  client-go's `DefaultControllerRateLimiter` (see `ratelimit.py`). `forget` resets a key's
  backoff, `num_requeues` counts its failures.
- Activity: the queue holds one count on the `Activity` for every key that is queued or
  processing (one per key, even when it is both). `done` releases it unless the key was
  re-added meanwhile, in which case the count carries over to the queued key. Pending
  delayed adds hold no count: they are timers on the clock, and the timer's add takes the
  count synchronously while the clock still holds its own.
- Shutdown: `shut_down()` refuses further adds, cancels pending delayed adds, drops the keys
  still queued (giving back their counts; unlike upstream, which still hands them out, so
  that a stopped queue cannot keep the control plane busy) and makes every `get` raise
  `ShutDown` (`async for` ends). Keys being processed finish normally with `done`.
  `shut_down_with_drain()` also waits until every key being processed is `done`.

Errors: `WorkQueueError` root; `ShutDown` (get on a shut-down queue); `NotProcessing`
(`done` for a key no worker holds).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Hashable
from typing import Generic, TypeVar

import anyio

from cp.clock.activity import Activity
from cp.clock.clock import Clock, TimerHandle
from cp.workqueue.ratelimit import RateLimiter, default_controller_rate_limiter

__all__ = ["NotProcessing", "ShutDown", "WorkQueue", "WorkQueueError"]

K = TypeVar("K", bound=Hashable)


class WorkQueueError(Exception):
    """Root of the work queue's errors."""


class ShutDown(WorkQueueError):
    """The queue was shut down: no more keys will be handed out."""


class NotProcessing(WorkQueueError):
    """`done(key)` was called for a key that no worker is processing."""


class WorkQueue(Generic[K]):
    """A FIFO of distinct keys with per-key exclusion, delayed and rate-limited adds."""

    def __init__(
        self,
        *,
        clock: Clock,
        activity: Activity,
        rate_limiter: RateLimiter[K] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self._clock = clock
        self._activity = activity
        self._limiter: RateLimiter[K] = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[K] = deque()
        self._dirty: dict[K, None] = {}
        self._processing: dict[K, None] = {}
        self._waiting: dict[K, tuple[float, TimerHandle]] = {}
        self._getters: deque[anyio.Event] = deque()
        self._shutting_down = False
        self._drained: anyio.Event | None = None

    def __len__(self) -> int:
        """Keys queued and not yet handed out (not counting keys being processed)."""
        return len(self._queue)

    def len(self) -> int:
        """Same as `len(queue)`, as upstream's `Len()`."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    @property
    def processing(self) -> int:
        """Keys handed out to workers and not yet `done`."""
        return len(self._processing)

    @property
    def waiting(self) -> int:
        """Pending delayed adds."""
        return len(self._waiting)

    def add(self, key: K) -> None:
        """Queue `key` unless it is already queued (queue.go `Add`)."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty[key] = None
        if key in self._processing:
            return  # queued again at done(); the processing count carries over
        self._activity.acquire()
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        """Add `key` once `delay` seconds of clock time have passed (delaying_queue.go)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        when = self._clock.now() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= when:
                return
            pending[1].cancel()
        handle = self._clock.call_at(when, lambda: self._fire_delayed(key))
        self._waiting[key] = (when, handle)

    def cancel_after(self, key: K) -> bool:
        """Drop `key`'s pending delayed add, if any (True when there was one).

        Not in client-go: a level-based controller that has just found a re-check moot (a
        rollout that completed before its progress deadline) calls it, so the clock is not
        left holding a timer whose reconcile would change nothing.
        """
        pending = self._waiting.pop(key, None)
        if pending is None:
            return False
        pending[1].cancel()
        return True

    def add_rate_limited(self, key: K) -> None:
        """Add `key` after the rate limiter's delay (rate_limiting_queue.go `AddRateLimited`)."""
        if self._shutting_down:
            return
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset `key`'s backoff; call it when the key was processed successfully."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._limiter.num_requeues(key)

    async def get(self) -> K:
        """Wait for the next key and mark it processing. Raises `ShutDown` once shut down."""
        event: anyio.Event | None = None
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(f"work queue {self.name!r} is shut down")
            event = anyio.Event()
            self._getters.append(event)
            try:
                await event.wait()
            except BaseException:
                self._abandon(event)
                raise
        key = self._queue.popleft()
        del self._dirty[key]
        self._processing[key] = None
        return key

    def done(self, key: K) -> None:
        """Mark `key` finished; queue it again if it was added while processing."""
        if key not in self._processing:
            raise NotProcessing(f"work queue {self.name!r}: {key!r} is not being processed")
        del self._processing[key]
        if key in self._dirty:
            self._queue.append(key)  # the count carries over to the queued key
            self._wake_one()
        else:
            self._activity.release()
        if not self._processing and self._drained is not None:
            self._drained.set()

    def shut_down(self) -> None:
        """Stop handing out keys; drop queued keys and pending delayed adds."""
        if self._shutting_down:
            return
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        dropped = len(self._queue)
        self._queue.clear()
        self._dirty.clear()  # keys re-added while processing are dropped too
        self._activity.release(dropped)
        while self._getters:
            self._getters.popleft().set()

    async def shut_down_with_drain(self) -> None:
        """`shut_down()`, then wait until every key being processed is `done`."""
        self.shut_down()
        while self._processing:
            if self._drained is None:
                self._drained = anyio.Event()
            await self._drained.wait()
            self._drained = None

    async def __aiter__(self) -> AsyncIterator[K]:
        """Yield keys until the queue is shut down; the caller still calls `done`."""
        while True:
            try:
                key = await self.get()
            except ShutDown:
                return
            yield key

    def _fire_delayed(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        if self._getters:
            self._getters.popleft().set()

    def _abandon(self, event: anyio.Event) -> None:
        """A waiting getter was cancelled: pass a wake-up it received on to the next one."""
        if event.is_set():
            if self._queue:
                self._wake_one()
        else:
            self._getters.remove(event)
