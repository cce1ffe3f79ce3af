"""The scheduler: one reconcile as recorded actions on the fake client, and whole runs on the
virtual clock with the kubelet simulator."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from msgspec.structs import replace

from controllers.scheduler import SCHEDULER_NAME, Scheduler, pod_backoff
from cp.api.core import Event, Node
from cp.api.core_pod import Pod, PodCondition
from cp.api.meta import ApiStruct
from cp.api.times import rfc3339
from cp.client import FakeClient, acting_as
from cp.client.fake import Action
from cp.informer import SharedInformerFactory, WatchContext
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.kubelet.harness import T0, cluster, make_node, make_pod

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _NoApi:
    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        raise AssertionError("the unit tests do not start the informers")

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        raise AssertionError("the unit tests do not start the informers")


class Harness:
    def __init__(self, *objects: ApiStruct) -> None:
        activity = Activity()
        clock = VirtualClock(activity, start=T0)
        self.client = FakeClient(*objects, clock_now=clock.now)
        self.factory = SharedInformerFactory(_NoApi(), activity)
        self.scheduler = Scheduler(
            self.client, self.factory, clock=clock, activity=activity, ids=SeededIds(0)
        )
        self.sync()

    def sync(self) -> None:
        for obj in self.client.objects():
            informer = self.factory.informer_for(type(obj).__name__)
            old = informer.indexer.upsert(obj)
            if old is None:
                informer.on_add(obj)
            else:
                informer.on_update(old, obj)

    async def reconcile(self, name: str) -> list[tuple[str, str, str, str]]:
        self.client.clear_actions()
        with acting_as(self.scheduler.controller.actor, cause=1):  # as the Controller runs it
            assert await self.scheduler.reconcile(Request("default", name)) == Result()
        writes = [(a.verb, a.kind, a.name, a.actor) for a in self.client.writes()]
        self.sync()
        return writes

    async def pod(self, name: str) -> Pod:
        pod = await self.client.get("Pod", name, "default")
        assert isinstance(pod, Pod)
        return pod

    async def events(self) -> list[tuple[str, str, str]]:
        items = (await self.client.list("Event")).items
        return [(e.type, e.reason, e.message) for e in items if isinstance(e, Event)]


def scheduled(pod: Pod) -> PodCondition:
    assert pod.status is not None
    return next(c for c in pod.status.conditions if c.type == "PodScheduled")


ACTOR = "controller/scheduler"


async def test_binding_is_one_write_then_an_event() -> None:
    h = Harness(make_node(1), make_node(2), make_pod("web"))
    assert h.scheduler.controller.actor == f"controller/{SCHEDULER_NAME}" == ACTOR
    h.client.clear_actions()
    with acting_as(h.scheduler.controller.actor, cause=1):
        await h.scheduler.reconcile(Request("default", "web"))
    assert h.client.writes()[0] == Action("bind", "Pod", "default", "web", "node-1")
    assert [(a.verb, a.kind, a.actor) for a in h.client.writes()] == [
        ("bind", "Pod", ACTOR),
        ("create", "Event", ACTOR),
    ]
    h.sync()
    pod = await h.pod("web")
    assert pod.spec.node_name == "node-1"
    assert (scheduled(pod).status, scheduled(pod).last_transition_time) == ("True", rfc3339(T0))
    assert await h.events() == [
        ("Normal", "Scheduled", "Successfully assigned default/web to node-1")
    ]
    assert await h.reconcile("web") == []  # bound: nothing to do
    assert h.scheduler.load() == {"node-1": 1}


async def test_one_worker_spreads_pods_by_load_without_waiting_for_the_informer() -> None:
    pods = [make_pod(f"web-{i}") for i in range(5)]
    h = Harness(make_node(1), make_node(2), make_node(3), *pods)
    for i in range(5):
        h.client.clear_actions()
        await h.scheduler.reconcile(Request("default", f"web-{i}"))  # the cache is not synced
    nodes = [(await h.pod(f"web-{i}")).spec.node_name for i in range(5)]
    assert nodes == ["node-1", "node-2", "node-3", "node-1", "node-2"]


async def test_an_unschedulable_pod_gets_the_condition_once_and_an_event_each_attempt() -> None:
    h = Harness(make_node(1), make_node(2), make_pod("db", node_selector={"disk": "ssd"}))
    writes = await h.reconcile("db")
    assert [w[:2] for w in writes] == [("update_status", "Pod"), ("create", "Event")]
    cond = scheduled(await h.pod("db"))
    message = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", message)
    assert await h.events() == [("Warning", "FailedScheduling", message)]
    # again: the condition is unchanged, so only the event is recorded (deduplicated: count 2)
    assert [w[:2] for w in await h.reconcile("db")] == [("update", "Event")]


async def test_pods_being_deleted_or_for_other_schedulers_are_left_alone() -> None:
    other = make_pod("other")
    other = replace(other, spec=replace(other.spec, scheduler_name="my-scheduler"))
    h = Harness(make_node(1), other, make_pod("bound", node_name="node-1"))
    assert await h.reconcile("other") == []
    assert await h.reconcile("bound") == []
    assert await h.reconcile("missing") == []
    assert h.scheduler.load() == {"node-1": 1}


# -- on the virtual clock -------------------------------------------------------------------------


async def test_pods_spread_evenly_and_honour_node_selectors() -> None:
    nodes = [make_node(1), make_node(2, labels={"disk": "ssd"}), make_node(3)]
    async with cluster(nodes) as c:
        for i in range(6):
            await c.client.create(make_pod(f"web-{i}"))
        await c.client.create(make_pod("db", node_selector={"disk": "ssd"}))
        await c.run_until(30)
        placed = {p.metadata.name: p.spec.node_name for p in await c.pods()}
        ready = {p.metadata.name: p.status.phase for p in await c.pods() if p.status}
    assert placed["db"] == "node-2"
    per_node = sorted(placed[f"web-{i}"] for i in range(6))
    assert per_node.count("node-1") == per_node.count("node-2") == per_node.count("node-3") == 2
    assert set(ready.values()) == {"Running"}


async def test_an_unschedulable_pod_is_retried_when_a_node_fits() -> None:
    async with cluster([make_node(1)]) as c:
        await c.client.create(make_pod("db", node_selector={"disk": "ssd"}))
        await c.run_until(10)
        cond = scheduled(await c.pod("db"))
        assert (cond.status, cond.reason) == ("False", "Unschedulable")
        assert cond.message == (
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        )
        await c.client.create(make_node(2, labels={"disk": "ssd"}))
        await c.run_until(20)
        pod = await c.pod("db")
    assert pod.spec.node_name == "node-2"
    assert scheduled(pod).status == "True"
    assert scheduled(pod).last_transition_time == rfc3339(T0 + 10)
    assert pod.status is not None
    assert pod.status.phase == "Running"


async def test_no_nodes_at_all() -> None:
    async with cluster([], kubelet=False) as c:
        await c.client.create(make_pod("web"))
        await c.run_until(5)
        assert scheduled(await c.pod("web")).message == "no nodes available to schedule pods"


async def test_a_full_node_takes_pods_again_once_one_goes() -> None:
    small = make_node(1)
    assert small.status is not None
    small = replace(small, status=replace(small.status, allocatable={"pods": "2"}))
    async with cluster([small]) as c:
        for i in range(3):
            await c.client.create(make_pod(f"web-{i}"))
        await c.run_until(10)
        cond = scheduled(await c.pod("web-2"))
        assert (cond.status, cond.message) == ("False", "0/1 nodes are available: 1 Too many pods.")
        await c.client.delete("Pod", "web-0", "default")
        await c.run_until(20)
        pod = await c.pod("web-2")
    assert pod.spec.node_name == "node-1"
    assert pod.status is not None
    assert pod.status.phase == "Running"


def test_retry_back_off_doubles_from_one_to_ten_seconds() -> None:
    assert [pod_backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_a_node_event_during_the_back_off_retries_when_it_ends() -> None:
    async with cluster([make_node(1)]) as c:
        await c.client.create(make_pod("db", node_selector={"disk": "ssd"}))  # fails at 0
        await c.run_until(0.5)
        await c.client.create(make_node(2, labels={"disk": "ssd"}))
        await c.run_until(5)
        pod = await c.pod("db")
    assert pod.spec.node_name == "node-2"
    assert scheduled(pod).last_transition_time == rfc3339(T0 + 1)  # 1 s after the failure


# -- the unschedulable set ----------------------------------------------------------------------


def _with_node_status(node: Node, **changes: object) -> Node:
    assert node.status is not None
    return replace(node, status=replace(node.status, **changes))


async def test_failed_pods_are_parked_and_moved_once_by_a_cluster_event() -> None:
    pods = [make_pod(f"db-{i}", node_selector={"disk": "ssd"}) for i in range(3)]
    h = Harness(make_node(1), *pods)
    for i in range(3):
        await h.reconcile(f"db-{i}")
    queue = h.scheduler.controller.queue
    assert [r.name for r in h.scheduler.unschedulable()] == ["db-0", "db-1", "db-2"]
    assert queue.waiting == 0  # (the adds queued them; nothing more)
    # a heartbeat (a condition's timestamps, an address) changes nothing the filters read
    node = await h.client.get("Node", "node-1")
    assert isinstance(node, Node)
    assert node.status is not None
    beat = replace(node.status.conditions[0], last_heartbeat_time=rfc3339(T0 + 1))
    h.client.add(_with_node_status(node, conditions=(beat,)))
    h.sync()
    assert len(h.scheduler.unschedulable()) == 3
    # a label is: every parked pod moves out, into the back-off (the clock has not moved)
    h.client.add(replace(node, metadata=replace(node.metadata, labels={"disk": "ssd"})))
    h.sync()
    assert h.scheduler.unschedulable() == []
    assert queue.waiting == 3
    h.client.add(replace(node, metadata=replace(node.metadata, labels={"disk": "hdd"})))
    h.sync()  # moved already: a second event finds nothing parked
    assert queue.waiting == 3


async def test_a_bound_pod_leaves_the_unschedulable_set() -> None:
    h = Harness(make_node(1), make_pod("db", node_selector={"disk": "ssd"}))
    await h.reconcile("db")
    assert [r.name for r in h.scheduler.unschedulable()] == ["db"]
    bound = await h.pod("db")
    h.client.add(replace(bound, spec=replace(bound.spec, node_name="node-1")))  # someone else
    h.sync()
    assert h.scheduler.unschedulable() == []
    assert h.scheduler.load() == {"node-1": 1}


async def test_more_room_on_a_node_retries_a_full_cluster() -> None:
    small = _with_node_status(make_node(1), allocatable={"pods": "1"})
    async with cluster([small]) as c:
        for i in range(2):
            await c.client.create(make_pod(f"web-{i}"))
        await c.run_until(10)
        cond = scheduled(await c.pod("web-1"))
        assert (cond.status, cond.message) == ("False", "0/1 nodes are available: 1 Too many pods.")
        node = await c.client.get("Node", "node-1")
        assert isinstance(node, Node)
        await c.client.update_status(_with_node_status(node, allocatable={"pods": "2"}))
        await c.run_until(20)
        pod = await c.pod("web-1")
    assert pod.spec.node_name == "node-1"
    assert scheduled(pod).status == "True"
