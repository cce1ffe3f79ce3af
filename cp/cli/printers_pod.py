"""kubectl's Pod table: READY, the STATUS kubectl computes, RESTARTS with `(5s ago)`, and the
wide IP, NODE, NOMINATED NODE, READINESS GATES columns.

A transcription of `printPod` in `pkg/printers/internalversion/printers.go` (kubernetes 1.32),
including sidecars (restartable init containers, `restartPolicy: Always`), SchedulingGated,
`Init:N/M`, `Init:<reason>`, `Init:ExitCode:N`, `Signal:N`, `Completed` -> `Running`/`NotReady`,
`Terminating` and the NodeLost `Unknown`.
"""

from __future__ import annotations

from cp.api.core_pod import (
    Container,
    ContainerState,
    ContainerStatus,
    Pod,
    PodCondition,
    PodStatus,
)
from cp.api.times import parse_rfc3339
from cp.cli.printers_common import Column, KindPrinter, age, format_age

__all__ = ["POD_PRINTER", "pod_status"]

_EMPTY_STATE = ContainerState()
_EMPTY_STATUS = PodStatus()
_NODE_LOST = "NodeLost"  # pkg/util/node NodeUnreachablePodReason


def _restartable(container: Container | None) -> bool:
    """`podutil.IsRestartableInitContainer`: a sidecar (`restartPolicy: Always`)."""
    return container is not None and container.restart_policy == "Always"


def _finished_at(status: ContainerStatus) -> float | None:
    """When the container last terminated (`lastState.terminated.finishedAt`), if known."""
    last = status.last_state
    if last is None or last.terminated is None or not last.terminated.finished_at:
        return None
    return parse_rfc3339(last.terminated.finished_at)


def _later(current: float | None, candidate: float | None) -> float | None:
    if candidate is None:
        return current
    return candidate if current is None or current < candidate else current


def _condition_true(conditions: tuple[PodCondition, ...], kind: str) -> bool:
    """The first condition of type `kind` has status True."""
    for condition in conditions:
        if condition.type == kind:
            return condition.status == "True"
    return False


def _has_ready(conditions: tuple[PodCondition, ...]) -> bool:
    """`hasPodReadyCondition`: any Ready condition with status True."""
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def pod_status(pod: Pod, now: float) -> tuple[str, str, str]:
    """READY (`n/m`), STATUS and RESTARTS of a pod as kubectl prints them."""
    status = pod.status or _EMPTY_STATUS
    spec = pod.spec
    restarts = 0
    sidecar_restarts = 0
    total = len(spec.containers)
    ready = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    phase = status.phase
    reason = status.reason or phase
    for condition in status.conditions:
        if condition.type == "PodScheduled" and condition.reason == "SchedulingGated":
            reason = "SchedulingGated"

    init_containers = {c.name: c for c in spec.init_containers}
    total += sum(1 for c in spec.init_containers if _restartable(c))

    initializing = False
    for index, container in enumerate(status.init_container_statuses):
        restarts += container.restart_count
        finished = _finished_at(container)
        last_restart = _later(last_restart, finished)
        sidecar = _restartable(init_containers.get(container.name))
        if sidecar:
            sidecar_restarts += container.restart_count
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        state = container.state or _EMPTY_STATE
        terminated, waiting = state.terminated, state.waiting
        if terminated is not None and terminated.exit_code == 0:
            continue
        if sidecar and container.started:
            if container.ready:
                ready += 1
            continue
        if terminated is not None:
            if terminated.reason:
                reason = "Init:" + terminated.reason
            elif terminated.signal:
                reason = f"Init:Signal:{terminated.signal}"
            else:
                reason = f"Init:ExitCode:{terminated.exit_code}"
        elif waiting is not None and waiting.reason and waiting.reason != "PodInitializing":
            reason = "Init:" + waiting.reason
        else:
            reason = f"Init:{index}/{len(spec.init_containers)}"
        initializing = True
        break

    if not initializing or _condition_true(status.conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for container in reversed(status.container_statuses):
            restarts += container.restart_count
            last_restart = _later(last_restart, _finished_at(container))
            state = container.state or _EMPTY_STATE
            terminated, waiting = state.terminated, state.waiting
            if waiting is not None and waiting.reason:
                reason = waiting.reason
            elif terminated is not None and terminated.reason:
                reason = terminated.reason
            elif terminated is not None:
                if terminated.signal:
                    reason = f"Signal:{terminated.signal}"
                else:
                    reason = f"ExitCode:{terminated.exit_code}"
            elif container.ready and state.running is not None:
                has_running = True
                ready += 1
        # Back to Running if at least one container still reports running.
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready(status.conditions) else "NotReady"

    deleting = pod.metadata.deletion_timestamp is not None
    if deleting and status.reason == _NODE_LOST:
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_text = f"{restarts} ({format_age(now - last_restart)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def _readiness_gates(pod: Pod, status: PodStatus) -> str:
    gates = pod.spec.readiness_gates
    if not gates:
        return "<none>"
    true = 0
    for gate in gates:
        for condition in status.conditions:
            if condition.type == gate.condition_type:
                if condition.status == "True":
                    true += 1
                break
    return f"{true}/{len(gates)}"


def _pod(pod: Pod, now: float) -> tuple[str, ...]:
    status = pod.status or _EMPTY_STATUS
    ready, reason, restarts = pod_status(pod, now)
    # v1 -> internal conversion fills podIPs from podIP when only the latter is set.
    ip = status.pod_ips[0].ip if status.pod_ips else status.pod_ip
    return (
        pod.metadata.name,
        ready,
        reason,
        restarts,
        age(pod.metadata.creation_timestamp, now),
        ip or "<none>",
        pod.spec.node_name or "<none>",
        status.nominated_node_name or "<none>",
        _readiness_gates(pod, status),
    )


POD_PRINTER = KindPrinter(
    (
        Column("Name", is_name=True),
        Column("Ready"),
        Column("Status"),
        Column("Restarts"),
        Column("Age"),
        Column("IP", wide=True),
        Column("Node", wide=True),
        Column("Nominated Node", wide=True),
        Column("Readiness Gates", wide=True),
    ),
    _pod,
)
