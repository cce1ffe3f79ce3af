"""Pure container timelines: what one container shows at virtual time `t` (plain values only).

A container's whole life is a function of its `ContainerPlan` (from the pod spec and the
simulation profile) and the time it may start (`created`); nothing is remembered between
reconciles, so a restarted simulator resumes exactly where the status says it was.

Upstream models, followed with their constants:

- image pulls (`pkg/kubelet/images/image_manager.go`, `EnsureImageExists`): a failed pull is
  `ErrImagePull`; the next attempt waits `IsInBackOffSinceUpdate` 10 s, then 20 s, 40 s ...
  capped at 300 s (`flowcontrol.Backoff`, `MaxContainerBackOff`). In between the kubelet shows
  `ImagePullBackOff`; here it appears `ERR_IMAGE_PULL_SECONDS` after each failed attempt.
- restarts (`pkg/kubelet/kuberuntime/kuberuntime_manager.go`, `doBackOff`): the first exit
  restarts at once (no back-off entry yet; `Next` makes one of 10 s); each later exit waits the
  entry's back-off since `finishedAt` (`CrashLoopBackOff`), then doubles it (cap 300 s). An
  entry older than 2 x 300 s is expired: the next exit restarts at once again.

Worked example, `startSeconds: 1`, `crashLoop: {afterSeconds: 5, exitCode: 1}`, created at 0:
running from 1 (restartCount 0); exits at 6 and restarts at once (1); exits at 11, back-off
10 s, running at 21 (2); exits at 26, back-off 20 s, running at 46 (3); exits at 51, 40 s,
running at 91 (4); then 80 s (restart at 176), 160 s (341), 300 s (646), 300 s ...

Readiness (`pkg/kubelet/prober/worker.go`): probed at start + initialDelaySeconds, then every
periodSeconds; ready after successThreshold successes, i.e. at start + initialDelaySeconds +
(successThreshold - 1) * periodSeconds. Without a readiness probe: ready when running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BACKOFF_EXPIRY",
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "ERR_IMAGE_PULL_SECONDS",
    "ContainerPlan",
    "ContainerView",
    "container_at",
    "go_duration",
]

#: flowcontrol back-off of image pulls and container restarts (kubelet `backOffPeriod`).
BACKOFF_INITIAL: Final = 10.0
#: kubelet `MaxContainerBackOff`.
BACKOFF_MAX: Final = 300.0
#: `hasExpired`: an entry not updated for 2 x max starts over.
BACKOFF_EXPIRY: Final = 2 * BACKOFF_MAX
#: How long `ErrImagePull` shows before the next sync reports `ImagePullBackOff`.
ERR_IMAGE_PULL_SECONDS: Final = 1.0

StateKind = Literal["waiting", "running", "terminated"]


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    """How one container behaves; all durations in seconds.

    `start`: from `created` to running (pull + create + start). `run`: from each start to its
    exit (None: runs until stopped). `restarts`: an exit is followed by a restart (restart
    policy). `ready_after` / `started_after`: from each start to ready / started (None for
    `ready_after`: never ready).
    """

    name: str
    image: str
    start: float
    run: float | None = None
    exit_code: int = 0
    restarts: bool = True
    pull_error: bool = False
    ready_after: float | None = 0.0
    started_after: float = 0.0


@dataclass(frozen=True, slots=True)
class ContainerView:
    """A container at one instant. `instance` numbers its runs (0, 1, ...: the containerID's
    seed); `last` is the previous run's termination (lastState); `next_change` the absolute
    time this view changes next (None: never, unless the pod changes)."""

    kind: StateKind
    reason: str = ""
    message: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    instance: int = 0
    restart_count: int = 0
    last: ContainerView | None = None
    ready: bool = False
    started: bool = False
    next_change: float | None = None

    @property
    def completed(self) -> bool:
        """Terminated with exit code 0 for good (an init container that is done)."""
        return self.kind == "terminated" and self.exit_code == 0


def go_duration(seconds: float) -> str:
    """Go's `time.Duration.String` for whole seconds: `10s`, `1m20s`, `5m0s`, `1h0m0s`."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _earliest(t: float, *times: float | None) -> float | None:
    """The earliest of `times` strictly after `t`."""
    future = [x for x in times if x is not None and x > t]
    return min(future) if future else None


def _pulling(plan: ContainerPlan, created: float, t: float, waiting: str) -> ContainerView:
    """A container whose image never pulls: attempts at a, a + 10, a + 30, a + 70 ..."""
    attempt = created + plan.start
    if t < attempt:
        return ContainerView("waiting", reason=waiting, next_change=attempt)
    backoff = BACKOFF_INITIAL
    while t >= attempt + backoff:
        attempt += backoff
        backoff = min(backoff * 2, BACKOFF_MAX)
    shown = attempt + ERR_IMAGE_PULL_SECONDS
    if t < shown:
        message = f'Failed to pull image "{plan.image}": (cpemu profile) pullError'
        return ContainerView("waiting", "ErrImagePull", message, next_change=shown)
    message = f'Back-off pulling image "{plan.image}"'
    return ContainerView("waiting", "ImagePullBackOff", message, next_change=attempt + backoff)


def _running(
    plan: ContainerPlan, start: float, t: float, count: int, last: ContainerView | None
) -> ContainerView:
    ready_at = None if plan.ready_after is None else start + plan.ready_after
    started_at = start + plan.started_after
    exit_at = None if plan.run is None else start + plan.run
    return ContainerView(
        "running",
        started_at=start,
        instance=count,
        restart_count=count,
        last=last,
        ready=ready_at is not None and t >= ready_at,
        started=t >= started_at,
        next_change=_earliest(t, ready_at, started_at, exit_at),
    )


def container_at(
    plan: ContainerPlan, created: float, t: float, waiting: str = "ContainerCreating"
) -> ContainerView:
    """The view of the container at `t`, given that it may start from `created` on.

    `waiting` is the reason shown before it first runs (`ContainerCreating`, or
    `PodInitializing` in a pod with init containers, as the kubelet's default waiting state).
    """
    if plan.pull_error:
        return _pulling(plan, created, t, waiting)
    start = created + plan.start
    if t < start:
        return ContainerView("waiting", reason=waiting, next_change=start)
    count = 0
    last: ContainerView | None = None
    backoff: float | None = None
    updated = 0.0
    while True:
        if plan.run is None or t < start + plan.run:
            return _running(plan, start, t, count, last)
        exit_at = start + plan.run
        term = ContainerView(
            "terminated",
            reason="Completed" if plan.exit_code == 0 else "Error",
            started_at=start,
            finished_at=exit_at,
            exit_code=plan.exit_code,
            instance=count,
            restart_count=count,
            last=last,
            ready=plan.exit_code == 0 and not plan.restarts,  # a completed init container
        )
        if not plan.restarts:
            return term
        if backoff is None or exit_at - updated > BACKOFF_EXPIRY:
            delay, backoff = 0.0, BACKOFF_INITIAL
        else:
            delay, backoff = backoff, min(backoff * 2, BACKOFF_MAX)
        updated = exit_at
        restart = exit_at + delay
        last = ContainerView(
            "terminated",
            reason=term.reason,
            started_at=start,
            finished_at=exit_at,
            exit_code=plan.exit_code,
            instance=count,
        )
        if t < restart:
            message = f"back-off {go_duration(delay)} restarting failed container={plan.name}"
            return ContainerView(
                "waiting",
                "CrashLoopBackOff",
                message,
                instance=count,
                restart_count=count,
                last=last,
                next_change=restart,
            )
        start = restart
        count += 1
