"""Time and idleness, the bottom layer of the runtime: the injected `Clock` (`RealClock`, and
the `VirtualClock` that jumps to the next timer only when the `Activity` counter says the whole
plane is idle).

    activity = Activity()
    clock = VirtualClock(activity, start=1_700_000_000.0)
    clock.call_at(clock.now() + 3600, fire)
    report = await clock.run_until_idle(horizon=clock.now() + 7200)

`cp.workqueue`, `cp.informer` and `cp.runtime` build on these; this package imports none of them
(an import-linter layers contract). `cp.runtime` re-exports every name.
"""

from cp.clock.activity import Activity, ActivityError, Hold
from cp.clock.clock import (
    VIRTUAL_EPOCH,
    AdvanceReport,
    Clock,
    ClockError,
    RealClock,
    TimerHandle,
    VirtualClock,
    VirtualTimer,
)

__all__ = [
    "VIRTUAL_EPOCH",
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
