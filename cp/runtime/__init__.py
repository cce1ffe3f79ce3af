"""The runtime: activity counter, injected clock, reconcile loop, manager, seeded ids, logging.

    activity = Activity()
    clock = VirtualClock(activity)            # or RealClock()
    clock.call_later(30.0, callback)
    report = await clock.advance(3600.0)      # AdvanceReport(elapsed, fired, converged, next_timer)

    queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name="deployment")
    ctrl = Controller("deployment", reconciler, queue, clock=clock, ids=SeededIds(0), workers=5)
    manager = Manager()
    manager.add(ctrl)
    async with manager:
        ctrl.enqueue(Request("default", "web"), cause=42)   # cause: the trigger revision
        await clock.run_until_idle()

Inside a reconcile, `current_actor()` is `"controller/deployment"` and `current_cause()` the
trigger revision (see `cp.runtime.reconcile`). `configure_logging` is for composition roots only.

Errors: `ActivityError` (counter misuse), `ClockError` (clock misuse), `ControllerError`,
`ManagerError` (lifecycle misuse); `TerminalError` is raised *by reconcilers* to stop retries.
"""

from cp.clock.activity import Activity, ActivityError, Hold
from cp.clock.clock import (
    AdvanceReport,
    Clock,
    ClockError,
    RealClock,
    TimerHandle,
    VirtualClock,
    VirtualTimer,
)
from cp.runtime.controller import Controller, ControllerError
from cp.runtime.ids import SUFFIX_ALPHABET, SeededIds
from cp.runtime.logging import configure_logging
from cp.runtime.manager import Manager, ManagerError
from cp.runtime.reconcile import (
    Reconciler,
    Request,
    Result,
    TerminalError,
    current_actor,
    current_cause,
    reconcile_actor,
    reconcile_cause,
)

__all__ = [
    "SUFFIX_ALPHABET",
    "Activity",
    "ActivityError",
    "AdvanceReport",
    "Clock",
    "ClockError",
    "Controller",
    "ControllerError",
    "Hold",
    "Manager",
    "ManagerError",
    "RealClock",
    "Reconciler",
    "Request",
    "Result",
    "SeededIds",
    "TerminalError",
    "TimerHandle",
    "VirtualClock",
    "VirtualTimer",
    "configure_logging",
    "current_actor",
    "current_cause",
    "reconcile_actor",
    "reconcile_cause",
]
