"""A FakeClient, hand-synced informer caches and a ReplicaSet controller (STYLE 13).

`sync()` plays the informers: it brings each cache to the fake's objects and fires the
handlers (add, update, delete) as a reflector would, so expectations see what they would.
Leaving `sync()` out between two reconciles is a stale cache.
"""

from __future__ import annotations

from collections.abc import Sequence

from controllers.common.times import format_time
from controllers.replicaset import ReplicaSetController
from cp.api.apps import ReplicaSet, ReplicaSetSpec, ReplicaSetStatus
from cp.api.core_pod import Container, Pod, PodSpec, PodTemplateSpec
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, OwnerReference
from cp.client import Action, FakeClient
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Request, Result, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.fakes import NoApi, sync_caches

KINDS = ("ReplicaSet", "Pod")
WEB = {"app": "web"}
TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels={"app": "web", "tier": "front"}, annotations={"note": "x"}),
    spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
)
RS_REF = OwnerReference(
    api_version="apps/v1",
    kind="ReplicaSet",
    name="web",
    uid="rs-uid",
    controller=True,
    block_owner_deletion=True,
)


class Recorder:
    """An `EventSink` keeping (type, reason, message) in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


def replica_set(
    replicas: int | None = 3,
    *,
    min_ready: int = 0,
    generation: int = 1,
    status: ReplicaSetStatus | None = None,
    owners: tuple[OwnerReference, ...] = (),
    deleting: bool = False,
    name: str = "web",
    uid: str = "rs-uid",
) -> ReplicaSet:
    return ReplicaSet(
        metadata=ObjectMeta(
            name=name,
            namespace="default",
            uid=uid,
            generation=generation,
            owner_references=owners,
            deletion_timestamp=format_time(NOW) if deleting else None,
            finalizers=("keep",) if deleting else (),
        ),
        spec=ReplicaSetSpec(
            replicas=replicas,
            min_ready_seconds=min_ready,
            selector=LabelSelector(match_labels=WEB),
            template=TEMPLATE,
        ),
        status=status,
    )


class Harness:
    """The controller over a FakeClient; caches mirror the fake on `sync()`."""

    def __init__(self, *objects: ApiStruct, burst_replicas: int | None = None) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.recorder = Recorder()
        self.rsc = ReplicaSetController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            recorder=self.recorder,
            burst_replicas=burst_replicas,
        )
        self.sync()

    def sync(self, kinds: Sequence[str] = KINDS) -> None:
        """Bring the caches of `kinds` to the fake's objects, firing the handlers."""
        sync_caches(self.factory, self.client, kinds)

    async def reconcile(self, name: str = "web") -> tuple[list[Action], Result]:
        """One reconcile of `default/<name>`: its writes and result (caches not synced)."""
        self.client.clear_actions()
        result = await self.rsc.reconcile(Request("default", name))
        return self.client.writes(), result

    def pods(self) -> list[Pod]:
        return [obj for obj in self.client.objects() if isinstance(obj, Pod)]

    def rs(self, name: str = "web") -> ReplicaSet:
        for obj in self.client.objects():
            if isinstance(obj, ReplicaSet) and obj.metadata.name == name:
                return obj
        raise AssertionError(f"no ReplicaSet {name}")

    def status(self, name: str = "web") -> ReplicaSetStatus:
        status = self.rs(name).status
        assert status is not None
        return status

    async def queued(self) -> list[Request]:
        """The keys waiting in the work queue, taken out (and marked done) in order."""
        queue = self.rsc.controller.queue
        keys = []
        while len(queue):
            key = await queue.get()
            queue.done(key)
            keys.append(key)
        return keys


def verbs(actions: Sequence[Action]) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.name) for a in actions]
