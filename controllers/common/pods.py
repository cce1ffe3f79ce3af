"""Pod predicates and the scale-down ranking shared by the workload controllers.

Follows upstream `pkg/api/v1/pod/util.go` (`IsPodReady`, `IsPodAvailable`,
`GetPodReadyCondition`) and `pkg/controller/controller_utils.go` (`IsPodActive`,
`FilterActivePods`, `ActivePodsWithRanks.Less`, `maxContainerRestarts`), and
`pkg/controller/replicaset/replica_set.go` (`getPodsRankedByRelatedPodsOnSameNode`).

    is_pod_active(pod)                      # phase not Succeeded/Failed, no deletionTimestamp
    is_pod_ready(pod)                       # condition Ready is "True"
    pod_ready_since(pod)                    # lastTransitionTime of Ready=True, in seconds (or None)
    is_pod_available(pod, min_ready, now)   # ready, and ready since at least `min_ready` seconds
    available_at(pod, min_ready)            # when a ready pod becomes available (None: not ready)
    ranks = node_ranks(pods, related)       # co-located active related pods, per pod
    victims = sort_for_deletion(pods, ranks, now)[:n]   # the pods to delete first
    victims = first_for_deletion(pods, ranks, now, n)   # the same, O(len(pods) log n)

`deletion_key(pod, rank, now)` is `ActivePodsWithRanks.Less` as a sort key (ascending = delete
first), so the order is total and deterministic:

1. unassigned (`spec.nodeName == ""`) before assigned;
2. phase Pending(0) < Unknown(1) < Running(2) (any other phase counts as 0, as Go's map lookup);
3. not ready before ready;
4. lower `controller.kubernetes.io/pod-deletion-cost` first (PodDeletionCost, on by default);
5. higher rank (more co-located related pods) first;
6. both ready: ready for less time first, compared in buckets of floor(log2(ns since ready))
   (LogarithmicScaleDown, on by default); an unknown ready time counts as most recent;
7. more container restarts first;
8. newer creationTimestamp first, in the same logarithmic buckets (unknown time = newest);
9. then uid, then name (upstream compares uids when two times share a bucket).

Difference from upstream: upstream jumps straight to the uid when two ready times (or creation
times) differ but share a bucket, and goes on to the restart count only when they are equal; a
sort key cannot express that (it is not even transitive), so here equal buckets always go on
to rule 7 and 8 before the uid.

Worked example (now = 1000 s): pods a (Running, ready since 990 s, node n1, 0 restarts) and
b (Running, ready since 400 s, node n1, 2 restarts) with equal rank: a has been ready 10 s
(bucket floor(log2(1e10)) = 33), b 600 s (bucket 39), so a is deleted first although b
restarted more.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from typing import Final

from controllers.common.times import TimeParser, memo_parser, parse_time
from cp.api.core_pod import Pod, PodCondition

__all__ = [
    "DELETION_COST_ANNOTATION",
    "POD_FAILED",
    "POD_PENDING",
    "POD_READY",
    "POD_RUNNING",
    "POD_SUCCEEDED",
    "POD_UNKNOWN",
    "DeletionKey",
    "available_at",
    "deletion_cost",
    "deletion_key",
    "filter_active_pods",
    "first_for_deletion",
    "is_pod_active",
    "is_pod_available",
    "is_pod_ready",
    "max_container_restarts",
    "node_ranks",
    "pod_ready_condition",
    "pod_ready_since",
    "sort_for_deletion",
]

POD_PENDING: Final = "Pending"
POD_RUNNING: Final = "Running"
POD_SUCCEEDED: Final = "Succeeded"
POD_FAILED: Final = "Failed"
POD_UNKNOWN: Final = "Unknown"
#: The condition type ReplicaSet readiness, minReadySeconds and the ranking read.
POD_READY: Final = "Ready"
#: `core.PodDeletionCost`: an int32; lower is deleted first; missing or invalid counts as 0.
DELETION_COST_ANNOTATION: Final = "controller.kubernetes.io/pod-deletion-cost"

_PHASE_ORDINAL: Final = {POD_PENDING: 0, POD_UNKNOWN: 1, POD_RUNNING: 2}
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
#: The bucket of an unknown time: before every real bucket (upstream `afterOrZero`).
_ZERO_TIME_BUCKET: Final = -2

#: (unassigned?, phase, ready?, cost, -rank, ready bucket, -restarts, creation bucket, uid, name)
DeletionKey = tuple[int, int, int, int, int, int, int, int, str, str]


def _phase(pod: Pod) -> str:
    return pod.status.phase if pod.status is not None else ""


def is_pod_active(pod: Pod) -> bool:
    """`FilterActivePods`' predicate: not Succeeded/Failed and no deletionTimestamp."""
    phase = _phase(pod)
    return (
        phase != POD_SUCCEEDED and phase != POD_FAILED and pod.metadata.deletion_timestamp is None
    )


def filter_active_pods(pods: Iterable[Pod]) -> list[Pod]:
    """The active pods of `pods`, in their order."""
    return [pod for pod in pods if is_pod_active(pod)]


def pod_ready_condition(pod: Pod) -> PodCondition | None:
    """The pod's `Ready` condition, if it has one (`GetPodReadyCondition`)."""
    if pod.status is None:
        return None
    for condition in pod.status.conditions:
        if condition.type == POD_READY:
            return condition
    return None


def is_pod_ready(pod: Pod) -> bool:
    """The `Ready` condition is `"True"` (`IsPodReady`)."""
    condition = pod_ready_condition(pod)
    return condition is not None and condition.status == "True"


def pod_ready_since(pod: Pod, parse: TimeParser = parse_time) -> float | None:
    """When a ready pod turned Ready (seconds); None when not ready or the time is unknown."""
    condition = pod_ready_condition(pod)
    if condition is None or condition.status != "True":
        return None
    return parse(condition.last_transition_time)


def available_at(pod: Pod, min_ready_seconds: int, parse: TimeParser = parse_time) -> float | None:
    """The first time the pod counts as available: -inf when it already is whatever the time
    (minReadySeconds 0), None when it is not ready or its ready time is unknown."""
    if not is_pod_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return -math.inf
    since = pod_ready_since(pod, parse)
    return None if since is None else since + min_ready_seconds


def is_pod_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    """Ready, and ready since at least `min_ready_seconds` (`IsPodAvailable`).

    As newer upstream code, `readyTime + minReadySeconds == now` counts as available.
    """
    when = available_at(pod, min_ready_seconds)
    return when is not None and when <= now


def max_container_restarts(pod: Pod) -> int:
    """The highest restartCount of the pod's containers (0 without statuses)."""
    if pod.status is None:
        return 0
    return max((c.restart_count for c in pod.status.container_statuses), default=0)


def deletion_cost(pod: Pod) -> int:
    """The pod-deletion-cost annotation as an int32; 0 when missing or invalid."""
    text = pod.metadata.annotations.get(DELETION_COST_ANNOTATION)
    if text is None:
        return 0
    try:
        value = int(text.strip())
    except ValueError:
        return 0
    return value if _INT32_MIN <= value <= _INT32_MAX else 0


def _log_bucket(then: float | None, now: float) -> int:
    """floor(log2(nanoseconds from `then` to `now`)), -1 when not in the past (upstream
    `logarithmicRankDiff`), and below every bucket when `then` is unknown."""
    if then is None:
        return _ZERO_TIME_BUCKET
    elapsed_ns = (now - then) * 1e9
    return int(math.log2(elapsed_ns)) if elapsed_ns > 0 else -1


def deletion_key(pod: Pod, rank: int, now: float, parse: TimeParser = parse_time) -> DeletionKey:
    """`ActivePodsWithRanks.Less` as a sort key: pods with smaller keys are deleted first.
    `parse` reads the RFC 3339 times (`sort_for_deletion` passes a memoized one)."""
    meta = pod.metadata
    ready = is_pod_ready(pod)
    ready_bucket = _log_bucket(pod_ready_since(pod, parse), now) if ready else 0
    return (
        1 if pod.spec.node_name else 0,
        _PHASE_ORDINAL.get(_phase(pod), 0),
        1 if ready else 0,
        deletion_cost(pod),
        -rank,
        ready_bucket,
        -max_container_restarts(pod),
        _log_bucket(parse(meta.creation_timestamp), now),
        meta.uid,
        meta.name,
    )


def node_ranks(pods: Sequence[Pod], related: Iterable[Pod]) -> list[int]:
    """Per pod of `pods`, the number of active `related` pods on its node (unscheduled pods
    share node ""), as `getPodsRankedByRelatedPodsOnSameNode`."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            node = pod.spec.node_name
            on_node[node] = on_node.get(node, 0) + 1
    return [on_node.get(pod.spec.node_name, 0) for pod in pods]


def sort_for_deletion(pods: Sequence[Pod], ranks: Sequence[int], now: float) -> list[Pod]:
    """`pods` ordered as they should be deleted (first = deleted first); `ranks[i]` is the
    rank of `pods[i]` (see `node_ranks`). Timestamps are parsed once per distinct value."""
    if len(ranks) != len(pods):
        raise ValueError(f"{len(pods)} pods but {len(ranks)} ranks")
    parse = memo_parser()
    keyed = sorted(
        zip(pods, ranks, strict=True), key=lambda item: deletion_key(item[0], item[1], now, parse)
    )
    return [pod for pod, _ in keyed]


def first_for_deletion(
    pods: Sequence[Pod], ranks: Sequence[int], now: float, count: int
) -> list[Pod]:
    """`sort_for_deletion(pods, ranks, now)[:count]`, without sorting them all: `heapq.nsmallest`
    is specified as `sorted(...)[:count]`, ties included, in O(len(pods) log count)."""
    if len(ranks) != len(pods):
        raise ValueError(f"{len(pods)} pods but {len(ranks)} ranks")
    parse = memo_parser()
    keyed = heapq.nsmallest(
        count,
        zip(pods, ranks, strict=True),
        key=lambda item: deletion_key(item[0], item[1], now, parse),
    )
    return [pod for pod, _ in keyed]
