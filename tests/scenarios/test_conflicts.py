"""Optimistic concurrency end to end: racing writers, and controllers that retry on `Conflict`.

(a) Two writers read the same object and both update it with the resourceVersion they read:
    exactly one wins, the other gets Kubernetes' `Conflict` message, the store keeps the winner.
(b) Two toy controllers write the same ConfigMaps from their informer caches with the cached
    resourceVersion; a `Conflict` is raised out of the reconcile, so the controller retries
    with backoff from a refreshed cache. After `settle` the state converges, conflicts did
    happen, and every controller write is attributed (actor, cause) in the event log.

Virtual clock only; `anyio.fail_after(10)` guards against a hang.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from msgspec.structs import replace

from cp import ControlPlane
from cp.api.apps import Deployment
from cp.api.core import ConfigMap
from cp.api.errors import Conflict
from cp.api.meta import ApiStruct, ObjectMeta
from cp.informer import Handlers, Lister, meta_of
from cp.runtime import Controller, Request, Result
from cp.workqueue import WorkQueue

pytestmark = pytest.mark.anyio

V1 = (Path(__file__).parent.parent / "api" / "manifests" / "myapp-deploy-v1.yaml").read_text()

MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- (a) two writers, one resourceVersion ----------------------------------------------------


async def test_second_writer_with_the_same_resource_version_gets_conflict() -> None:
    with anyio.fail_after(10):
        async with ControlPlane.open(nodes=0) as plane:
            await plane.client.create(
                ConfigMap(metadata=ObjectMeta(name="cfg", namespace="default"), data={"a": "0"})
            )
            first = await plane.client.get("ConfigMap", "cfg", namespace="default")
            second = await plane.client.get("ConfigMap", "cfg", namespace="default")
            assert isinstance(first, ConfigMap)
            assert isinstance(second, ConfigMap)
            read_rv = first.metadata.resource_version
            assert read_rv == second.metadata.resource_version

            won = await plane.client.update(replace(first, data={"a": "first"}))
            head = plane.log.revision
            with pytest.raises(Conflict) as info:
                await plane.client.update(replace(second, data={"a": "second"}))

            assert str(info.value) == (
                f'Operation cannot be fulfilled on configmaps "cfg": {MODIFIED}'
            )
            assert info.value.code == 409
            assert plane.log.revision == head  # the loser wrote nothing
            stored = await plane.client.get("ConfigMap", "cfg", namespace="default")
            assert isinstance(stored, ConfigMap)
            assert stored.data == {"a": "first"}
            assert stored.metadata.resource_version == won.metadata.resource_version != read_rv


async def test_concurrent_updates_of_a_deployment_exactly_one_wins() -> None:
    with anyio.fail_after(10):
        async with ControlPlane.open(nodes=0) as plane:
            await plane.apply(V1)
            await plane.settle()
            read = await plane.client.get("Deployment", "myapp-deploy", namespace="default")
            assert isinstance(read, Deployment)
            assert read.spec is not None
            head = plane.log.revision

            outcomes: dict[int, ApiStruct | Conflict] = {}

            async def write(replicas: int) -> None:
                assert read.spec is not None
                obj = replace(read, spec=replace(read.spec, replicas=replicas))
                try:
                    outcomes[replicas] = await plane.client.update(obj)
                except Conflict as exc:
                    outcomes[replicas] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(write, 5)
                tg.start_soon(write, 7)

            winners = [r for r, o in outcomes.items() if not isinstance(o, Conflict)]
            losers = [o for o in outcomes.values() if isinstance(o, Conflict)]
            assert len(winners) == 1
            assert len(losers) == 1
            assert str(losers[0]) == (
                f'Operation cannot be fulfilled on deployments.apps "myapp-deploy": {MODIFIED}'
            )
            user_writes = [e async for e in plane.log.events(after=head) if e.actor == "user"]
            assert len(user_writes) == 1  # one write, the winner's (controllers react to it)
            stored = await plane.client.get("Deployment", "myapp-deploy", namespace="default")
            assert isinstance(stored, Deployment)
            assert stored.spec is not None
            assert stored.spec.replicas == winners[0]


# -- (b) controllers retrying on Conflict ----------------------------------------------------

WANT = "test.cpemu.io/want"  # annotation: the filler adds `k<i>` keys to `data` up to this many
COUNT = "count"


def _items(cm: ConfigMap) -> int:
    """The number of keys of `data` other than `count`."""
    return sum(1 for key in cm.data if key != COUNT)


class _ToyReconciler:
    """Common parts: the informer cache, the client, and a count of conflicts met."""

    def __init__(self, plane: ControlPlane, lister: Lister[ConfigMap]) -> None:
        self.plane = plane
        self.lister = lister
        self.conflicts = 0
        self.writes = 0

    async def write(self, cm: ConfigMap) -> None:
        """Update with the cached resourceVersion; on Conflict count it and re-raise (retry)."""
        try:
            await self.plane.client.update(cm)
        except Conflict:
            self.conflicts += 1
            raise
        self.writes += 1


class Counter(_ToyReconciler):
    """Keeps `data.count` equal to the number of other keys of `data`."""

    async def reconcile(self, req: Request) -> Result:
        cm = self.lister.get(req.namespace, req.name)
        if cm is None:
            return Result()
        want = str(_items(cm))
        if cm.data.get(COUNT) != want:
            await self.write(replace(cm, data={**cm.data, COUNT: want}))
        return Result()


class Filler(_ToyReconciler):
    """Adds one new `k<i>` key per reconcile until `data` has `want` keys besides `count`."""

    async def reconcile(self, req: Request) -> Result:
        cm = self.lister.get(req.namespace, req.name)
        if cm is None:
            return Result()
        want = int(cm.metadata.annotations.get(WANT, "0"))
        have = _items(cm)
        if have < want:
            key = next(f"k{i}" for i in range(want + 1) if f"k{i}" not in cm.data)
            await self.write(replace(cm, data={**cm.data, key: str(have)}))
        return Result()


def _wire(plane: ControlPlane, name: str, reconciler: _ToyReconciler) -> Controller:
    queue: WorkQueue[Request] = WorkQueue(clock=plane.clock, activity=plane.activity, name=name)
    controller = Controller(name, reconciler, queue, clock=plane.clock, ids=plane.ids, workers=2)

    def enqueue(obj: ApiStruct) -> None:
        meta = meta_of(obj)
        controller.enqueue(Request(meta.namespace, meta.name), cause=int(meta.resource_version))

    plane.informers.informer_for("ConfigMap").add_handler(
        Handlers(on_add=enqueue, on_update=lambda _old, new: enqueue(new))
    )
    plane.add_controller(controller)
    return controller


def _satisfied(cm: ConfigMap) -> bool:
    want = int(cm.metadata.annotations.get(WANT, "0"))
    return _items(cm) == max(want, _items(cm)) and cm.data.get(COUNT) == str(_items(cm))


async def test_controllers_converge_through_conflicts() -> None:
    names = [f"cm-{i}" for i in range(4)]
    with anyio.fail_after(10):
        async with ControlPlane.open(nodes=0) as plane:
            lister = plane.informers.informer_for("ConfigMap").lister(ConfigMap)
            counter, filler = Counter(plane, lister), Filler(plane, lister)
            controllers = [_wire(plane, "counter", counter), _wire(plane, "filler", filler)]

            for i, name in enumerate(names):
                await plane.client.create(
                    ConfigMap(
                        metadata=ObjectMeta(
                            name=name, namespace="default", annotations={WANT: str(3 + i)}
                        ),
                        data={"seed": "x"},
                    )
                )
            report = await plane.settle()
            assert report.converged

            # The test is a third writer between settles: more keys wanted, a key dropped.
            for name in names:
                cm = await plane.client.get("ConfigMap", name, namespace="default")
                assert isinstance(cm, ConfigMap)
                want = int(cm.metadata.annotations[WANT]) + 2
                data = {k: v for k, v in cm.data.items() if k != "seed"}
                annotations = {**cm.metadata.annotations, WANT: str(want)}
                await plane.client.update(
                    replace(cm, metadata=replace(cm.metadata, annotations=annotations), data=data)
                )
            report = await plane.settle()
            assert report.converged

            for name in names:
                cm = await plane.client.get("ConfigMap", name, namespace="default")
                assert isinstance(cm, ConfigMap)
                want = int(cm.metadata.annotations[WANT])
                assert _items(cm) >= want, (name, cm.data)
                assert cm.data[COUNT] == str(_items(cm)), (name, cm.data)
                assert _satisfied(cm)
                # the cache the controllers read from caught up with the store
                cached = lister.get("default", name)
                assert cached is not None
                assert cached.metadata.resource_version == cm.metadata.resource_version

            assert counter.conflicts + filler.conflicts > 0, "the writers never raced"
            assert counter.writes > 0
            assert filler.writes > 0

            actors = {c.actor for c in controllers}
            assert actors == {"controller/counter", "controller/filler"}
            seen: dict[str, int] = {}
            async for event in plane.log.events(prefix="/registry/configmaps/"):
                if event.actor == "user":
                    assert event.cause == 0
                    continue
                assert event.actor in actors, event
                assert 0 < event.cause < event.revision, event
                seen[event.actor] = seen.get(event.actor, 0) + 1
            assert seen == {
                "controller/counter": counter.writes,
                "controller/filler": filler.writes,
            }
