"""The pod's status from its containers' timelines (pure: pod, plan and time in, status out).

    plan = plan_pod(pod, profile, seed=0)
    view = pod_at(plan, t0, now)                    # or stopped(view, stop_at, killed=False)
    status = pod_status(pod, view, PodNetwork(...), t0=t0, now=now, seed=0)

Follows the kubelet's `generateAPIPodStatus` / `convertToAPIContainerStatuses`
(`pkg/kubelet/kubelet_pods.go`), `getPhase`, and the condition generators of
`pkg/kubelet/status/generate.go`:

- init containers run one after another in spec order; each starts when the previous one has
  completed (exit 0); app containers start together once all have completed. Before a
  container first runs it waits with reason `PodInitializing` in a pod with init containers,
  `ContainerCreating` otherwise (the kubelet's default waiting state).
- conditions, in the kubelet's order: `PodReadyToStartContainers` (True: the sandbox is made
  when the pod is admitted), `Initialized` (False: `ContainersNotInitialized`, `containers with
  incomplete status: [init-a]`), `Ready` and `ContainersReady` (False: `ContainersNotReady`,
  `containers with unready status: [app]`; `PodCompleted` / `PodFailed` once terminal; Ready
  is also False with `ReadinessGatesNotReady` while a readiness gate is not True), then the
  conditions the kubelet does not own (`PodScheduled`, gates) as they were. A condition keeps
  its lastTransitionTime while its status does not change (status manager).
- phase (`getPhase`): Pending while an init container has not completed or a container waits
  without having run; Running once every container has run; Succeeded / Failed when every
  container has terminated and none restarts (restartPolicy) or the pod is being stopped.

Deterministic ids: containerID `containerd://` + sha256(seed/uid/name/run); imageID
`<repository>@sha256:` + sha256(image). Jitter draws hash (seed, uid, container, field).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from controllers.kubelet.profile import ImageSettings, Profile
from controllers.kubelet.timeline import ContainerPlan, ContainerView, container_at
from cp.api.core_pod import (
    Container,
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    HostIP,
    Pod,
    PodCondition,
    PodIP,
    PodStatus,
    Probe,
)
from cp.api.times import rfc3339

__all__ = [
    "KUBELET_CONDITIONS",
    "PodNetwork",
    "PodPlan",
    "PodView",
    "container_id",
    "plan_pod",
    "pod_at",
    "pod_status",
    "stopped",
]

#: The conditions the kubelet writes, in its order; others are carried over as they are.
KUBELET_CONDITIONS: Final = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
#: Exit code of a container killed at the end of the grace period (SIGKILL).
KILLED_EXIT_CODE: Final = 137


# -- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodPlan:
    """The plans of a pod's init and app containers, its restart policy and stop time."""

    init: tuple[ContainerPlan, ...]
    app: tuple[ContainerPlan, ...]
    restart_policy: str
    stop_seconds: float


def _draw(seed: int, uid: str, name: str, field: str) -> float:
    """A uniform draw in [-1, 1) that depends only on its arguments."""
    digest = hashlib.blake2b(f"{seed}/{uid}/{name}/{field}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def _jittered(value: float, s: ImageSettings, seed: int, uid: str, name: str, field: str) -> float:
    if not s.jitter or not value:
        return value
    return max(0.0, value * (1.0 + s.jitter * _draw(seed, uid, name, field)))


def _ready_after(probe: Probe | None, started_after: float, never: bool) -> float | None:
    if never:
        return None
    if probe is None:
        return started_after
    period = probe.period_seconds or 10
    successes = probe.success_threshold or 1
    return max(started_after, float(probe.initial_delay_seconds)) + (successes - 1) * period


def _restarts(policy: str, exit_code: int) -> bool:
    return policy in ("", "Always") or (policy == "OnFailure" and exit_code != 0)


def _app_plan(c: Container, s: ImageSettings, policy: str, seed: int, uid: str) -> ContainerPlan:
    started_after = 0.0 if c.startup_probe is None else float(c.startup_probe.initial_delay_seconds)
    crash = s.crash_loop
    return ContainerPlan(
        name=c.name,
        image=c.image,
        start=_jittered(s.start_seconds, s, seed, uid, c.name, "start"),
        run=None if crash is None else crash.after_seconds,
        exit_code=0 if crash is None else crash.exit_code,
        restarts=crash is not None and _restarts(policy, crash.exit_code),
        pull_error=s.pull_error,
        ready_after=_ready_after(c.readiness_probe, started_after, s.never_ready),
        started_after=started_after,
    )


def _init_plan(c: Container, s: ImageSettings, policy: str, seed: int, uid: str) -> ContainerPlan:
    crash = s.crash_loop
    failing = crash is not None and crash.exit_code != 0
    run = crash.after_seconds if crash is not None else s.init_seconds
    return ContainerPlan(
        name=c.name,
        image=c.image,
        start=0.0,
        run=_jittered(run, s, seed, uid, c.name, "init"),
        exit_code=crash.exit_code if crash is not None else 0,
        restarts=failing and policy != "Never",
        pull_error=s.pull_error,
        ready_after=None,
    )


def plan_pod(pod: Pod, profile: Profile, *, seed: int) -> PodPlan:
    """The plan of `pod` under `profile` (pure; jitter seeded by `seed` and the pod uid)."""
    uid = pod.metadata.uid
    policy = pod.spec.restart_policy or "Always"
    init = tuple(
        _init_plan(c, profile.settings_for(c.image), policy, seed, uid)
        for c in pod.spec.init_containers
    )
    app = tuple(
        _app_plan(c, profile.settings_for(c.image), policy, seed, uid) for c in pod.spec.containers
    )
    stop = max(
        (
            _jittered(s.stop_seconds, s, seed, uid, c.name, "stop")
            for c in pod.spec.containers
            for s in (profile.settings_for(c.image),)
        ),
        default=0.0,
    )
    return PodPlan(init, app, policy, stop)


# -- views -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodView:
    """Every container's view at one instant, the phase, and when anything changes next."""

    init: tuple[ContainerView, ...]
    app: tuple[ContainerView, ...]
    phase: str
    next_change: float | None


def _phase(plan: PodPlan, init: Sequence[ContainerView], app: Sequence[ContainerView]) -> str:
    """Upstream `getPhase` for the cases the simulator produces."""
    if any(v.kind == "terminated" and v.exit_code != 0 for v in init):
        return "Failed"  # an init container failed and will not restart (Never)
    if not all(v.completed for v in init):
        return "Pending"
    running = sum(v.kind == "running" for v in app)
    waiting = sum(v.kind == "waiting" and v.last is None for v in app)
    stopped = len(app) - running - waiting
    succeeded = sum(v.kind == "terminated" and v.exit_code == 0 for v in app)
    if waiting:
        return "Pending"
    if running or plan.restart_policy == "Always" or not stopped:
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if plan.restart_policy == "Never" else "Running"


def pod_at(plan: PodPlan, t0: float, t: float) -> PodView:
    """Every container at `t` for a pod admitted at `t0`."""
    waiting = "PodInitializing" if plan.init else "ContainerCreating"
    created: float | None = t0
    init: list[ContainerView] = []
    for p in plan.init:
        if created is None:
            init.append(ContainerView("waiting", reason=waiting))
            continue
        view = container_at(p, created, t, waiting)
        init.append(view)
        created = view.finished_at if view.completed else None
    if created is None:
        app = tuple(ContainerView("waiting", reason=waiting) for _ in plan.app)
    else:
        app = tuple(container_at(p, created, t, waiting) for p in plan.app)
    changes = [v.next_change for v in (*init, *app) if v.next_change is not None]
    return PodView(tuple(init), app, _phase(plan, init, app), min(changes, default=None))


def _stop(view: ContainerView, at: float, killed: bool) -> ContainerView:
    if view.kind != "running":
        return replace(view, ready=False, started=False, next_change=None)
    code = KILLED_EXIT_CODE if killed else 0
    return replace(
        view,
        kind="terminated",
        reason="Error" if killed else "Completed",
        finished_at=at,
        exit_code=code,
        ready=False,
        started=False,
        next_change=None,
    )


def stopped(view: PodView, at: float, *, killed: bool) -> PodView:
    """`view` after the kubelet stopped every running container at `at` (graceful deletion):
    exit 0 within the grace period, 137 when killed at its end. The phase is terminal."""
    app = tuple(_stop(v, at, killed) for v in view.app)
    init = tuple(_stop(v, at, killed) for v in view.init)
    ok = all(v.kind == "terminated" and v.exit_code == 0 for v in app)
    return PodView(init, app, "Succeeded" if ok else "Failed", None)


# -- status ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodNetwork:
    host_ip: str
    pod_ip: str


def container_id(seed: int, uid: str, name: str, instance: int) -> str:
    digest = hashlib.sha256(f"{seed}/{uid}/{name}/{instance}".encode()).hexdigest()
    return f"containerd://{digest}"


def _image_id(image: str) -> str:
    repo = image.split("@", 1)[0]
    slash, colon = repo.rfind("/"), repo.rfind(":")
    if colon > slash:
        repo = repo[:colon]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _terminated(v: ContainerView, cid: str) -> ContainerStateTerminated:
    return ContainerStateTerminated(
        exit_code=v.exit_code,
        reason=v.reason,
        started_at=rfc3339(v.started_at),
        finished_at=rfc3339(v.finished_at),
        container_id=cid,
    )


def _container_status(c: Container, v: ContainerView, pod: Pod, seed: int) -> ContainerStatus:
    uid = pod.metadata.uid
    ran = v.kind != "waiting" or v.last is not None
    cid = container_id(seed, uid, c.name, v.instance) if ran else ""
    if v.kind == "running":
        state = ContainerState(running=ContainerStateRunning(started_at=rfc3339(v.started_at)))
    elif v.kind == "terminated":
        state = ContainerState(terminated=_terminated(v, cid))
    else:
        message = v.message
        if v.reason == "CrashLoopBackOff":
            message += f" pod={pod.metadata.name}_{pod.metadata.namespace}({uid})"
        state = ContainerState(waiting=ContainerStateWaiting(reason=v.reason, message=message))
    last = ContainerState()
    if v.last is not None:
        last_id = container_id(seed, uid, c.name, v.last.instance)
        last = ContainerState(terminated=_terminated(v.last, last_id))
    return ContainerStatus(
        name=c.name,
        state=state,
        last_state=last,
        ready=v.ready,
        restart_count=v.restart_count,
        image=c.image,
        image_id=_image_id(c.image) if ran else "",
        container_id=cid,
        started=v.started,
    )


def _names(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"  # Go's %s of a []string


def _kubelet_conditions(
    pod: Pod, view: PodView, old: Mapping[str, PodCondition]
) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) of the kubelet's conditions."""
    spec = pod.spec
    terminal = view.phase in ("Succeeded", "Failed")
    incomplete = [
        c.name for c, v in zip(spec.init_containers, view.init, strict=True) if not v.completed
    ]
    ran = any(v.kind != "waiting" or v.last is not None for v in view.app)
    if view.phase == "Succeeded":
        initialized = ("True", "PodCompleted", "")
    elif incomplete and not ran:
        message = f"containers with incomplete status: {_names(incomplete)}"
        initialized = ("False", "ContainersNotInitialized", message)
    else:
        initialized = ("True", "", "")
    unready = [c.name for c, v in zip(spec.containers, view.app, strict=True) if not v.ready]
    if terminal:
        reason = "PodCompleted" if view.phase == "Succeeded" else "PodFailed"
        containers_ready = ("False", reason, "")
    elif unready:
        message = f"containers with unready status: {_names(unready)}"
        containers_ready = ("False", "ContainersNotReady", message)
    else:
        containers_ready = ("True", "", "")
    ready = containers_ready
    if ready[0] == "True":
        gates = []
        for gate in spec.readiness_gates:
            cond = old.get(gate.condition_type)
            if cond is None:
                gates.append(
                    f'corresponding condition of pod readiness gate "{gate.condition_type}" '
                    "does not exist."
                )
            elif cond.status != "True":
                gates.append(
                    f'the status of pod readiness gate "{gate.condition_type}" is not '
                    f'"True", but {cond.status}'
                )
        if gates:
            ready = ("False", "ReadinessGatesNotReady", ", ".join(gates))
    sandbox = ("False", "", "") if terminal else ("True", "", "")
    return [
        ("PodReadyToStartContainers", *sandbox),
        ("Initialized", *initialized),
        ("Ready", *ready),
        ("ContainersReady", *containers_ready),
    ]


def _conditions(pod: Pod, view: PodView, now: str) -> tuple[PodCondition, ...]:
    old_list = pod.status.conditions if pod.status is not None else ()
    old = {c.type: c for c in old_list}
    out: list[PodCondition] = []
    for type_, status, reason, message in _kubelet_conditions(pod, view, old):
        before = old.get(type_)
        since = (
            before.last_transition_time if before is not None and before.status == status else now
        )
        out.append(
            PodCondition(
                type=type_,
                status=status,
                last_transition_time=since,
                reason=reason,
                message=message,
            )
        )
    out.extend(c for c in old_list if c.type not in KUBELET_CONDITIONS)
    if "PodScheduled" not in old:
        out.append(PodCondition(type="PodScheduled", status="True", last_transition_time=now))
    return tuple(out)


def pod_status(
    pod: Pod, view: PodView, net: PodNetwork, *, t0: float, now: float, seed: int
) -> PodStatus:
    """The status the kubelet reports for `pod` in `view`, keeping what it does not own."""
    old = pod.status if pod.status is not None else PodStatus()
    spec = pod.spec
    return PodStatus(
        observed_generation=old.observed_generation,
        phase=view.phase,
        conditions=_conditions(pod, view, rfc3339(now)),
        message=old.message,
        reason=old.reason,
        nominated_node_name=old.nominated_node_name,
        host_ip=net.host_ip,
        host_ips=(HostIP(ip=net.host_ip),) if net.host_ip else (),
        pod_ip=net.pod_ip,
        pod_ips=(PodIP(ip=net.pod_ip),) if net.pod_ip else (),
        start_time=rfc3339(t0),
        init_container_statuses=tuple(
            _container_status(c, v, pod, seed)
            for c, v in zip(spec.init_containers, view.init, strict=True)
        ),
        container_statuses=tuple(
            _container_status(c, v, pod, seed)
            for c, v in zip(spec.containers, view.app, strict=True)
        ),
        qos_class=old.qos_class,
    )
