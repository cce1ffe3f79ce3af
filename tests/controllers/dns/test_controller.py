"""The DNS controller over a FakeClient with hand-synced caches: create, no write when
unchanged (also from a stale cache), update on an Endpoints change, delete with the Service,
leftovers, and what the handlers enqueue."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from msgspec.structs import replace

from controllers.dns import DNS_NAME, DNSController
from cp.api.core import Endpoints
from cp.api.dns import DNSRecordSet
from cp.api.meta import ApiStruct, ObjectMeta
from cp.client import Action, FakeClient
from cp.informer import Deleted, SharedInformerFactory, WatchContext, meta_of, object_key
from cp.runtime import Activity, Request, SeededIds, VirtualClock
from tests.controllers.common.helpers import NOW
from tests.controllers.dns.helpers import address, endpoints, headless, service

pytestmark = pytest.mark.anyio

KINDS = ("Service", "Endpoints", "DNSRecordSet")
BASE = "web.default.svc.cluster.local"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NoApi:
    """A `ListWatcher` never called: the tests fill the caches themselves."""

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        raise AssertionError("the unit tests do not start the informers")

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext:
        raise AssertionError("the unit tests do not start the informers")


class Harness:
    """The controller over a FakeClient; `sync()` brings the caches to the fake's objects and
    fires the handlers as a reflector would (leaving it out is a stale cache)."""

    def __init__(self, *objects: ApiStruct) -> None:
        self.activity = Activity()
        self.clock = VirtualClock(self.activity, start=NOW)
        self.client = FakeClient(*objects, clock_now=self.clock.now)
        self.factory = SharedInformerFactory(NoApi(), self.activity)
        self.dnc = DNSController(
            self.client,
            self.factory,
            clock=self.clock,
            activity=self.activity,
            ids=SeededIds(0),
            wait_for_sync=False,
        )

    def sync(self) -> None:
        for kind in KINDS:
            informer = self.factory.informer_for(kind)
            indexer = informer.indexer
            live = {
                object_key(obj): obj for obj in self.client.objects() if type(obj).__name__ == kind
            }
            for key in indexer.sorted_keys():
                if key not in live:
                    gone = indexer.delete(key)
                    assert gone is not None
                    informer.on_delete(Deleted(gone))
            for _key, obj in sorted(live.items()):
                old = indexer.upsert(obj)
                if old is None:
                    informer.on_add(obj)
                elif meta_of(old).resource_version != meta_of(obj).resource_version:
                    informer.on_update(old, obj)

    async def enqueued(self) -> list[str]:
        queue = self.dnc.controller.queue
        keys: list[str] = []
        while len(queue):
            req = await queue.get()
            keys.append(str(req))
            queue.done(req)
        return sorted(keys)

    async def reconcile(self, name: str = "web") -> list[tuple[str, str, str]]:
        self.client.clear_actions()
        await self.dnc.reconcile(Request("default", name))
        return verbs(self.client.writes())

    def record_set(self, name: str = "web") -> DNSRecordSet | None:
        for obj in self.client.objects():
            if isinstance(obj, DNSRecordSet) and obj.metadata.name == name:
                return obj
        return None


def verbs(actions: Sequence[Action]) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.name) for a in actions]


async def test_creates_then_writes_nothing_when_unchanged() -> None:
    h = Harness(headless(), endpoints(ready=[address("10.244.1.2", "web-0")]))
    h.sync()
    assert await h.enqueued() == ["default/web"]
    assert await h.reconcile() == [("create", "DNSRecordSet", "web")]
    created = h.record_set()
    assert created is not None
    assert created.metadata.namespace == "default"
    assert created.metadata.owner_references == ()
    assert {(r.name, r.type): r.data for r in created.records}[(BASE, "A")] == ("10.244.1.2",)
    assert await h.reconcile() == []  # the cache has not seen the create yet: no second create
    h.sync()
    assert await h.enqueued() == ["default/web"]  # its own write comes back: a no-op sync
    assert await h.reconcile() == []


async def test_someone_elses_edit_is_undone() -> None:
    h = Harness(service())
    h.sync()
    await h.reconcile()
    h.sync()
    await h.enqueued()
    mine = h.record_set()
    assert mine is not None
    await h.client.update(replace(mine, records=()))
    h.sync()
    assert await h.enqueued() == ["default/web"]
    assert await h.reconcile() == [("update", "DNSRecordSet", "web")]
    fixed = h.record_set()
    assert fixed is not None
    assert fixed.records == mine.records


async def test_endpoints_change_updates_the_record_set() -> None:
    h = Harness(headless(), endpoints(ready=[address("10.244.1.2", "web-0")]))
    h.sync()
    await h.reconcile()
    h.sync()
    await h.enqueued()
    ep = endpoints(ready=[address("10.244.1.2", "web-0"), address("10.244.2.3", "web-1")])
    current = await h.client.get("Endpoints", "web", namespace="default")
    assert isinstance(current, Endpoints)
    await h.client.update(replace(current, subsets=ep.subsets))
    h.sync()
    assert await h.enqueued() == ["default/web"]
    assert await h.reconcile() == [("update", "DNSRecordSet", "web")]
    updated = h.record_set()
    assert updated is not None
    records = {(r.name, r.type): r.data for r in updated.records}
    assert records[(BASE, "A")] == ("10.244.1.2", "10.244.2.3")
    assert records[(BASE, "SRV")] == (
        f"0 50 8080 web-0.{BASE}.",
        f"0 50 8080 web-1.{BASE}.",
    )


async def test_cluster_ip_service_without_endpoints_gets_its_ip() -> None:
    h = Harness(service())
    h.sync()
    assert await h.reconcile() == [("create", "DNSRecordSet", "web")]
    created = h.record_set()
    assert created is not None
    assert created.records[0].data == ("10.96.0.10",)


async def test_headless_without_ready_pods_still_gets_an_empty_record_set() -> None:
    h = Harness(headless(), endpoints(not_ready=[address("10.244.1.2", "web-0")]))
    h.sync()
    assert await h.reconcile() == [("create", "DNSRecordSet", "web")]
    created = h.record_set()
    assert created is not None
    assert created.records == ()


async def test_service_deletion_deletes_the_record_set_once() -> None:
    h = Harness(service())
    h.sync()
    await h.reconcile()
    h.sync()
    await h.client.delete("Service", "web", namespace="default")
    h.sync()
    assert await h.enqueued() == ["default/web"]
    assert await h.reconcile() == [("delete", "DNSRecordSet", "web")]
    h.sync()
    assert await h.reconcile() == []


async def test_leftover_record_set_of_the_first_list_is_deleted() -> None:
    leftover = DNSRecordSet(metadata=ObjectMeta(name="gone", namespace="default"))
    h = Harness(leftover)
    h.sync()
    assert await h.enqueued() == ["default/gone"]
    assert await h.reconcile("gone") == [("delete", "DNSRecordSet", "gone")]


async def test_a_deleted_record_set_is_recreated() -> None:
    h = Harness(service())
    h.sync()
    await h.reconcile()
    h.sync()
    await h.enqueued()
    await h.client.delete("DNSRecordSet", "web", namespace="default")
    h.sync()
    assert await h.enqueued() == ["default/web"]
    assert await h.reconcile() == [("create", "DNSRecordSet", "web")]


async def test_handlers_ignore_a_resync_of_the_same_revision() -> None:
    h = Harness(service(), endpoints())
    h.sync()
    await h.enqueued()
    informer = h.factory.informer_for("Service")
    svc = informer.indexer.get("default", "web")
    assert svc is not None
    informer.on_update(svc, svc)
    assert await h.enqueued() == []
    assert h.dnc.controller.name == DNS_NAME
