"""A control plane without the plane: ApiServer on the memory store, InProcessClient, informers,
the scheduler and/or the kubelet simulator, all on one virtual clock (as test_gc's end-to-end
tests). Shared by the scheduler and kubelet tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import store
from controllers.kubelet import Kubelet, Profile
from controllers.scheduler import Scheduler
from cp.api.codec import CODEC
from cp.api.core import Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, Taint
from cp.api.core_pod import Container, Pod, PodSpec, Probe
from cp.api.meta import ObjectMeta
from cp.apiserver import ApiServer
from cp.client import acting_as
from cp.client.inprocess import InProcessClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Manager, SeededIds, VirtualClock

#: The virtual clock starts here (2023-11-14T22:13:20Z), so timestamps are whole seconds.
T0 = 1_700_000_000.0


def make_node(
    i: int,
    *,
    ready: bool = True,
    labels: Mapping[str, str] | None = None,
    unschedulable: bool = False,
    taints: tuple[Taint, ...] = (),
    cidr: str | None = None,
) -> Node:
    name = f"node-{i}"
    cidr = cidr if cidr is not None else f"10.244.{i - 1}.0/24"
    condition = NodeCondition(type="Ready", status="True" if ready else "False")
    return Node(
        metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name, **(labels or {})}),
        spec=NodeSpec(pod_cidr=cidr, pod_cidrs=(cidr,), unschedulable=unschedulable, taints=taints),
        status=NodeStatus(
            conditions=(condition,),
            addresses=(NodeAddress(type="InternalIP", address=f"172.18.0.{i + 1}"),),
        ),
    )


def make_pod(
    name: str,
    *,
    image: str = "nginx:1.25",
    init: Sequence[str] = (),
    readiness: Probe | None = None,
    node_selector: Mapping[str, str] | None = None,
    node_name: str = "",
    restart_policy: str = "",
    grace: int | None = None,
) -> Pod:
    return Pod(
        metadata=ObjectMeta(name=name, namespace="default", labels={"app": "web"}),
        spec=PodSpec(
            init_containers=tuple(
                Container(name=f"init-{i}", image=img) for i, img in enumerate(init)
            ),
            containers=(Container(name="app", image=image, readiness_probe=readiness),),
            node_selector=node_selector or {},
            node_name=node_name,
            restart_policy=restart_policy,
            termination_grace_period_seconds=grace,
        ),
    )


@dataclass(frozen=True)
class Write:
    """One write of a pod: seconds since the start, PUT or DELETE, actor, the pod (last state)."""

    at: float
    type: str
    actor: str
    pod: Pod


@dataclass
class Cluster:
    client: InProcessClient
    clock: VirtualClock
    server: ApiServer
    kubelet: Kubelet | None
    scheduler: Scheduler | None

    def now(self) -> float:
        """Seconds since the cluster started."""
        return self.clock.now() - T0

    async def run_until(self, seconds: float) -> None:
        """Let virtual time pass until exactly `seconds` after the start (every timer due by
        then fires; the clock ends there, so a write made next happens at that time)."""
        if self.clock.now() < T0 + seconds:
            self.clock.call_at(T0 + seconds, lambda: None)
        await self.clock.run_until_idle(T0 + seconds)

    async def pod(self, name: str) -> Pod:
        pod = await self.client.get("Pod", name, "default")
        assert isinstance(pod, Pod)
        return pod

    async def history(self, name: str) -> list[Write]:
        """Every write of pod `name` in the log, in order."""
        out = []
        async for ev in self.server.log.events(prefix=f"/registry/pods/default/{name}"):
            if ev.key != f"/registry/pods/default/{name}":
                continue
            raw = ev.value if ev.value is not None else ev.prev_value
            assert raw is not None
            pod = CODEC.decode(Pod, raw)
            out.append(Write(ev.time - T0, ev.type, ev.actor, pod))
        return out

    async def pods(self) -> list[Pod]:
        return [p for p in (await self.client.list("Pod", "default")).items if isinstance(p, Pod)]


@asynccontextmanager
async def cluster(
    nodes: Sequence[Node] | int = 3,
    *,
    profile: Profile | str | None = None,
    seed: int = 0,
    scheduler: bool = True,
    kubelet: bool = True,
) -> AsyncIterator[Cluster]:
    activity = Activity()
    clock = VirtualClock(activity, start=T0)
    ids = SeededIds(seed)
    async with store.open_log("memory://") as log:
        server = ApiServer(log, clock_now=clock.now, ids=ids.uid)
        client = InProcessClient(server)
        node_list = [make_node(i) for i in range(1, nodes + 1)] if isinstance(nodes, int) else nodes
        for node in node_list:
            with acting_as(f"kubelet/{node.metadata.name}"):
                await client.create(node)
        factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
        manager = Manager()
        sched = kube = None
        if scheduler:
            sched = Scheduler(client, factory, clock=clock, activity=activity, ids=ids)
            manager.add(sched.controller)
        if kubelet:
            kube = Kubelet(
                client, factory, clock=clock, activity=activity, ids=ids, profile=profile
            )
            manager.add(kube.controller)
        async with factory, manager:
            await factory.wait_for_sync()
            await clock.run_until_idle(T0)
            yield Cluster(client, clock, server, kube, sched)
