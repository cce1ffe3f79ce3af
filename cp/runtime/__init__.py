"""The runtime: the activity counter and the injected clock (real and virtual).

    activity = Activity()
    clock = VirtualClock(activity)            # or RealClock()
    clock.call_later(30.0, callback)
    report = await clock.advance(3600.0)      # AdvanceReport(elapsed, fired, converged, next_timer)

Errors: `ActivityError` (counter misuse), `ClockError` (clock misuse).
"""

from cp.runtime.activity import Activity, ActivityError, Hold
from cp.runtime.clock import (
    AdvanceReport,
    Clock,
    ClockError,
    RealClock,
    TimerHandle,
    VirtualClock,
    VirtualTimer,
)

__all__ = [
    "Activity",
    "ActivityError",
    "AdvanceReport",
    "Clock",
    "ClockError",
    "Hold",
    "RealClock",
    "TimerHandle",
    "VirtualClock",
    "VirtualTimer",
]
