"""The ReplicaSet controller against the real API server, informers and the virtual clock:
scale up, scale down, adoption, and availableReplicas after minReadySeconds (no real sleeps)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from msgspec.structs import replace

import store
from controllers.common.times import format_time
from controllers.replicaset import ReplicaSetController
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod, PodCondition, PodStatus
from cp.apiserver import ApiServer
from cp.client import acting_as
from cp.client.inprocess import InProcessClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Manager, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW, make_pod
from tests.controllers.replicaset.harness import WEB, replica_set

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Plane:
    client: InProcessClient
    clock: VirtualClock
    log: store.EventLog

    async def rs(self) -> ReplicaSet:
        rs = await self.client.get("ReplicaSet", "web", "default")
        assert isinstance(rs, ReplicaSet)
        return rs

    async def pods(self) -> list[Pod]:
        items = (await self.client.list("Pod", "default")).items
        return [p for p in items if isinstance(p, Pod)]


@asynccontextmanager
async def plane() -> AsyncIterator[Plane]:
    activity = Activity()
    clock = VirtualClock(activity, start=NOW)
    async with store.open_log("memory://") as log:
        server = ApiServer(log, clock_now=clock.now, ids=SeededIds(7).uid)
        client = InProcessClient(server)
        factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
        rsc = ReplicaSetController(
            client, factory, clock=clock, activity=activity, ids=SeededIds(0)
        )
        manager = Manager()
        manager.add(rsc.controller)
        async with factory, manager:
            await factory.wait_for_sync()
            yield Plane(client, clock, log)


def unsaved(rs: ReplicaSet) -> ReplicaSet:
    return replace(rs, metadata=replace(rs.metadata, uid="", generation=0))


async def test_scale_up_then_down() -> None:
    async with plane() as p:
        await p.client.create(unsaved(replica_set(30)))
        await p.clock.run_until_idle()
        pods = await p.pods()
        assert len(pods) == 30
        rs = await p.rs()
        assert all(
            re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", x.metadata.name) for x in pods
        )
        assert all(x.metadata.owner_references[0].uid == rs.metadata.uid for x in pods)
        assert rs.status is not None
        assert (rs.status.replicas, rs.status.observed_generation) == (30, 1)
        await p.client.patch("ReplicaSet", "web", {"spec": {"replicas": 4}}, namespace="default")
        await p.clock.run_until_idle()
        assert len(await p.pods()) == 4  # unscheduled pods go at once
        rs = await p.rs()
        assert rs.status is not None
        assert (rs.status.replicas, rs.status.observed_generation) == (4, 2)
        writes = [(e.type, e.actor) async for e in p.log.events() if "/pods/" in e.key]
        assert [t for t, _ in writes].count("DELETE") == 26
        assert {actor for _, actor in writes} == {"controller/replicaset"}
        events = (await p.client.list("Event", "default")).items
        assert events  # SuccessfulCreate / SuccessfulDelete through the EventRecorder


async def test_adopts_a_matching_orphan() -> None:
    async with plane() as p:
        orphan = make_pod("orphan", labels=dict(WEB, tier="front"), node="", uid="")
        await p.client.create(replace(orphan, status=None))
        await p.client.create(unsaved(replica_set(2)))
        await p.clock.run_until_idle()
        pods = await p.pods()
        assert len(pods) == 2
        rs = await p.rs()
        by_name = {x.metadata.name: x for x in pods}
        assert by_name["orphan"].metadata.owner_references[0].uid == rs.metadata.uid


async def test_available_replicas_follow_min_ready_seconds_on_the_virtual_clock() -> None:
    async with plane() as p:
        await p.client.create(unsaved(replica_set(3, min_ready=20)))
        await p.clock.run_until_idle()
        ready_at = p.clock.now()
        ready = PodStatus(
            phase="Running",
            conditions=(
                PodCondition(
                    type="Ready", status="True", last_transition_time=format_time(ready_at)
                ),
            ),
        )
        with acting_as("kubelet/node-1"):
            for pod in await p.pods():
                await p.client.update_status(replace(pod, status=ready))
        report = await p.clock.advance(5.0)
        assert report.elapsed <= 5.0
        rs = await p.rs()
        assert rs.status is not None
        assert (rs.status.ready_replicas, rs.status.available_replicas) == (3, 0)
        await p.clock.run_until_idle()
        rs = await p.rs()
        assert rs.status is not None
        assert rs.status.available_replicas == 3
        assert p.clock.now() - ready_at >= 20


async def test_same_inputs_give_a_byte_identical_log() -> None:
    async def run() -> list[tuple[object, ...]]:
        async with plane() as p:
            await p.client.create(unsaved(replica_set(40, min_ready=5)))
            await p.clock.run_until_idle()
            await p.client.patch("ReplicaSet", "web", {"spec": {"replicas": 7}}, "merge")
            await p.clock.run_until_idle()
            return [
                (e.revision, e.type, e.key, e.value, e.actor, e.cause, e.time)
                async for e in p.log.events()
            ]

    first = await run()
    assert len(first) > 80
    assert first == await run()
