"""A FakeClient, hand-synced informer caches and an Endpoints controller (STYLE 13).

`sync()` plays the informers: it brings each cache to the fake's objects and fires the
handlers (add, update, delete) as a reflector would. Leaving `sync()` out between two
reconciles is a stale cache. `enqueued()` drains the keys the handlers queued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controllers.common.times import format_time
from controllers.endpoints import EndpointsController
from cp.api.core import Endpoints, Service, ServicePort, ServiceSpec
from cp.api.core_pod import (
    Container,
    ContainerPort,
    Pod,
    PodCondition,
    PodIP,
    PodSpec,
    PodStatus,
)
from cp.api.meta import ApiStruct, ObjectMeta
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.fakes import NoApi, sync_caches

KINDS = ("Service", "Pod", "Endpoints")


class Recorder:
    """An `EventSink` keeping (type, reason, message) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))


def service(
    name: str = "web",
    *,
    selector: Mapping[str, str] | None = None,
    cluster_ip: str = "10.96.10.10",
    ports: tuple[ServicePort, ...] = (
        ServicePort(name="http", port=80, target_port=8080, protocol="TCP"),
    ),
    labels: Mapping[str, str] | None = None,
    publish_not_ready: bool = False,
    type: str = "ClusterIP",
    created: float = NOW,
) -> Service:
    return Service(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            uid=f"{name}-svc-uid",
            labels={"app": name} if labels is None else labels,
            creation_timestamp=format_time(created),
        ),
        spec=ServiceSpec(
            ports=ports,
            selector={"app": "web"} if selector is None else selector,
            cluster_ip=cluster_ip,
            cluster_ips=(cluster_ip,) if cluster_ip else (),
            type=type,
            ip_families=("IPv4",),
        ),
    )


def pod(
    name: str,
    ip: str = "",
    *,
    ready: bool = False,
    ready_since: float = NOW,
    labels: Mapping[str, str] | None = None,
    node: str = "node-1",
    hostname: str = "",
    subdomain: str = "",
    ports: tuple[ContainerPort, ...] = (),
    phase: str = "Running",
    deleting: bool = False,
    namespace: str = "default",
) -> Pod:
    condition = PodCondition(
        type="Ready",
        status="True" if ready else "False",
        last_transition_time=format_time(ready_since),
    )
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            uid=f"{name}-uid",
            labels={"app": "web"} if labels is None else labels,
            deletion_timestamp=format_time(NOW) if deleting else None,
            finalizers=("keep",) if deleting else (),
        ),
        spec=PodSpec(
            containers=(Container(name="c", image="nginx", ports=ports),),
            node_name=node,
            hostname=hostname,
            subdomain=subdomain,
        ),
        status=PodStatus(
            phase=phase,
            conditions=(condition,),
            pod_ip=ip,
            pod_ips=(PodIP(ip=ip),) if ip else (),
        ),
    )


class Harness:
    """The controller over a FakeClient; caches mirror the fake on `sync()`."""

    def __init__(self, *objects: ApiStruct) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.recorder = Recorder()
        self.epc = EndpointsController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            recorder=self.recorder,
            wait_for_sync=False,
        )
        self.sync()

    def sync(self, kinds: Sequence[str] = KINDS) -> None:
        """Bring the caches of `kinds` to the fake's objects, firing the handlers."""
        sync_caches(self.factory, self.client, kinds)

    async def enqueued(self) -> list[str]:
        """The keys the handlers queued since the last call (drained, sorted)."""
        queue = self.epc.controller.queue
        keys: list[str] = []
        while len(queue):
            req = await queue.get()
            keys.append(str(req))
            queue.done(req)
        return sorted(keys)

    async def reconcile(self, name: str = "web") -> tuple[list[Action], Result]:
        """One reconcile of `default/<name>`: its writes and result (caches not synced)."""
        self.client.clear_actions()
        result = await self.epc.reconcile(Request("default", name))
        return self.client.writes(), result

    def endpoints(self, name: str = "web") -> Endpoints | None:
        for obj in self.client.objects():
            if isinstance(obj, Endpoints) and obj.metadata.name == name:
                return obj
        return None


def verbs(actions: Sequence[Action]) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.name) for a in actions]
