"""Builders shared by the controller-helper tests: pods and a clock whose time is set by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from controllers.common.times import format_time
from cp.api.core_pod import Container, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus
from cp.api.meta import ObjectMeta, OwnerReference
from cp.runtime import TimerHandle

#: 2023-11-14T22:13:20Z: a "now" with room for a month in the past.
NOW = 1_700_000_000.0


class ManualClock:
    """A `Clock` for synchronous helpers: `now()` is whatever the test set; no timers."""

    def __init__(self, now: float = NOW) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("the helpers never sleep")

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        raise AssertionError("the helpers arm no timers")

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        raise AssertionError("the helpers arm no timers")


def make_pod(
    name: str,
    *,
    node: str = "node",
    phase: str = "Running",
    ready: bool = False,
    ready_since: float | None = None,
    created: float | None = None,
    restarts: int = 0,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    uid: str | None = None,
    namespace: str = "default",
    owners: tuple[OwnerReference, ...] = (),
    deleting: bool = False,
    resource_version: str = "",
) -> Pod:
    """A pod as upstream's test helper `pod(...)` builds them (ready => one container status);
    its uid is `<name>-uid` unless given."""
    conditions: tuple[PodCondition, ...] = ()
    statuses: tuple[ContainerStatus, ...] = ()
    if ready:
        when = None if ready_since is None else format_time(ready_since)
        conditions = (PodCondition(type="Ready", status="True", last_transition_time=when),)
        statuses = (
            ContainerStatus(name="c", ready=True, restart_count=restarts, image="i", image_id=""),
        )
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=f"{name}-uid" if uid is None else uid,
            creation_timestamp=None if created is None else format_time(created),
            annotations=annotations or {},
            labels=labels or {},
            owner_references=owners,
            deletion_timestamp=format_time(NOW) if deleting else None,
            resource_version=resource_version,
        ),
        spec=PodSpec(containers=(Container(name="c", image="nginx"),), node_name=node),
        status=PodStatus(phase=phase, conditions=conditions, container_statuses=statuses),
    )
