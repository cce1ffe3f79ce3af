"""A FakeClient, hand-synced informer caches and a DaemonSet controller.

`sync()` plays the informers: it brings each cache to the fake's objects and fires the
handlers (add, update, delete) as a reflector would. Leaving `sync()` out between two
reconciles is a stale cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec.structs import replace

from controllers.common.times import format_time
from controllers.daemonset import DaemonSetController
from cp.api.apps import (
    DaemonSet,
    DaemonSetSpec,
    DaemonSetStatus,
    DaemonSetUpdateStrategy,
    RollingUpdateDaemonSet,
)
from cp.api.core import Node, NodeCondition, NodeSpec, NodeStatus, Taint
from cp.api.core_pod import Container, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.fakes import NoApi, sync_caches

KINDS = ("DaemonSet", "Node", "Pod", "ControllerRevision")
APP = {"app": "agent"}


class Recorder:
    """An `EventSink` keeping (type, reason, message) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


def node(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    ready: bool = True,
    taints: tuple[Taint, ...] = (),
    unschedulable: bool = False,
) -> Node:
    return Node(
        metadata=ObjectMeta(
            name=name, labels={"kubernetes.io/hostname": name, **(labels or {})}, uid=f"{name}-uid"
        ),
        spec=NodeSpec(taints=taints, unschedulable=unschedulable),
        status=NodeStatus(
            conditions=(NodeCondition(type="Ready", status="True" if ready else "False"),)
        ),
    )


def daemon_set(
    *,
    image: str = "agent:1",
    strategy: str = "RollingUpdate",
    max_unavailable: int | str | None = 1,
    max_surge: int | str | None = 0,
    node_selector: Mapping[str, str] | None = None,
    generation: int = 1,
    min_ready: int = 0,
    status: DaemonSetStatus | None = None,
    selector: Mapping[str, str] = APP,
) -> DaemonSet:
    rolling = (
        RollingUpdateDaemonSet(max_unavailable=max_unavailable, max_surge=max_surge)
        if strategy == "RollingUpdate"
        else None
    )
    return DaemonSet(
        metadata=ObjectMeta(name="agent", namespace="default", uid="ds-uid", generation=generation),
        spec=DaemonSetSpec(
            selector=LabelSelector(match_labels=dict(selector)),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=APP),
                spec=PodSpec(
                    containers=(Container(name="c", image=image),),
                    node_selector=dict(node_selector or {}),
                ),
            ),
            update_strategy=DaemonSetUpdateStrategy(type=strategy, rolling_update=rolling),
            min_ready_seconds=min_ready,
            revision_history_limit=10,
        ),
        status=status,
    )


def ready_pod(pod: Pod, since: float = NOW) -> Pod:
    """`pod` Running and Ready since `since` (what the kubelet would write)."""
    condition = PodCondition(type="Ready", status="True", last_transition_time=format_time(since))
    return replace(pod, status=PodStatus(phase="Running", conditions=(condition,)))


class Harness:
    """The controller over a FakeClient; caches mirror the fake on `sync()`."""

    def __init__(self, *objects: ApiStruct) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.recorder = Recorder()
        self.dsc = DaemonSetController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            recorder=self.recorder,
        )
        self.sync()

    def sync(self, kinds: Sequence[str] = KINDS) -> None:
        """Bring the caches of `kinds` to the fake's objects, firing the handlers."""
        sync_caches(self.factory, self.client, kinds)

    async def reconcile(self) -> tuple[list[Action], Result]:
        """One reconcile of `default/agent`: its writes and result (caches not synced)."""
        self.client.clear_actions()
        result = await self.dsc.reconcile(Request("default", "agent"))
        return self.client.writes(), result

    async def step(self) -> list[Action]:
        """Reconcile, then sync the caches."""
        actions, _ = await self.reconcile()
        self.sync()
        return actions

    async def settle(self, limit: int = 20) -> None:
        """Step until a reconcile writes nothing."""
        for _ in range(limit):
            if not await self.step():
                return
        raise AssertionError("the DaemonSet never settled")

    def pods(self) -> list[Pod]:
        return [obj for obj in self.client.objects() if isinstance(obj, Pod)]

    def live_pods(self) -> list[Pod]:
        return [p for p in self.pods() if p.metadata.deletion_timestamp is None]

    def by_node(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for pod in self.live_pods():
            out.setdefault(pod.spec.node_name, []).append(pod.metadata.name)
        return out

    def ds(self) -> DaemonSet:
        for obj in self.client.objects():
            if isinstance(obj, DaemonSet):
                return obj
        raise AssertionError("no DaemonSet")

    def status(self) -> DaemonSetStatus:
        status = self.ds().status
        assert status is not None
        return status

    def set_ready(self, *names: str, since: float = NOW) -> None:
        """Mark the pods `names` (all live pods when none given) Running and Ready."""
        for pod in self.live_pods():
            if not names or pod.metadata.name in names:
                self.client.add(ready_pod(pod, since))

    async def finish_deletions(self) -> None:
        """Remove the pods being deleted (the kubelet's final delete, grace 0)."""
        for pod in self.pods():
            if pod.metadata.deletion_timestamp is not None:
                await self.client.delete(
                    "Pod", pod.metadata.name, "default", grace_period_seconds=0
                )

    def update_ds(self, ds: DaemonSet) -> None:
        self.client.add(ds)


def verbs(actions: Sequence[Action]) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.name) for a in actions]
