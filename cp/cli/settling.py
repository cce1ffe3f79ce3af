"""How a `cpemu` command settles the cluster: the virtual-time settle, progress on stderr when
it takes more than a second of wall time, a wall-time guard, and — when the cluster does not
converge — which objects are stuck and why (`deployment/web: ProgressDeadlineExceeded: ...`).

Progress and the guard read the real clock (`RealClock`, anyio's deadline): they watch the
process, not the emulated cluster, and never change what the plane does; the virtual clock
alone decides what happens and when in the log.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

import anyio
import msgspec

from controllers.deployment.rollback import rollout_status
from controllers.deployment.util import PROGRESSING, TIMED_OUT_REASON, get_condition
from cp.api.apps import DaemonSet, Deployment, StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct
from cp.clock import RealClock
from cp.plane import ControlPlane

__all__ = ["Outcome", "settle", "stuck_objects"]

#: Show progress once a settle has run this long (wall seconds), then every this often.
PROGRESS_AFTER: Final = 1.0
#: Waiting reasons of a container on its way up (not stuck).
_STARTING: Final = ("", "PodInitializing", "ContainerCreating")
#: At most this many stuck objects are listed (then `... and N more`).
STUCK_LINES: Final = 20


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """How a settle ended: `converged` (no timer left), else stopped at the virtual horizon or
    by the wall-time guard (`timed_out`); `events` written, virtual `seconds` elapsed."""

    converged: bool
    timed_out: bool
    events: int
    seconds: float


def _busy(plane: ControlPlane) -> str:
    queues = [f"{c.name} ({len(c.queue)})" for c in plane.manager.controllers if len(c.queue) > 0]
    return ", ".join(queues[:6]) if queues else "timers only"


async def settle(
    plane: ControlPlane,
    *,
    max_seconds: float,
    wall_seconds: float,
    progress: Callable[[str], None] | None,
) -> Outcome:
    """Settle `plane` for up to `max_seconds` of virtual time and `wall_seconds` of real time;
    after `PROGRESS_AFTER` wall seconds, report progress through `progress` once a second."""
    start_revision = plane.log.revision
    start_time = plane.clock.now()
    wall = RealClock()  # the process's time, for the user: never the plane's
    started = wall.now()
    converged = False

    async def report() -> None:
        await wall.sleep(PROGRESS_AFTER)
        while True:
            if progress is not None:
                progress(
                    f"settling: {plane.log.revision - start_revision:,} events, "
                    f"virtual time +{plane.clock.now() - start_time:,.0f}s, "
                    f"{wall.now() - started:.0f}s elapsed; busy: {_busy(plane)}"
                )
            await wall.sleep(1.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(report)
        with anyio.move_on_after(wall_seconds if math.isfinite(wall_seconds) else None) as scope:
            result = await plane.settle(max_seconds=max_seconds)
            converged = result.converged
        tg.cancel_scope.cancel()
    if scope.cancelled_caught:
        await plane.log.flush()  # settle's own flush was cut short with it
    return Outcome(
        converged=converged,
        timed_out=scope.cancelled_caught,
        events=plane.log.revision - start_revision,
        seconds=plane.clock.now() - start_time,
    )


def _ref(kind: str, obj: ApiStruct) -> str:
    meta = obj.metadata  # type: ignore[attr-defined]
    prefix = f"{meta.namespace}/" if meta.namespace not in ("", "default") else ""
    return f"{kind}/{prefix}{meta.name}"


def _deployment(d: Deployment) -> str | None:
    status = d.status
    cond = get_condition(status, PROGRESSING) if status is not None else None
    if cond is not None and cond.reason == TIMED_OUT_REASON:
        return f"{TIMED_OUT_REASON}: {cond.message}"
    try:
        message, done = rollout_status(d)
    except Exception as exc:  # RolloutError: reported as what it says
        return str(exc)
    return None if done else message.strip()


def _pod(pod: Pod) -> str | None:
    if pod.metadata.deletion_timestamp:
        return "Terminating"
    status = pod.status
    if status is None:
        return "Pending: not scheduled yet"
    if status.phase in ("Succeeded", "Failed"):
        return None
    for cond in status.conditions:
        if cond.type == "PodScheduled" and cond.status == "False":
            return f"{cond.reason or 'Pending'}: {cond.message}".rstrip(": ")
    for cs in (*status.init_container_statuses, *status.container_statuses):
        waiting = cs.state.waiting if cs.state is not None else None
        if waiting is not None and waiting.reason not in _STARTING:
            text = f"{waiting.reason}: {waiting.message}" if waiting.message else waiting.reason
            return f"{text} (container {cs.name}, {cs.restart_count} restarts)"
    ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions)
    return None if ready else f"{status.phase or 'Pending'}, not Ready"


def _statefulset(s: StatefulSet) -> str | None:
    want = s.spec.replicas if s.spec.replicas is not None else 1
    ready = s.status.ready_replicas if s.status is not None else 0
    return None if ready >= want else f"{ready} of {want} replicas ready"


def _daemonset(d: DaemonSet) -> str | None:
    if d.status is None:
        return "not observed yet"
    want, ready = d.status.desired_number_scheduled, d.status.number_ready
    return None if ready >= want else f"{ready} of {want} pods ready"


def _claim(c: PersistentVolumeClaim) -> str | None:
    phase = c.status.phase if c.status is not None else ""
    return None if phase == "Bound" else phase or "Pending"


def stuck_objects(plane: ControlPlane) -> list[str]:
    """`kind/name: why` for each object still short of where its spec wants it, read from the
    plane's informer caches (up to date once a settle returns)."""
    found: list[str] = []
    checks: tuple[tuple[type[ApiStruct], str, Callable[[Any], str | None]], ...] = (
        (Deployment, "deployment", _deployment),
        (StatefulSet, "statefulset", _statefulset),
        (DaemonSet, "daemonset", _daemonset),
        (PersistentVolumeClaim, "persistentvolumeclaim", _claim),
        (Pod, "pod", _pod),
    )
    for cls, noun, check in checks:
        lister = plane.informers.informer_for(cls.__name__).lister(cls)
        for obj in sorted(lister.list(), key=_sort_key):
            why = check(obj)
            if why is not None:
                found.append(f"{_ref(noun, obj)}: {why}")
    return found


def _sort_key(obj: ApiStruct) -> tuple[str, str]:
    meta = obj.metadata  # type: ignore[attr-defined]
    return meta.namespace, meta.name


def stuck_report(lines: list[str]) -> str:
    """The lines, at most `STUCK_LINES` of them, indented under nothing (one per line)."""
    shown = lines[:STUCK_LINES]
    more = len(lines) - len(shown)
    return "".join(f"  {line}\n" for line in shown) + (f"  ... and {more} more\n" if more else "")
