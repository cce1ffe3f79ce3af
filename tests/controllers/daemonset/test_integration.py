"""The DaemonSet controller in a whole `ControlPlane` (kubelet simulator, garbage collector,
3 Ready nodes) on the virtual clock, as the plane runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest

from controllers.common.times import format_time
from controllers.daemonset import HASH_LABEL
from cp import ControlPlane
from cp.api.apps import ControllerRevision, DaemonSet
from cp.api.core import Node, NodeCondition, NodeSpec, NodeStatus
from cp.api.core_pod import Pod
from cp.api.meta import ObjectMeta

pytestmark = pytest.mark.anyio

ACTOR = "controller/daemonset"

AGENT = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  updateStrategy: %(strategy)s
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: %(selector)s
      containers:
      - name: c
        image: %(image)s
"""


def agent(
    image: str = "agent:1", strategy: str = "{type: RollingUpdate}", selector: str = "{}"
) -> str:
    return AGENT % {"image": image, "strategy": strategy, "selector": selector}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running() -> AsyncIterator[ControlPlane]:
    async with ControlPlane.open(nodes=3) as plane:
        assert "daemonset" in {c.name for c in plane.manager.controllers}
        yield plane


async def settle(plane: ControlPlane) -> None:
    report = await plane.settle(max_seconds=600)
    assert report.converged


async def pods(plane: ControlPlane) -> list[Pod]:
    items = (await plane.client.list("Pod", "default")).items
    return [p for p in items if isinstance(p, Pod)]


async def ds(plane: ControlPlane) -> DaemonSet:
    obj = await plane.client.get("DaemonSet", "agent", "default")
    assert isinstance(obj, DaemonSet)
    return obj


async def pod_actions(plane: ControlPlane) -> list[tuple[str, str, float]]:
    """The controller's pod writes: (create | delete, node, time)."""
    actions = []
    async for ev in plane.log.events(prefix="/registry/pods/"):
        if ev.actor != ACTOR:
            continue
        new = msgspec.json.decode(ev.value or b"{}")
        old = msgspec.json.decode(ev.prev_value) if ev.prev_value else None
        node = (new or old or {}).get("spec", {}).get("nodeName", "")
        if ev.type == "DELETE":
            actions.append(("delete", node, ev.time))
        elif old is None:
            actions.append(("create", node, ev.time))
        elif new["metadata"].get("deletionTimestamp") and not old["metadata"].get(
            "deletionTimestamp"
        ):
            actions.append(("delete", node, ev.time))
    return actions


def new_node(name: str, now: float, labels: dict[str, str] | None = None) -> Node:
    """A Ready node as `ControlPlane._register_nodes` makes them."""
    stamp = format_time(now)
    ready = NodeCondition(
        type="Ready",
        status="True",
        last_heartbeat_time=stamp,
        last_transition_time=stamp,
        reason="KubeletReady",
        message="kubelet is posting ready status",
    )
    node_labels = {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        **(labels or {}),
    }
    return Node(
        metadata=ObjectMeta(name=name, labels=node_labels),
        spec=NodeSpec(),
        status=NodeStatus(
            capacity={"cpu": "4", "memory": "8Gi", "pods": "110"},
            allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"},
            conditions=(ready,),
        ),
    )


async def test_one_ready_pod_per_node_and_a_new_node_gets_one() -> None:
    async with running() as plane:
        await plane.apply(agent())
        await settle(plane)
        found = await pods(plane)
        assert sorted(p.spec.node_name for p in found) == ["node-1", "node-2", "node-3"]
        assert all(p.status is not None and p.status.phase == "Running" for p in found)
        assert all(p.metadata.name.startswith("agent-") for p in found)
        status = (await ds(plane)).status
        assert status is not None
        assert (status.desired_number_scheduled, status.current_number_scheduled) == (3, 3)
        assert (status.number_ready, status.number_available, status.number_unavailable) == (
            3,
            3,
            0,
        )
        assert (status.updated_number_scheduled, status.number_misscheduled) == (3, 0)
        assert status.observed_generation == 1
        events = [str(getattr(e, "message", "")) for e in (await plane.client.list("Event")).items]
        assert any(m.startswith("Created pod: agent-") for m in events)

        await plane.client.create(new_node("node-4", plane.clock.now()))
        await settle(plane)
        found = await pods(plane)
        assert sorted(p.spec.node_name for p in found) == [f"node-{i}" for i in range(1, 5)]
        status = (await ds(plane)).status
        assert status is not None
        assert (status.desired_number_scheduled, status.number_available) == (4, 4)


async def test_node_selector_restricts_to_labelled_nodes() -> None:
    async with running() as plane:
        await plane.client.patch("Node", "node-2", {"metadata": {"labels": {"role": "edge"}}})
        await plane.apply(agent(selector="{role: edge}"))
        await settle(plane)
        assert [p.spec.node_name for p in await pods(plane)] == ["node-2"]
        status = (await ds(plane)).status
        assert status is not None
        assert (status.desired_number_scheduled, status.number_available) == (1, 1)
        # the label goes: the pod goes (gracefully, then the kubelet removes it)
        await plane.client.patch("Node", "node-2", {"metadata": {"labels": {"role": None}}})
        await settle(plane)
        assert await pods(plane) == []
        status = (await ds(plane)).status
        assert status is not None
        assert (status.desired_number_scheduled, status.number_misscheduled) == (0, 0)


async def test_rolling_update_replaces_pods_node_by_node() -> None:
    async with running() as plane:
        await plane.apply(agent())
        await settle(plane)
        t0 = plane.clock.now()
        await plane.apply(agent(image="agent:2"))
        await settle(plane)
        found = await pods(plane)
        assert sorted(p.spec.node_name for p in found) == ["node-1", "node-2", "node-3"]
        assert {p.spec.containers[0].image for p in found} == {"agent:2"}
        rollout = [(verb, node) for verb, node, t in await pod_actions(plane) if t >= t0]
        # maxUnavailable 1: a node's new pod comes only after its old one is gone, and the next
        # node's old pod is deleted only once that new pod is available
        assert rollout == [
            ("delete", "node-1"),
            ("create", "node-1"),
            ("delete", "node-2"),
            ("create", "node-2"),
            ("delete", "node-3"),
            ("create", "node-3"),
        ]
        status = (await ds(plane)).status
        assert status is not None
        assert (status.updated_number_scheduled, status.number_available) == (3, 3)
        assert status.observed_generation == 2
        revisions = (await plane.client.list("ControllerRevision", "default")).items
        assert sorted(r.revision for r in revisions if isinstance(r, ControllerRevision)) == [1, 2]
        newest = max(
            (r for r in revisions if isinstance(r, ControllerRevision)), key=lambda r: r.revision
        )
        assert {p.metadata.labels[HASH_LABEL] for p in found} == {
            newest.metadata.labels[HASH_LABEL]
        }


async def test_on_delete_waits_for_the_user() -> None:
    async with running() as plane:
        await plane.apply(agent(strategy="{type: OnDelete}"))
        await settle(plane)
        await plane.apply(agent(image="agent:2", strategy="{type: OnDelete}"))
        await settle(plane)
        assert {p.spec.containers[0].image for p in await pods(plane)} == {"agent:1"}
        status = (await ds(plane)).status
        assert status is not None
        assert status.updated_number_scheduled == 0
        victim = next(p for p in await pods(plane) if p.spec.node_name == "node-3")
        await plane.client.delete("Pod", victim.metadata.name, "default")
        await settle(plane)
        images = {p.spec.node_name: p.spec.containers[0].image for p in await pods(plane)}
        assert images == {"node-1": "agent:1", "node-2": "agent:1", "node-3": "agent:2"}
        status = (await ds(plane)).status
        assert status is not None
        assert (status.updated_number_scheduled, status.number_available) == (1, 3)
