"""The garbage collector as recorded actions (STYLE 13): preload a fake client and the informer
caches, run one reconcile, compare the ordered writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from msgspec.structs import replace

import store
from controllers.gc import GC_KINDS, GC_NAME, GarbageCollector, gc_request, parse_gc_request
from cp.api.apps import Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec
from cp.api.core_pod import Container, Pod, PodSpec, PodTemplateSpec
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, OwnerReference
from cp.apiserver import ApiServer
from cp.client import Action, FakeClient
from cp.client.inprocess import InProcessClient
from cp.informer import SharedInformerFactory, WatchContext, meta_of
from cp.runtime import Activity, Manager, Request, SeededIds, TerminalError, VirtualClock

pytestmark = pytest.mark.anyio

KINDS = ("Deployment", "ReplicaSet", "Pod")
DELETED_AT = "2024-01-01T00:00:00Z"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _NoApi:
    """A `ListWatcher` never called: the tests fill the caches themselves."""

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        raise AssertionError("the unit tests do not start the informers")

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        raise AssertionError("the unit tests do not start the informers")


def ref(kind: str, name: str, uid: str) -> OwnerReference:
    api_version = "v1" if kind == "Pod" else "apps/v1"
    return OwnerReference(
        api_version=api_version,
        kind=kind,
        name=name,
        uid=uid,
        controller=True,
        block_owner_deletion=True,
    )


def meta(
    name: str,
    uid: str,
    owners: tuple[OwnerReference, ...] = (),
    finalizers: tuple[str, ...] = (),
) -> ObjectMeta:
    return ObjectMeta(
        name=name,
        namespace="default",
        uid=uid,
        owner_references=owners,
        finalizers=finalizers,
        deletion_timestamp=DELETED_AT if finalizers else None,
    )


TEMPLATE = PodTemplateSpec(
    metadata=ObjectMeta(labels={"app": "web"}),
    spec=PodSpec(containers=(Container(name="c", image="nginx"),)),
)
SELECTOR = LabelSelector(match_labels={"app": "web"})


def deployment(finalizers: tuple[str, ...] = ()) -> Deployment:
    return Deployment(
        metadata=meta("web", "dep-uid", finalizers=finalizers),
        spec=DeploymentSpec(selector=SELECTOR, template=TEMPLATE),
    )


def replica_set(owners: tuple[OwnerReference, ...], name: str = "web-1") -> ReplicaSet:
    return ReplicaSet(
        metadata=meta(name, f"{name}-uid", owners),
        spec=ReplicaSetSpec(selector=SELECTOR, template=TEMPLATE),
    )


def pod(name: str, owners: tuple[OwnerReference, ...]) -> Pod:
    return Pod(metadata=meta(name, f"{name}-uid", owners), spec=TEMPLATE.spec)


class Harness:
    """A FakeClient and a collector whose caches mirror it on `sync()`."""

    def __init__(self, *objects: ApiStruct) -> None:
        self.client = FakeClient(*objects)
        activity = Activity()
        self.factory = SharedInformerFactory(_NoApi(), activity)
        self.gc = GarbageCollector(
            self.client,
            self.factory,
            KINDS,
            clock=VirtualClock(activity),
            activity=activity,
            ids=SeededIds(0),
        )
        self.sync()

    def sync(self) -> None:
        """Make every cache equal the fake's objects (what the informers would do)."""
        for kind in KINDS:
            indexer = self.factory.informer_for(kind).indexer
            for key in indexer.sorted_keys():
                indexer.delete(key)
        for obj in self.client.objects():
            self.factory.informer_for(type(obj).__name__).indexer.upsert(obj)

    async def reconcile(self, kind: str, name: str) -> list[Action]:
        self.client.clear_actions()
        await self.gc.reconcile(gc_request(kind, "default", name))
        writes = self.client.writes()
        self.sync()
        return writes

    def names(self) -> list[str]:
        return [f"{type(o).__name__}/{meta_of(o).name}" for o in self.client.objects()]


def delete(kind: str, name: str) -> Action:
    return Action("delete", kind, "default", name)


def remove_finalizer(kind: str, name: str, finalizer: str) -> Action:
    ops = [
        {"op": "test", "path": "/metadata/finalizers/0", "value": finalizer},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]
    return Action("patch", kind, "default", name, ops)


def test_keys_carry_the_kind() -> None:
    req = gc_request("ReplicaSet", "default", "web-1")
    assert str(req) == "default/ReplicaSet/web-1"
    assert parse_gc_request(req) == ("ReplicaSet", "default", "web-1")
    with pytest.raises(TerminalError):
        parse_gc_request(Request("default", "web-1"))


def test_the_controller_acts_as_the_garbage_collector() -> None:
    h = Harness()
    assert h.gc.controller.actor == f"controller/{GC_NAME}" == "controller/garbage-collector"
    assert h.gc.kinds == KINDS


async def test_background_deletes_dependents_of_a_deleted_owner() -> None:
    rs_owner = (ref("Deployment", "web", "dep-uid"),)
    pod_owner = (ref("ReplicaSet", "web-1", "web-1-uid"),)
    h = Harness(replica_set(rs_owner), pod("web-1-a", pod_owner), pod("web-1-b", pod_owner))

    # the pods' owner is alive: they stay
    assert await h.reconcile("Pod", "web-1-a") == []
    # the RS's Deployment is gone: the RS goes
    assert await h.reconcile("ReplicaSet", "web-1") == [delete("ReplicaSet", "web-1")]
    # then its pods
    assert await h.reconcile("Pod", "web-1-a") == [delete("Pod", "web-1-a")]
    assert await h.reconcile("Pod", "web-1-b") == [delete("Pod", "web-1-b")]
    assert h.names() == []


async def test_an_owner_with_another_uid_under_the_name_counts_as_gone() -> None:
    h = Harness(deployment(), replica_set((ref("Deployment", "web", "old-dep-uid"),)))
    assert await h.reconcile("ReplicaSet", "web-1") == [delete("ReplicaSet", "web-1")]
    assert h.names() == ["Deployment/web"]


async def test_a_dependent_with_one_live_owner_of_two_is_kept() -> None:
    owners = (ref("ReplicaSet", "web-1", "web-1-uid"), ref("ReplicaSet", "web-2", "web-2-uid"))
    h = Harness(replica_set(()), pod("p", owners))  # web-2 does not exist

    writes = await h.reconcile("Pod", "p")

    ops = [
        {"op": "test", "path": "/metadata/ownerReferences/1/uid", "value": "web-2-uid"},
        {"op": "remove", "path": "/metadata/ownerReferences/1"},
    ]
    assert writes == [Action("patch", "Pod", "default", "p", ops)]
    kept = h.client.objects()[0]
    assert isinstance(kept, Pod)
    assert kept.metadata.owner_references == owners[:1]


async def test_an_object_without_owners_is_left_alone() -> None:
    h = Harness(replica_set(()))
    assert await h.reconcile("ReplicaSet", "web-1") == []
    assert await h.reconcile("ReplicaSet", "missing") == []


async def test_foreground_removes_the_finalizer_only_after_blocking_dependents_are_gone() -> None:
    rs_owner = (ref("Deployment", "web", "dep-uid"),)
    pod_owner = (ref("ReplicaSet", "web-1", "web-1-uid"),)
    h = Harness(
        deployment(("foregroundDeletion",)),
        replica_set(rs_owner),
        pod("web-1-a", pod_owner),
    )

    # the RS has dependents of its own: deleted in foreground (finalizer, then delete)
    add_finalizer = [
        {"op": "test", "path": "/metadata/uid", "value": "web-1-uid"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["foregroundDeletion"]},
    ]
    assert await h.reconcile("Deployment", "web") == [
        Action("patch", "ReplicaSet", "default", "web-1", add_finalizer),
        delete("ReplicaSet", "web-1"),
    ]
    # the RS still blocks (being deleted): the Deployment keeps its finalizer
    assert await h.reconcile("Deployment", "web") == []
    # the RS deletes its pods, then lets itself go
    assert await h.reconcile("ReplicaSet", "web-1") == [delete("Pod", "web-1-a")]
    assert await h.reconcile("ReplicaSet", "web-1") == [
        remove_finalizer("ReplicaSet", "web-1", "foregroundDeletion")
    ]
    assert h.names() == ["Deployment/web"]
    # nothing blocks any more: the Deployment's finalizer goes, and with it the Deployment
    assert await h.reconcile("Deployment", "web") == [
        remove_finalizer("Deployment", "web", "foregroundDeletion")
    ]
    assert h.names() == []


async def test_foreground_does_not_wait_for_non_blocking_dependents() -> None:
    loose = OwnerReference(api_version="apps/v1", kind="Deployment", name="web", uid="dep-uid")
    h = Harness(deployment(("foregroundDeletion",)), replica_set((loose,)))
    assert await h.reconcile("Deployment", "web") == [
        remove_finalizer("Deployment", "web", "foregroundDeletion")
    ]
    assert h.names() == ["ReplicaSet/web-1"]  # collected later, in the background
    assert await h.reconcile("ReplicaSet", "web-1") == [delete("ReplicaSet", "web-1")]


async def test_orphan_removes_owner_references_then_the_finalizer() -> None:
    rs_owner = (ref("Deployment", "web", "dep-uid"),)
    pod_owner = (ref("ReplicaSet", "web-1", "web-1-uid"),)
    h = Harness(deployment(("orphan",)), replica_set(rs_owner), pod("web-1-a", pod_owner))

    ops = [
        {"op": "test", "path": "/metadata/ownerReferences/0/uid", "value": "dep-uid"},
        {"op": "remove", "path": "/metadata/ownerReferences/0"},
    ]
    assert await h.reconcile("Deployment", "web") == [
        Action("patch", "ReplicaSet", "default", "web-1", ops),
        remove_finalizer("Deployment", "web", "orphan"),
    ]
    assert h.names() == ["Pod/web-1-a", "ReplicaSet/web-1"]
    rs = h.client.objects()[1]
    assert isinstance(rs, ReplicaSet)
    assert rs.metadata.owner_references == ()
    # the orphaned RS has no owner left: nothing to collect
    assert await h.reconcile("ReplicaSet", "web-1") == []


# -- end to end: the real apiserver, informers and manager on the virtual clock ---------------


def _counter_ids() -> Callable[[], str]:
    count = 0

    def ids() -> str:
        nonlocal count
        count += 1
        return f"00000000-0000-0000-0000-{count:012d}"

    return ids


def _owned_by(obj: ApiStruct) -> tuple[OwnerReference, ...]:
    m = meta_of(obj)
    return (ref(type(obj).__name__, m.name, m.uid),)


def _unsaved(obj: ApiStruct, owners: tuple[OwnerReference, ...]) -> ApiStruct:
    m = meta_of(obj)
    return replace(
        obj, metadata=replace(m, uid="", deletion_timestamp=None, owner_references=owners)
    )


@pytest.mark.parametrize("finalizers", [(), ("foregroundDeletion",)])
async def test_deleting_a_deployment_collects_its_replica_set_and_pods(
    finalizers: tuple[str, ...],
) -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    async with store.open_log("memory://") as log:
        server = ApiServer(log, clock_now=clock.now, ids=_counter_ids())
        client = InProcessClient(server)
        dep = await client.create(_unsaved(deployment(finalizers), ()))
        rs = await client.create(_unsaved(replica_set(()), _owned_by(dep)))
        for name in ("web-1-a", "web-1-b"):
            await client.create(_unsaved(pod(name, ()), _owned_by(rs)))
        other = await client.create(_unsaved(pod("loner", ()), ()))
        factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
        gc = GarbageCollector(
            client, factory, GC_KINDS, clock=clock, activity=activity, ids=SeededIds(0)
        )
        manager = Manager()
        manager.add(gc.controller)
        async with factory, manager:
            await factory.wait_for_sync()
            await clock.run_until_idle()
            assert len((await client.list("Pod")).items) == 3  # nothing to collect yet
            await client.delete("Deployment", "web")
            await clock.run_until_idle()
            for kind in ("Deployment", "ReplicaSet"):
                assert (await client.list(kind)).items == ()
            pods = (await client.list("Pod")).items
            assert [meta_of(p).uid for p in pods] == [meta_of(other).uid]
