"""Informers: list+watch into an indexed cache, typed handler calls, relist on Expired, sharing,
and the activity probe that keeps the virtual clock from jumping before handlers ran."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

import anyio
import pytest

from cp.api.apps import ReplicaSet
from cp.api.core import ConfigMap
from cp.api.errors import Expired
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.api.selectors import Selector
from cp.apiserver import ApiServer
from cp.informer import (
    Deleted,
    Handlers,
    Indexer,
    InformerError,
    Lister,
    ListWatcher,
    SharedInformerFactory,
    WatchEventLike,
    key_of,
    meta_of,
)
from cp.runtime import Activity, VirtualClock

GUARD = 5.0  # seconds: a hang guard only; nothing waits on real time

Call = tuple[Any, ...]


def cm(
    name: str,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    owners: Sequence[tuple[str, bool]] = (),
    data: dict[str, str] | None = None,
) -> ConfigMap:
    refs = tuple(
        OwnerReference(
            api_version="apps/v1", kind="ReplicaSet", name=f"rs-{uid}", uid=uid, controller=ctl
        )
        for uid, ctl in owners
    )
    meta = ObjectMeta(name=name, namespace=namespace, labels=labels or {}, owner_references=refs)
    return ConfigMap(metadata=meta, data=data or {})


def rv(obj: ApiStruct) -> int:
    return int(meta_of(obj).resource_version)


def name_of(obj: ApiStruct) -> str:
    return meta_of(obj).name


class Recorder:
    """An EventHandler that records (verb, name, rv...) and lets a test wait for N calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.objects: list[tuple[str, Any]] = []
        self._changed: anyio.Event | None = None

    def _record(self, call: Call, payload: Any) -> None:
        self.calls.append(call)
        self.objects.append((call[0], payload))
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def on_add(self, obj: ApiStruct) -> None:
        self._record(("add", name_of(obj), rv(obj)), obj)

    def on_update(self, old: ApiStruct, new: ApiStruct) -> None:
        self._record(("update", name_of(new), rv(old), rv(new)), (old, new))

    def on_delete(self, deleted: Deleted) -> None:
        obj = deleted.obj
        self._record(("delete", name_of(obj), rv(obj), deleted.final_state_unknown), deleted)

    async def wait_for(self, n: int) -> None:
        with anyio.fail_after(GUARD):
            while len(self.calls) < n:
                self._changed = anyio.Event()
                await self._changed.wait()


class GatedWatch:
    """Wraps an ApiWatch: events wait at the owner's gate; `expire_next` raises Expired."""

    def __init__(self, owner: GatedListWatcher, inner: Any) -> None:
        self._owner = owner
        self._inner = inner
        self._stream: Any = None
        self._held: int | None = None

    async def __aenter__(self) -> GatedWatch:
        self._stream = await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    @property
    def position(self) -> int:
        """The store watcher's position (what `ApiWatch.position` would expose), less an event
        held at the gate (the real watch hands each event straight to the reflector)."""
        position = int(self._inner._watch.position)
        if self._held is not None:
            position = min(position, self._held - 1)
        return position

    def __aiter__(self) -> AsyncIterator[WatchEventLike]:
        return self._events()

    async def _events(self) -> AsyncIterator[WatchEventLike]:
        owner = self._owner
        async for event in self._stream:
            gate = owner.gate
            if gate is not None:
                self._held = rv(event.object)
                await gate.wait()
                self._held = None
            if owner.expire_next:
                owner.expire_next = False
                raise Expired.too_old(1, 2)
            yield event


class GatedListWatcher:
    """A ListWatcher over an ApiServer that counts calls and can hold or expire its watches."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.lists = 0
        self.watches = 0
        self.gate: anyio.Event | None = None
        self.expire_next = False

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]:
        self.lists += 1
        return await self.server.list(kind, namespace)

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> GatedWatch:
        self.watches += 1
        inner = self.server.watch(kind, namespace, resource_version=resource_version)
        return GatedWatch(self, inner)


def as_list_watcher(lw: ListWatcher) -> ListWatcher:
    return lw  # mypy checks that ApiServer and GatedListWatcher satisfy the protocol


def cache_state(indexer: Indexer) -> dict[str, int]:
    return {key: rv(obj) for key in indexer.sorted_keys() if (obj := indexer.get_by_key(key))}


async def store_state(server: ApiServer) -> dict[str, int]:
    items, _ = await server.list("ConfigMap")
    return {key_of(meta_of(o).namespace, meta_of(o).name): rv(o) for o in items}


# -- handlers -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_add_update_delete_reach_handlers_in_order(server: ApiServer) -> None:
    factory = SharedInformerFactory(as_list_watcher(server), Activity())
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with factory:
        await factory.wait_for_sync()
        assert informer.has_synced
        a = await server.create(cm("a", data={"v": "1"}))
        a2 = await server.update(ConfigMap(metadata=a.metadata, data={"v": "2"}))
        await server.delete("ConfigMap", "a", "default")
        await recorder.wait_for(3)
    assert recorder.calls == [
        ("add", "a", rv(a)),
        ("update", "a", rv(a), rv(a2)),
        ("delete", "a", rv(a2) + 1, False),
    ]
    added, (old, new), deleted = (payload for _, payload in recorder.objects)
    assert isinstance(added, ConfigMap)
    assert added.data == {"v": "1"}
    assert isinstance(old, ConfigMap)
    assert old.data == {"v": "1"}
    assert isinstance(new, ConfigMap)
    assert new.data == {"v": "2"}
    assert isinstance(deleted, Deleted)
    assert isinstance(deleted.obj, ConfigMap)
    assert deleted.obj.data == {"v": "2"}
    assert len(informer.indexer) == 0
    assert informer.last_applied_revision == server.log.revision


@pytest.mark.anyio
async def test_initial_list_is_dispatched_as_adds_and_late_handlers_get_a_replay(
    server: ApiServer,
) -> None:
    for name in ("b", "a"):
        await server.create(cm(name))
    factory = SharedInformerFactory(server, Activity())
    informer = factory.informer_for("ConfigMap")
    early = Recorder()
    informer.add_handler(early)
    async with factory:
        await factory.wait_for_sync()
        late = Recorder()
        remove = informer.add_handler(late)
        assert [c[:2] for c in early.calls] == [("add", "a"), ("add", "b")]
        assert late.calls == early.calls
        remove()
        await server.create(cm("c"))
        await early.wait_for(3)
    assert len(late.calls) == 2


@pytest.mark.anyio
async def test_cached_objects_are_the_dispatched_objects_not_copies(server: ApiServer) -> None:
    factory = SharedInformerFactory(server, Activity())
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with factory:
        await factory.wait_for_sync()
        await server.create(cm("a"))
        await recorder.wait_for(1)
    lister = informer.lister(ConfigMap)
    got = lister.get("default", "a")
    assert got is recorder.objects[0][1]
    assert lister.list() == [got]


# -- indexes --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_indexes_follow_a_mix_of_writes(server: ApiServer) -> None:
    factory = SharedInformerFactory(server, Activity())
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with factory:
        await factory.wait_for_sync()
        a = await server.create(cm("a", labels={"app": "web"}, owners=[("u1", True)]))
        b = await server.create(
            cm("b", "other", labels={"app": "web"}, owners=[("u1", False), ("u2", True)])
        )
        await server.create(cm("c", labels={"app": "db"}, owners=[("u2", True)]))
        await server.create(cm("d", "other", labels={"tier": "fe"}))
        await server.update(
            ConfigMap(
                metadata=ObjectMeta(
                    name="a",
                    namespace="default",
                    resource_version=a.metadata.resource_version,
                    labels={"app": "db", "tier": "fe"},
                    owner_references=(
                        OwnerReference(
                            api_version="apps/v1", kind="ReplicaSet", name="x", uid="u3"
                        ),
                    ),
                )
            )
        )
        await server.update(
            ConfigMap(
                metadata=ObjectMeta(
                    name="b",
                    namespace="other",
                    resource_version=b.metadata.resource_version,
                    labels={"app": "web"},
                )
            )
        )
        await server.delete("ConfigMap", "c", "default")
        await recorder.wait_for(7)
        assert cache_state(informer.indexer) == await store_state(server)

    lister = informer.lister(ConfigMap)

    def names(objs: Sequence[ApiStruct]) -> list[str]:
        return [key_of(meta_of(o).namespace, meta_of(o).name) for o in objs]

    assert names(lister.list("default")) == ["default/a"]
    assert names(lister.list("other")) == ["other/b", "other/d"]
    assert names(lister.list()) == ["default/a", "other/b", "other/d"]
    assert names(lister.list(selector=Selector.parse("app=web"))) == ["other/b"]
    assert names(lister.list(selector=Selector.parse("app=db"))) == ["default/a"]
    assert names(lister.list(selector=Selector.parse("tier=fe"))) == ["default/a", "other/d"]
    assert names(lister.list("other", Selector.parse("tier=fe"))) == ["other/d"]
    assert names(lister.list(selector=Selector.parse("tier=fe,app=db"))) == ["default/a"]
    assert names(lister.list(selector=Selector.parse("app in (web,db)"))) == [
        "default/a",
        "other/b",
    ]
    assert names(lister.list("default", Selector.parse("!app"))) == []
    assert lister.list(selector=Selector.nothing()) == []
    assert names(lister.list(selector=Selector.everything())) == names(lister.list())
    assert lister.by_controller("u1") == []
    assert lister.by_controller("u2") == []
    assert names(lister.by_owner("u1")) == []
    assert names(lister.by_owner("u3")) == ["default/a"]
    assert lister.by_controller("u3") == []
    assert lister.get("default", "c") is None
    got = lister.get("other", "b")
    assert got is not None
    assert got.metadata.labels == {"app": "web"}


def test_indexer_owner_and_controller_indexes_directly() -> None:
    indexer = Indexer()
    x = cm("x", labels={"k": "v"}, owners=[("u1", True), ("u2", False)])
    assert indexer.upsert(x) is None
    assert [name_of(o) for o in indexer.by_controller("u1")] == ["x"]
    assert [name_of(o) for o in indexer.by_owner("u2")] == ["x"]
    assert [name_of(o) for o in indexer.by_owner("u1")] == ["x"]
    assert indexer.by_controller("u2") == []
    moved = cm("x", labels={"k": "w"}, owners=[("u2", True)])
    assert indexer.upsert(moved) is x
    assert indexer.by_controller("u1") == []
    assert indexer.by_owner("u1") == []
    assert indexer.by_controller("u2") == [moved]
    assert indexer.list(selector=Selector.parse("k=v")) == []
    assert indexer.list(selector=Selector.parse("k=w")) == [moved]
    assert indexer.delete("default/x") is moved
    assert indexer.delete("default/x") is None
    assert indexer.by_owner("u2") == []
    assert indexer.list() == []
    cluster = ConfigMap(metadata=ObjectMeta(name="n"))
    indexer.upsert(cluster)
    assert indexer.get("", "n") is cluster
    assert "n" in indexer


def test_lister_get_checks_the_type_and_meta_of_refuses_structs_without_metadata() -> None:
    indexer = Indexer()
    indexer.upsert(cm("x"))
    assert Lister(indexer, ConfigMap).get("default", "x") is not None
    with pytest.raises(InformerError):
        meta_of(ObjectMeta())
    with pytest.raises(InformerError):
        Lister(indexer, ReplicaSet).get("default", "x")


# -- relist ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_expired_watch_relists_to_the_store_state_with_the_right_handler_calls(
    server: ApiServer,
) -> None:
    a = await server.create(cm("a", data={"v": "1"}))
    b = await server.create(cm("b"))
    c = await server.create(cm("c"))
    lw = GatedListWatcher(server)
    activity = Activity()
    factory = SharedInformerFactory(lw, activity, head=lambda: server.log.revision)
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with factory:
        await factory.wait_for_sync()
        assert [call[:2] for call in recorder.calls] == [("add", "a"), ("add", "b"), ("add", "c")]
        gate = lw.gate = anyio.Event()
        a2 = await server.update(ConfigMap(metadata=a.metadata, data={"v": "2"}))
        await server.delete("ConfigMap", "b", "default")
        d = await server.create(cm("d"))
        await server.log.compact(server.log.revision)
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert len(recorder.calls) == 3  # held at the gate: nothing applied ...
        assert not activity.idle  # ... and the activity knows it
        lw.expire_next = True
        lw.gate = None
        gate.set()
        await recorder.wait_for(6)
        with anyio.fail_after(GUARD):
            await activity.wait_idle()
        assert cache_state(informer.indexer) == await store_state(server)
        assert informer.reflector.relists == 1
        assert informer.last_applied_revision == server.log.revision
        assert lw.lists == 2
        # the watch after the relist works
        await server.update(ConfigMap(metadata=c.metadata, data={"v": "3"}))
        await recorder.wait_for(7)
    assert recorder.calls[3:] == [
        ("update", "a", rv(a), rv(a2)),
        ("add", "d", rv(d)),
        ("delete", "b", rv(b), True),
        ("update", "c", rv(c), rv(d) + 1),
    ]
    deleted = recorder.objects[5][1]
    assert isinstance(deleted, Deleted)
    assert deleted.final_state_unknown


@pytest.mark.anyio
async def test_a_watch_from_a_compacted_revision_relists(server: ApiServer) -> None:
    """The real ApiServer's Expired: the list's revision is compacted before the watch starts."""
    await server.create(cm("a"))
    stale_items, stale_revision = await server.list("ConfigMap")
    await server.create(cm("b"))
    await server.log.compact(server.log.revision)

    class StaleFirstList(GatedListWatcher):
        async def list(
            self, kind: str, namespace: str | None = None
        ) -> tuple[Sequence[ApiStruct], int]:
            self.lists += 1
            if self.lists == 1:
                return stale_items, stale_revision
            return await self.server.list(kind, namespace)

    lw = StaleFirstList(server)
    factory = SharedInformerFactory(lw, Activity())
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with factory:
        await factory.wait_for_sync()
        await recorder.wait_for(2)
        with anyio.fail_after(GUARD):
            while informer.reflector.relists < 1:
                await anyio.lowlevel.checkpoint()
        assert cache_state(informer.indexer) == await store_state(server)
    assert [call[:2] for call in recorder.calls] == [("add", "a"), ("add", "b")]


# -- sharing --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_two_controllers_share_one_informer(server: ApiServer) -> None:
    await server.create(cm("seed"))
    lw = GatedListWatcher(server)
    factory = SharedInformerFactory(lw, Activity())
    deployment, replicaset = Recorder(), Recorder()
    factory.informer_for("ConfigMap").add_handler(deployment)
    factory.informer_for("ConfigMap").add_handler(replicaset)
    assert factory.informer_for("ConfigMap") is factory.informers[0]
    async with factory:
        await factory.wait_for_sync()
        x = await server.create(cm("x"))
        await server.update(ConfigMap(metadata=x.metadata, data={"k": "v"}))
        await server.delete("ConfigMap", "x", "default")
        await deployment.wait_for(4)
        await replicaset.wait_for(4)
        assert (lw.lists, lw.watches) == (1, 1)  # one list and one watch for both
        late = factory.informer_for("Pod")  # started at once, in the same task group
        await late.wait_for_sync()
    assert deployment.calls == replicaset.calls
    assert [c[0] for c in deployment.calls] == ["add", "add", "update", "delete"]
    for (_, one), (_, other) in zip(deployment.objects, replicaset.objects, strict=True):
        assert one is other or (
            isinstance(one, tuple) and all(p is q for p, q in zip(one, other, strict=True))
        )
    assert (lw.lists, lw.watches) == (2, 2)  # and one more of each for the Pod informer


@pytest.mark.anyio
async def test_factory_misuse_is_refused(server: ApiServer) -> None:
    factory = SharedInformerFactory(server, Activity())
    with pytest.raises(InformerError):
        await factory.wait_for_sync()
    async with factory:
        with pytest.raises(InformerError):
            await factory.__aenter__()


@pytest.mark.anyio
async def test_a_handler_error_propagates_out_of_the_factory(server: ApiServer) -> None:
    def boom(obj: ApiStruct) -> None:
        raise RuntimeError("handler failed")

    factory = SharedInformerFactory(server, Activity())
    factory.informer_for("ConfigMap").add_handler(Handlers(on_add=boom))
    with pytest.raises(BaseException) as caught:  # noqa: PT012 -- the error surfaces on exit
        async with factory:
            await server.create(cm("a"))
            with anyio.fail_after(GUARD):
                await anyio.sleep_forever()
    assert "handler failed" in repr(caught.value) or caught.group_contains(RuntimeError)


# -- activity -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_activity_is_busy_until_handlers_ran(server: ApiServer) -> None:
    lw = GatedListWatcher(server)
    activity = Activity()
    factory = SharedInformerFactory(lw, activity, head=lambda: server.log.revision)
    informer = factory.informer_for("ConfigMap")
    recorder = Recorder()
    informer.add_handler(recorder)
    assert activity.idle  # not started: nothing in flight
    async with factory:
        assert not activity.idle  # listing
        await factory.wait_for_sync()
        with anyio.fail_after(GUARD):
            await activity.wait_idle()
        gate = lw.gate = anyio.Event()
        await server.create(cm("a"))
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert recorder.calls == []
        assert not activity.idle
        assert informer.busy
        lw.gate = None
        gate.set()
        with anyio.fail_after(GUARD):
            await activity.wait_idle()
        assert [call[:2] for call in recorder.calls] == [("add", "a")]
        assert activity.idle
    assert activity.idle  # stopped: the probe is gone


@pytest.mark.anyio
async def test_virtual_clock_does_not_jump_before_handlers_saw_a_write(server: ApiServer) -> None:
    activity = Activity()
    clock = VirtualClock(activity)
    factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
    recorder = Recorder()
    factory.informer_for("ConfigMap").add_handler(recorder)
    seen_at_timer: list[int] = []
    async with factory:
        await factory.wait_for_sync()
        clock.call_later(10.0, lambda: seen_at_timer.append(len(recorder.calls)))
        for i in range(5):
            await server.create(cm(f"n{i}"))
        with anyio.fail_after(GUARD):
            await clock.advance(60.0)
    assert seen_at_timer == [5]


@pytest.mark.anyio
async def test_informers_of_other_kinds_are_not_busy_after_writes_they_filter_out(
    server: ApiServer,
) -> None:
    """With a watch that exposes its `position`, a Pod informer is caught up after ConfigMap
    writes it never sees (its last applied revision alone would stay behind the head)."""
    lw = GatedListWatcher(server)
    activity = Activity()
    factory = SharedInformerFactory(lw, activity, head=lambda: server.log.revision)
    recorder = Recorder()
    factory.informer_for("ConfigMap").add_handler(recorder)
    pods = factory.informer_for("Pod")
    async with factory:
        await factory.wait_for_sync()
        for i in range(3):
            await server.create(cm(f"n{i}"))
        with anyio.fail_after(GUARD):
            await activity.wait_idle()
        assert len(recorder.calls) == 3
        assert pods.last_applied_revision < server.log.revision
        assert not pods.busy
