"""ReplicaSet status: pure computation, plus the one write that stores it.

Follows upstream `pkg/controller/replicaset/replica_set_utils.go` (`calculateStatus`,
`updateReplicaSetStatus`, `NewReplicaSetCondition`, `SetCondition`, `RemoveCondition`).

    status = calculate_status(rs, active_pods, manage_error, now)   # plain values in and out
    rs = await update_replica_set_status(client, rs, status)        # no write when unchanged

`calculate_status` counts the active pods the ReplicaSet controls: `replicas` (all of them),
`fullyLabeledReplicas` (labels contain every template label), `readyReplicas` (Ready=True),
`availableReplicas` (ready for at least minReadySeconds at `now`). A failed `manageReplicas`
adds a `ReplicaFailure` condition (True, reason FailedCreate when pods were missing,
FailedDelete when there were too many, message the error) unless one is there; a clean sync
removes it. `observedGeneration` is set by the write.

Worked example: minReadySeconds 10, now = 100 s, three active pods: p1 Ready since 85 s,
p2 Ready since 95 s, p3 not ready -> replicas 3, readyReplicas 2, availableReplicas 1 (p1);
`next_available_in` is 5.0 (p2 becomes available at 105 s), when the controller requeues.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from msgspec.structs import replace

from controllers.common.pods import available_at, is_pod_ready
from controllers.common.times import format_time, memo_parser
from controllers.replicaset.manage import desired_replicas
from cp.api.apps import ReplicaSet, ReplicaSetCondition, ReplicaSetStatus
from cp.api.core_pod import Pod
from cp.api.errors import Conflict
from cp.client import Client

__all__ = [
    "REPLICA_FAILURE",
    "STATUS_UPDATE_RETRIES",
    "calculate_status",
    "next_available_in",
    "status_from_counts",
    "status_unchanged",
    "update_replica_set_status",
]

#: The condition type a failed manageReplicas sets (`apps.ReplicaSetReplicaFailure`).
REPLICA_FAILURE: Final = "ReplicaFailure"
#: upstream `statusUpdateRetries`: one re-read and retry after a failed status write.
STATUS_UPDATE_RETRIES: Final = 1

_EMPTY_STATUS: Final = ReplicaSetStatus(replicas=0)


def _current(rs: ReplicaSet) -> ReplicaSetStatus:
    return rs.status if rs.status is not None else _EMPTY_STATUS


def calculate_status(
    rs: ReplicaSet, active: Sequence[Pod], manage_error: BaseException | None, now: float
) -> ReplicaSetStatus:
    """The status `rs` should have for its active controlled pods (see the module doc)."""
    template_labels = rs.spec.template.metadata.labels.items()
    min_ready = rs.spec.min_ready_seconds
    parse = memo_parser()
    fully_labeled = ready = available = 0
    for pod in active:
        if template_labels <= pod.metadata.labels.items():
            fully_labeled += 1
        if is_pod_ready(pod):
            ready += 1
            when = available_at(pod, min_ready, parse)
            if when is not None and when <= now:
                available += 1
    return status_from_counts(
        rs, len(active), fully_labeled, ready, available, manage_error=manage_error, now=now
    )


def status_from_counts(
    rs: ReplicaSet,
    replicas: int,
    fully_labeled: int,
    ready: int,
    available: int,
    *,
    manage_error: BaseException | None,
    now: float,
) -> ReplicaSetStatus:
    """The new status from the counts (the ReplicaFailure rule of the module doc)."""
    current = _current(rs)
    conditions = current.conditions
    has_failure = any(c.type == REPLICA_FAILURE for c in conditions)
    if manage_error is not None and not has_failure:
        diff = replicas - desired_replicas(rs)
        reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
        failure = ReplicaSetCondition(
            type=REPLICA_FAILURE,
            status="True",
            last_transition_time=format_time(now),
            reason=reason,
            message=str(manage_error),
        )
        conditions = (*conditions, failure)
    elif manage_error is None and has_failure:
        conditions = tuple(c for c in conditions if c.type != REPLICA_FAILURE)
    return replace(
        current,
        replicas=replicas,
        fully_labeled_replicas=fully_labeled,
        ready_replicas=ready,
        available_replicas=available,
        conditions=conditions,
    )


def next_available_in(rs: ReplicaSet, active: Sequence[Pod], now: float) -> float | None:
    """Seconds until the next ready-but-not-yet-available pod becomes available (None if no
    pod is waiting out minReadySeconds): when the controller looks again."""
    if rs.spec.min_ready_seconds <= 0:
        return None
    soonest: float | None = None
    parse = memo_parser()
    for pod in active:
        when = available_at(pod, rs.spec.min_ready_seconds, parse)
        if when is not None and when > now and (soonest is None or when < soonest):
            soonest = when
    return None if soonest is None else soonest - now


def status_unchanged(rs: ReplicaSet, status: ReplicaSetStatus) -> bool:
    """The write would change nothing: same counts, conditions and an observedGeneration equal
    to the generation."""
    current = _current(rs)
    return (
        current.replicas == status.replicas
        and current.fully_labeled_replicas == status.fully_labeled_replicas
        and current.ready_replicas == status.ready_replicas
        and current.available_replicas == status.available_replicas
        and current.conditions == status.conditions
        and current.observed_generation == rs.metadata.generation
    )


async def update_replica_set_status(
    client: Client, rs: ReplicaSet, status: ReplicaSetStatus
) -> ReplicaSet:
    """Write `status` (with observedGeneration = generation) unless unchanged; on Conflict
    re-read the ReplicaSet and retry once (`updateReplicaSetStatus`). Returns the stored RS."""
    if status_unchanged(rs, status):
        return rs
    new = replace(status, observed_generation=rs.metadata.generation)  # what this sync saw
    attempt = 0
    while True:
        try:
            return await client.update_status(replace(rs, status=new))
        except Conflict:
            if attempt >= STATUS_UPDATE_RETRIES:
                raise
        attempt += 1
        fresh = await client.get("ReplicaSet", rs.metadata.name, rs.metadata.namespace)
        if not isinstance(fresh, ReplicaSet):  # pragma: no cover - the client's contract
            raise TypeError(f"expected a ReplicaSet, got {type(fresh).__name__}")
        rs = fresh
