"""Rate limiters for `WorkQueue.add_rate_limited`, after client-go's
`staging/src/k8s.io/client-go/util/workqueue/default_rate_limiters.go`.

`default_controller_rate_limiter(clock)` is upstream's `DefaultControllerRateLimiter`: the
worse (max) of a per-key exponential backoff, 5 ms doubling up to 1000 s, and one overall
token bucket of 10 qps with a burst of 100. The bucket follows `golang.org/x/time/rate`'s
`Reserve().Delay()` and measures time on the injected `Clock`, never the wall clock.

Worked example, one key failing again and again (the bucket still has tokens):
5 ms, 10 ms, 20 ms, 40 ms, ... 5 ms * 2**17 = 655.36 s, then 1000 s from the 19th failure on;
`forget(key)` starts it over at 5 ms.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from cp.clock.clock import Clock

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "default_controller_rate_limiter",
]

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

_MAX_EXPONENT = 1023  # 2.0 ** 1024 overflows a float


class RateLimiter(Protocol[K_contra]):
    """Decides how long a key waits before it is retried (upstream `RateLimiter`)."""

    def when(self, key: K_contra) -> float:
        """Seconds `key` should wait now; counts one more failure for it."""
        ...

    def forget(self, key: K_contra) -> None:
        """Stop tracking `key` (it succeeded, or the caller gave up on it)."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """Failures counted for `key` since it was last forgotten."""
        ...


class ItemExponentialFailureRateLimiter(Generic[K]):
    """`base_delay * 2**failures`, capped at `max_delay` (upstream, same name)."""

    __slots__ = ("_base", "_failures", "_max")

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self._base = base_delay
        self._max = max_delay
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        exponent = self._failures.get(key, 0)
        self._failures[key] = exponent + 1
        backoff = self._base * 2.0 ** min(exponent, _MAX_EXPONENT)
        return min(backoff, self._max)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter(Generic[K]):
    """One token bucket for all keys (upstream `BucketRateLimiter` over `rate.Limiter`).

    The bucket starts full (`burst` tokens) and refills at `qps` tokens per second of clock
    time. Each `when` reserves one token; when none is left the reservation goes into debt
    and the delay is the time the debt takes to refill, as `Reserve().Delay()` does.
    """

    __slots__ = ("_burst", "_clock", "_last", "_qps", "_tokens")

    def __init__(self, clock: Clock, *, qps: float = 10.0, burst: int = 100) -> None:
        self._clock = clock
        self._qps = qps
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = clock.now()

    def when(self, key: K) -> float:
        now = self._clock.now()
        elapsed = max(0.0, now - self._last)
        tokens = min(self._burst, self._tokens + elapsed * self._qps) - 1.0
        self._tokens, self._last = tokens, max(now, self._last)
        return -tokens / self._qps if tokens < 0 else 0.0

    def forget(self, key: K) -> None:
        return None

    def num_requeues(self, key: K) -> int:
        return 0


class MaxOfRateLimiter(Generic[K]):
    """Asks every limiter and returns the worst answer (upstream `MaxOfRateLimiter`)."""

    __slots__ = ("_limiters",)

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        self._limiters = limiters

    def when(self, key: K) -> float:
        return max((limiter.when(key) for limiter in self._limiters), default=0.0)

    def forget(self, key: K) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max((limiter.num_requeues(key) for limiter in self._limiters), default=0)


def default_controller_rate_limiter(clock: Clock) -> MaxOfRateLimiter[K]:
    """Upstream `DefaultControllerRateLimiter`: max of 5 ms..1000 s per key and 10 qps/100."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(clock, qps=10.0, burst=100),
    )
