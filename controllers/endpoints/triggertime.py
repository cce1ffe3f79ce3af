"""The `endpoints.kubernetes.io/last-change-trigger-time` bookkeeping.

Follows upstream `pkg/controller/util/endpoint/trigger_time_tracker.go`
(`TriggerTimeTracker.ComputeEndpointLastChangeTriggerTime`, `getPodTriggerTime`,
`getServiceTriggerTime`):

    tracker = TriggerTimeTracker()
    when = tracker.compute(service, pods, parse)   # seconds, or None (clear the annotation)
    tracker.forget("default/web")                  # the Service is gone

A pod's trigger time is its Ready condition's lastTransitionTime; a Service's is its
creationTimestamp. The first sync of a Service returns its creationTimestamp; later syncs return
the earliest trigger time that moved since the previous sync of that Service (None if none).
Contract: one call per sync of a Service, never two concurrent calls for one Service (the work
queue guarantees it); times are the objects' own, never the clock's.
"""

from __future__ import annotations

from collections.abc import Iterable

from controllers.common.pods import pod_ready_condition
from controllers.common.times import TimeParser
from cp.api.core import Service
from cp.api.core_pod import Pod

__all__ = ["TriggerTimeTracker"]


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


class _State:
    __slots__ = ("pods", "service")

    def __init__(self) -> None:
        self.pods: dict[str, float] = {}
        self.service: float | None = None


class TriggerTimeTracker:
    """Per Service, the trigger times seen at its previous sync (see the module doc)."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[str, _State] = {}

    def forget(self, key: str) -> None:
        """Drop the state of the Service `namespace/name` (`DeleteService`)."""
        self._states.pop(key, None)

    def compute(self, service: Service, pods: Iterable[Pod], parse: TimeParser) -> float | None:
        """`ComputeEndpointLastChangeTriggerTime` for the Service and its selected pods."""
        meta = service.metadata
        key = f"{meta.namespace}/{meta.name}"
        state = self._states.get(key)
        known = state is not None
        if state is None:
            state = self._states[key] = _State()
        earliest: float | None = None
        seen: dict[str, float] = {}
        for pod in pods:
            condition = pod_ready_condition(pod)
            when = parse(condition.last_transition_time) if condition is not None else None
            if when is None:
                continue
            seen[pod.metadata.name] = when
            before = state.pods.get(pod.metadata.name)
            if before is None or when > before:
                earliest = _earliest(earliest, when)
        created = parse(meta.creation_timestamp)
        if created is not None and (state.service is None or created > state.service):
            earliest = _earliest(earliest, created)
        state.pods = seen
        state.service = created
        if not known:
            return created
        return earliest
