"""The work queue: fair, stingy, deduplicating, with delayed and rate-limited adds.

    queue: WorkQueue[tuple[str, str]] = WorkQueue(clock=clock, activity=activity)
    queue.add(("default", "web"))
    key = await queue.get()
    try:
        ...                                   # reconcile
    except Exception:
        queue.add_rate_limited(key)           # retry with backoff
    else:
        queue.forget(key)
    finally:
        queue.done(key)

Guarantees are stated in `cp.workqueue.queue`. Errors: `WorkQueueError` root; `ShutDown`,
`NotProcessing`.
"""

from cp.workqueue.queue import NotProcessing, ShutDown, WorkQueue, WorkQueueError
from cp.workqueue.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "NotProcessing",
    "RateLimiter",
    "ShutDown",
    "WorkQueue",
    "WorkQueueError",
    "default_controller_rate_limiter",
]
