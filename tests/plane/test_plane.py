"""`ControlPlane` (fixed contract 2): open/close, kubectl-apply semantics, settle, determinism."""

from __future__ import annotations

from pathlib import Path

import anyio
import msgspec
import pytest
from msgspec.structs import replace

import store
from cp import ControlPlane, SettleReport
from cp.api.apps import Deployment, DeploymentStatus
from cp.api.codec import load_manifests
from cp.api.core import Endpoints, Node, Service
from cp.api.meta import ObjectMeta
from cp.plane import LAST_APPLIED, VIRTUAL_EPOCH, _ActivityLog
from cp.runtime import Activity, Controller, Request, Result, VirtualClock
from cp.workqueue import WorkQueue

pytestmark = pytest.mark.anyio

MANIFESTS = Path(__file__).parent.parent / "api" / "manifests"
V1 = (MANIFESTS / "myapp-deploy-v1.yaml").read_text()
OLD_IMAGE = "ghcr.io/c1t1d0s7/go-myweb:v1.0"
NEW_IMAGE = "ghcr.io/c1t1d0s7/go-myweb:v2.0"
# v1 with one more label on the Deployment, and the edit: image changed, that label removed.
V1_TIER = V1.replace(
    "    app: myapp-deploy\nspec:", "    app: myapp-deploy\n    tier: web\nspec:", 1
)
V2 = V1.replace(OLD_IMAGE, NEW_IMAGE)

EventRow = tuple[int, str, str, bytes | None, bytes | None, str, int, float]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_manifests_are_as_the_tests_expect() -> None:
    assert "tier: web" in V1_TIER
    assert NEW_IMAGE in V2
    assert OLD_IMAGE not in V2


async def _events(log: store.EventLog) -> list[EventRow]:
    return [
        (e.revision, e.type, e.key, e.value, e.prev_value, e.actor, e.cause, e.time)
        async for e in log.events()
    ]


async def _deployment(plane: ControlPlane) -> Deployment:
    dep = await plane.client.get("Deployment", "myapp-deploy", namespace="default")
    assert isinstance(dep, Deployment)
    return dep


class Hourly:
    """A toy reconciler that asks to be run again every hour, forever."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.times: list[float] = []

    async def reconcile(self, req: Request) -> Result:
        self.times.append(self.clock.now())
        return Result(requeue_after=3600.0)


def _hourly(plane: ControlPlane) -> Hourly:
    assert isinstance(plane.clock, VirtualClock)
    reconciler = Hourly(plane.clock)
    queue: WorkQueue[Request] = WorkQueue(clock=plane.clock, activity=plane.activity, name="hourly")
    controller = Controller("hourly", reconciler, queue, clock=plane.clock, ids=plane.ids)
    plane.add_controller(controller)
    controller.enqueue(Request("default", "x"), cause=0)
    return reconciler


# -- open / close -------------------------------------------------------------------------------


async def test_open_close_memory_registers_ready_nodes() -> None:
    async with ControlPlane.open() as plane:
        assert plane.clock.now() == VIRTUAL_EPOCH
        # three nodes, the default StorageClass, the kubernetes Service and its Endpoints
        assert plane.log.revision == 6
        nodes = (await plane.client.list("Node")).items
        assert [n.metadata.name for n in nodes if isinstance(n, Node)] == [
            "node-1",
            "node-2",
            "node-3",
        ]
        for node in nodes:
            assert isinstance(node, Node)
            assert node.status is not None
            assert [(c.type, c.status) for c in node.status.conditions] == [("Ready", "True")]
        assert [e[5] for e in await _events(plane.log)] == [
            "kubelet/node-1",
            "kubelet/node-2",
            "kubelet/node-3",
            "addon/default-storage-class",
            "apiserver/bootstrap",
            "apiserver/bootstrap",
        ]
        service = await plane.client.get("Service", "kubernetes", namespace="default")
        assert isinstance(service, Service)
        assert (service.spec.cluster_ip, service.spec.ports[0].port) == ("10.96.0.1", 443)
        endpoints = await plane.client.get("Endpoints", "kubernetes", namespace="default")
        assert isinstance(endpoints, Endpoints)
        assert [a.ip for a in endpoints.subsets[0].addresses] == ["172.18.0.1"]
        standard = await plane.client.get("StorageClass", "standard")
        assert _meta_of(standard).annotations == {
            "storageclass.kubernetes.io/is-default-class": "true"
        }
        assert plane.nodes == 3
        assert plane.profile is None


async def test_open_without_nodes_writes_nothing() -> None:
    profile = "defaults: {startSeconds: 5}\n"
    async with ControlPlane.open(nodes=0, profile=profile) as plane:
        assert plane.log.revision == 0
        assert plane.profile == profile


async def test_open_close_sqlite_resumes_time_and_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    async with ControlPlane.open(store=url) as plane:
        assert plane.clock.now() == VIRTUAL_EPOCH
        plane.clock.call_later(500.0, lambda: None)
        report = await plane.settle()
        # the one write: the DNS record set of the `kubernetes` Service
        assert report == SettleReport(converged=True, seconds=500.0, events=1)
        await plane.apply(V1)
        assert (await plane.settle()).converged
        head, now = plane.log.revision, plane.clock.now()
        assert head > 4  # the rollout: replica set, pods, statuses, events
    async with ControlPlane.open(store=url) as plane:
        # the nodes exist and the cluster had converged: nothing is written on reopen
        assert (await plane.settle()).events == 0
        assert plane.log.revision == head
        assert plane.clock.now() == now  # resumes at the last event's time
        dep = await _deployment(plane)
        assert dep.metadata.creation_timestamp == "2023-11-14T22:21:40Z"
        assert await plane.apply(V1) == (dep,)
        assert plane.log.revision == head


async def test_open_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="clock"):
        async with ControlPlane.open(clock="wall"):  # type: ignore[arg-type]
            pass
    with pytest.raises(ValueError, match="nodes"):
        async with ControlPlane.open(nodes=-1):
            pass


# -- apply --------------------------------------------------------------------------------------


async def test_apply_creates_with_last_applied_configuration() -> None:
    async with ControlPlane.open(nodes=0) as plane:
        (created,) = await plane.apply(V1)
        assert isinstance(created, Deployment)
        assert created == await _deployment(plane)
        last = msgspec.json.decode(created.metadata.annotations[LAST_APPLIED])
        assert last["kind"] == "Deployment"
        assert last["metadata"] == {"name": "myapp-deploy", "labels": {"app": "myapp-deploy"}}
        assert last["spec"]["template"]["spec"]["containers"][0]["image"] == OLD_IMAGE
        assert " " not in created.metadata.annotations[LAST_APPLIED]  # compact JSON
        (event,) = await _events(plane.log)
        assert event[1] == "PUT"
        assert event[5] == "user"
        assert event[6] == 0


async def test_reapply_of_the_same_manifest_writes_nothing() -> None:
    async with ControlPlane.open(nodes=0) as plane:
        (first,) = await plane.apply(V1)
        head = plane.log.revision
        (again,) = await plane.apply(V1)
        assert plane.log.revision == head
        assert again == first


async def test_apply_of_an_edit_patches_only_that_and_keeps_others_fields() -> None:
    async with ControlPlane.open(nodes=0) as plane:
        (first,) = await plane.apply(V1_TIER)
        assert isinstance(first, Deployment)
        assert dict(first.metadata.labels) == {"app": "myapp-deploy", "tier": "web"}
        # Someone else adds an annotation and a status the manifest never mentions.
        await plane.client.patch(
            "Deployment",
            "myapp-deploy",
            {"metadata": {"annotations": {"example.com/owner": "ops"}}},
            patch_type="merge",
            namespace="default",
        )
        dep = await _deployment(plane)
        await plane.client.update_status(
            replace(dep, status=DeploymentStatus(observed_generation=1, replicas=3))
        )
        before = await _deployment(plane)
        head = plane.log.revision

        (edited,) = await plane.apply(V2)
        assert isinstance(edited, Deployment)
        assert plane.log.revision == head + 1
        assert (await _events(plane.log))[-1][5] == "user"
        assert edited == await _deployment(plane)
        assert dict(edited.metadata.labels) == {"app": "myapp-deploy"}
        assert edited.metadata.annotations["example.com/owner"] == "ops"
        assert edited.status == before.status
        assert edited.metadata.generation == before.metadata.generation + 1
        # The spec changed in the image only.
        (container,) = before.spec.template.spec.containers
        template_spec = replace(
            before.spec.template.spec, containers=(replace(container, image=NEW_IMAGE),)
        )
        expected_spec = replace(
            before.spec, template=replace(before.spec.template, spec=template_spec)
        )
        assert edited.spec == expected_spec
        last = msgspec.json.decode(edited.metadata.annotations[LAST_APPLIED])
        assert last["metadata"]["labels"] == {"app": "myapp-deploy"}
        assert last["spec"]["template"]["spec"]["containers"][0]["image"] == NEW_IMAGE
        # And applying the edit again is a no-op.
        await plane.apply(V2)
        assert plane.log.revision == head + 1


CM_LABELLED = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: default, labels: {app: web}}
data: {k: v}
"""
CM_EMPTY_LABELS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: default, labels: {}}
data: {k: v}
"""


async def test_apply_of_empty_labels_removes_only_the_last_applied_ones() -> None:
    """`labels: {}` in the manifest is recorded as written: the three-way merge removes the
    labels the last apply set and keeps one another writer added (kubectl's behaviour)."""
    async with ControlPlane.open(nodes=0) as plane:
        await plane.apply(CM_LABELLED)
        await plane.client.patch(
            "ConfigMap", "cfg", {"metadata": {"labels": {"extra": "x"}}}, namespace="default"
        )
        (cm,) = await plane.apply(CM_EMPTY_LABELS)
        assert dict(_meta_of(cm).labels) == {"extra": "x"}
        last = msgspec.json.decode(_meta_of(cm).annotations[LAST_APPLIED])
        assert last["metadata"]["labels"] == {}


def _meta_of(obj: object) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return meta


async def test_apply_accepts_objects() -> None:
    async with ControlPlane.open(nodes=0) as plane:
        (manifest,) = load_manifests(V1)
        (obj,) = await plane.apply(manifest)
        assert await plane.apply(V1) == (obj,)
        assert await plane.apply([manifest]) == (obj,)
        assert plane.log.revision == 1


# -- settle -------------------------------------------------------------------------------------


async def test_settle_on_an_idle_plane_returns_at_once() -> None:
    async with ControlPlane.open() as plane:
        first = await plane.settle()  # the DNS controller records the `kubernetes` Service
        assert first == SettleReport(converged=True, seconds=0.0, events=1)
        report = await plane.settle()
        assert report == SettleReport(converged=True, seconds=0.0, events=0)
        assert plane.clock.now() == VIRTUAL_EPOCH


async def test_settle_with_a_requeueing_controller_stops_at_the_horizon() -> None:
    async with ControlPlane.open(nodes=0) as plane:
        reconciler = _hourly(plane)
        with anyio.fail_after(10):
            report = await plane.settle(max_seconds=3600 * 5)
        assert report == SettleReport(converged=False, seconds=3600.0 * 5, events=0)
        assert reconciler.times == [VIRTUAL_EPOCH + 3600.0 * i for i in range(6)]
        with anyio.fail_after(10):
            report = await plane.settle(max_seconds=1800)
        assert report == SettleReport(converged=False, seconds=0.0, events=0)
        assert len(reconciler.times) == 6


async def test_settle_on_the_real_clock_waits_for_idle() -> None:
    async with ControlPlane.open(clock="real", nodes=1) as plane:
        with anyio.fail_after(10):
            first = await plane.settle(max_seconds=5)  # the `kubernetes` Service's DNS records
            report = await plane.settle(max_seconds=5)
        assert first.converged
        assert report.converged
        assert report.events == 0


async def test_a_store_write_in_flight_holds_the_clock() -> None:
    gate = anyio.Event()
    async with store.open_log("memory://") as log:
        activity = Activity()
        clock = VirtualClock(activity, start=VIRTUAL_EPOCH)

        class Gated:
            revision = 0

            async def create(self, key: str, value: bytes, **kw: object) -> int:
                await gate.wait()
                return await log.create(key, value)

        held = _ActivityLog(Gated(), activity)  # type: ignore[arg-type]
        fired: list[float] = []
        clock.call_later(60.0, lambda: fired.append(clock.now()))
        async with anyio.create_task_group() as tg:
            tg.start_soon(held.create, "/k", b"v")
            await anyio.lowlevel.checkpoint()
            assert activity.count == 1
            tg.start_soon(clock.run_until_idle)
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert fired == []  # the clock did not jump past the pending write
            gate.set()
        assert fired == [VIRTUAL_EPOCH + 60.0]
        assert activity.count == 0
        assert log.revision == 1


# -- determinism --------------------------------------------------------------------------------


async def _scenario(seed: int, store: str = "memory://") -> list[EventRow]:
    async with ControlPlane.open(store=store, seed=seed) as plane:
        await plane.apply(V1_TIER)
        reconciler = _hourly(plane)
        await plane.settle(max_seconds=7200)
        await plane.apply(V2)
        await plane.client.patch(
            "Deployment",
            "myapp-deploy",
            {"metadata": {"annotations": {"at": "later"}}},
            patch_type="merge",
            namespace="default",
        )
        await plane.settle(max_seconds=7200)
        assert len(reconciler.times) == 5
        return await _events(plane.log)


async def test_same_seed_and_inputs_give_a_byte_identical_log() -> None:
    first = await _scenario(seed=7)
    second = await _scenario(seed=7)
    assert first == second
    assert len(first) > 50  # the rollout: controllers, scheduler and kubelets wrote too
    user_times = [row[7] for row in first if row[5] == "user"]
    assert user_times[-2:] == [VIRTUAL_EPOCH + 7200.0] * 2
    other = await _scenario(seed=8)
    assert [row[3] for row in other] != [row[3] for row in first]  # uids come from the seed


async def test_sqlite_gives_the_memory_log_event_for_event(tmp_path: Path) -> None:
    """The plane writes behind on SQLite: commits happen in the same order as on the memory
    store, so the same inputs and seed give the same log (what `replay --verify` compares)."""
    memory = await _scenario(seed=7)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert await _scenario(seed=7, store=url) == memory
    async with store.open_log(url) as reopened:  # and it is what the file holds
        assert await _events(reopened) == memory


async def test_a_reopened_state_file_never_reuses_a_uid(tmp_path: Path) -> None:
    """Each process on a state file draws ids after the log's head: a second process that
    started the seeded sequence over would give new objects the uids of old ones, and the
    ReplicaSet controllers would fight over pods owned "by uid" (found through the CLI)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    async with ControlPlane.open(store=url) as plane:
        await plane.apply(V1)
        assert (await plane.settle()).converged
    for image in ("example.com/web:2", "example.com/web:3"):
        async with ControlPlane.open(store=url) as plane:
            await plane.client.patch(
                "Deployment",
                "myapp-deploy",
                {
                    "spec": {
                        "template": {"spec": {"containers": [{"name": "myapp", "image": image}]}}
                    }
                },
                namespace="default",
            )
            with anyio.fail_after(60):  # a fight over pods never settles
                assert (await plane.settle()).converged
    async with store.open_log(url) as log:
        uids: dict[str, str] = {}
        async for event in log.events():
            if event.value is None:
                continue
            uid = msgspec.json.decode(event.value)["metadata"]["uid"]
            assert uids.setdefault(uid, event.key) == event.key, f"{uid} reused by {event.key}"
