"""The seed walkthrough's StatefulSet steps (sections 2 and 3, and its "Mistakes"), end to end on
the virtual clock, plus StatefulSet and DaemonSet rolling updates.

Each scenario drives a `ControlPlane` (all shipped controllers) as a user would, settles, checks
what a real cluster shows (pods by ordinal, claims and volumes, Endpoints, DNS answers as `host`
prints them), reads the order of what happened from the event log, and ends by replaying the
whole log through the invariant checker (`tests/scenarios/invariants.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from controllers.dns import Resolver, host_lines
from cp import ControlPlane
from cp.api.apps import StatefulSet
from cp.api.codec import CODEC
from cp.api.core import Endpoints, PersistentVolume, PersistentVolumeClaim, Service
from cp.api.core_pod import Pod
from tests.scenarios.invariants import assert_invariants

pytestmark = pytest.mark.anyio

MANIFESTS = Path(__file__).parent.parent / "api" / "manifests"
NS = "default"
STS_ACTOR = "controller/statefulset"
DS_ACTOR = "controller/daemonset"
REVISION_LABEL = "controller-revision-hash"

NFS_PROFILE = "storage: {provisioners: [nfs-client]}\n"
NFS_CLIENT = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs-client}
provisioner: nfs-client
reclaimPolicy: Delete
"""


def manifest(*names: str) -> str:
    return "\n---\n".join((MANIFESTS / name).read_text() for name in names)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(
    nodes: int = 2, profile: str | None = None, seed: int = 11
) -> AsyncIterator[ControlPlane]:
    """A plane with every shipped controller; on a clean exit, the whole log is checked."""
    async with ControlPlane.open(nodes=nodes, profile=profile, seed=seed) as plane:
        yield plane
        await assert_invariants(plane.log)


async def settle(plane: ControlPlane) -> None:
    report = await plane.settle(max_seconds=900)
    assert report.converged


async def pods(plane: ControlPlane) -> dict[str, Pod]:
    items = (await plane.client.list("Pod", NS)).items
    return {p.metadata.name: p for p in items if isinstance(p, Pod)}


async def claims(plane: ControlPlane) -> dict[str, PersistentVolumeClaim]:
    items = (await plane.client.list("PersistentVolumeClaim", NS)).items
    return {c.metadata.name: c for c in items if isinstance(c, PersistentVolumeClaim)}


async def volumes(plane: ControlPlane) -> dict[str, PersistentVolume]:
    items = (await plane.client.list("PersistentVolume")).items
    return {v.metadata.name: v for v in items if isinstance(v, PersistentVolume)}


async def statefulset(plane: ControlPlane, name: str) -> StatefulSet:
    obj = await plane.client.get("StatefulSet", name, NS)
    assert isinstance(obj, StatefulSet)
    return obj


async def patch(plane: ControlPlane, kind: str, name: str, body: Mapping[str, Any]) -> None:
    await plane.client.patch(kind, name, body, "strategic", NS)


async def scale(plane: ControlPlane, name: str, replicas: int) -> None:
    """`kubectl scale sts NAME --replicas N`."""
    await patch(plane, "StatefulSet", name, {"spec": {"replicas": replicas}})


def running_and_ready(pod: Pod | None) -> bool:
    if pod is None or pod.metadata.deletion_timestamp is not None or pod.status is None:
        return False
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
    return pod.status.phase == "Running" and ready


def pod_ip(pod: Pod) -> str:
    assert pod.status is not None
    assert pod.status.pod_ip
    return pod.status.pod_ip


class Timeline:
    """The pods of the default namespace replayed from the log: each creation with the state of
    every other pod at that revision, and each controller deletion (the write that set the
    `deletionTimestamp`, or the removal of a pod that had none)."""

    def __init__(self) -> None:
        self.creations: list[tuple[int, str, str, dict[str, Pod]]] = []  # rev, actor, name, live
        self.deletions: list[tuple[int, str, str]] = []  # rev, actor, name
        self.states: list[tuple[int, dict[str, Pod]]] = []  # every revision's pods (if kept)

    @classmethod
    async def read(cls, plane: ControlPlane, *, after: int = 0, keep: bool = False) -> Timeline:
        line = cls()
        live: dict[str, Pod] = {}
        async for event in plane.log.events(prefix=f"/registry/pods/{NS}/"):
            name = event.key.rsplit("/", 1)[1]
            old = live.get(name)
            if event.value is None:
                live.pop(name, None)
                if (
                    event.revision > after
                    and old is not None
                    and old.metadata.deletion_timestamp is None
                ):
                    line.deletions.append((event.revision, event.actor, name))
            else:
                pod = CODEC.decode(Pod, event.value)
                live[name] = pod
                if event.revision > after:
                    if event.prev_value is None:
                        line.creations.append((event.revision, event.actor, name, dict(live)))
                    elif (
                        old is not None
                        and old.metadata.deletion_timestamp is None
                        and pod.metadata.deletion_timestamp is not None
                    ):
                        line.deletions.append((event.revision, event.actor, name))
            if keep and event.revision > after:
                line.states.append((event.revision, dict(live)))
        return line

    def created(self, name: str) -> list[tuple[int, str, dict[str, Pod]]]:
        return [(rev, actor, live) for rev, actor, n, live in self.creations if n == name]

    def deleted_by(self, actor: str) -> list[str]:
        return [n for _rev, a, n in self.deletions if a == actor]


# -- section 2: myapp-sts and its headless Service ----------------------------------------------


async def test_myapp_sts_ordered_identity_dns_and_a_deleted_pod_comes_back() -> None:
    async with running() as plane:
        await plane.apply(manifest("myapp-sts.yaml", "myapp-svc-headless.yaml"))
        await settle(plane)
        found = await pods(plane)
        assert sorted(found) == ["myapp-sts-0", "myapp-sts-1"]
        assert all(running_and_ready(p) for p in found.values())

        # ordered creation, from the log: pod 1 only once pod 0 is Running and Ready
        line = await Timeline.read(plane)
        assert [n for _r, _a, n, _l in line.creations] == ["myapp-sts-0", "myapp-sts-1"]
        ((_rev, actor, live),) = line.created("myapp-sts-1")
        assert actor == STS_ACTOR
        assert running_and_ready(live.get("myapp-sts-0"))

        # DNS from a pod of the default namespace (`host ...`)
        resolver = Resolver.from_informers(plane.informers)
        ip0, ip1 = pod_ip(found["myapp-sts-0"]), pod_ip(found["myapp-sts-1"])
        fqdn = "myapp-svc-headless.default.svc.cluster.local"
        assert sorted(host_lines(resolver, "myapp-svc-headless")) == sorted(
            f"{fqdn} has address {ip}" for ip in (ip0, ip1)
        )
        assert host_lines(resolver, "myapp-sts-0.myapp-svc-headless") == (
            f"myapp-sts-0.{fqdn} has address {ip0}",
        )
        assert resolver.resolve("myapp-sts-1.myapp-svc-headless").addresses == (ip1,)
        # the seed's typo
        assert host_lines(resolver, "mtdb-0.mydb") == ("Host mtdb-0.mydb not found: 3(NXDOMAIN)",)

        # `kubectl delete pod myapp-sts-0`: the same name comes back, a new uid
        before = plane.log.revision
        old_uid = found["myapp-sts-0"].metadata.uid
        await plane.client.delete("Pod", "myapp-sts-0", NS)
        await settle(plane)
        found = await pods(plane)
        assert sorted(found) == ["myapp-sts-0", "myapp-sts-1"]
        back = found["myapp-sts-0"]
        assert back.metadata.uid != old_uid
        assert running_and_ready(back)
        assert (back.spec.hostname, back.spec.subdomain) == ("myapp-sts-0", "myapp-svc-headless")
        line = await Timeline.read(plane, after=before)
        assert [(n, a) for _r, a, n, _l in line.creations] == [("myapp-sts-0", STS_ACTOR)]
        assert host_lines(resolver, "myapp-sts-0.myapp-svc-headless") == (
            f"myapp-sts-0.{fqdn} has address {pod_ip(back)}",
        )


# -- section 2: myapp-sts-vol, claims per pod ---------------------------------------------------


def claim_names(count: int, name: str = "myapp-sts-vol") -> list[str]:
    return [f"myapp-data-{name}-{i}" for i in range(count)]


async def bound_claims(plane: ControlPlane) -> dict[str, tuple[str, str]]:
    """claim name -> (claim uid, PV name), asserting each is Bound to a PV bound back to it."""
    found = await claims(plane)
    pvs = await volumes(plane)
    out: dict[str, tuple[str, str]] = {}
    for name, claim in found.items():
        assert claim.status is not None
        assert claim.status.phase == "Bound", name
        pv = pvs[claim.spec.volume_name]
        assert pv.status is not None
        assert pv.status.phase == "Bound"
        assert pv.spec.claim_ref is not None
        assert (pv.spec.claim_ref.name, pv.spec.claim_ref.uid) == (name, claim.metadata.uid)
        assert pv.spec.storage_class_name == "nfs-client"
        out[name] = (claim.metadata.uid, pv.metadata.name)
    return out


async def test_myapp_sts_vol_keeps_and_reattaches_its_claims() -> None:
    async with running(profile=NFS_PROFILE) as plane:
        await plane.apply(NFS_CLIENT)
        await plane.apply(manifest("myapp-sts-vol.yaml"))
        await settle(plane)
        first = await bound_claims(plane)
        assert sorted(first) == claim_names(2)
        assert len({pv for _uid, pv in first.values()}) == 2  # a PV of its own each

        await scale(plane, "myapp-sts-vol", 4)
        await settle(plane)
        assert sorted(await pods(plane)) == [f"myapp-sts-vol-{i}" for i in range(4)]
        kept = await bound_claims(plane)
        assert sorted(kept) == claim_names(4)
        assert {n: kept[n] for n in first} == first
        assert len({pv for _uid, pv in kept.values()}) == 4

        for replicas in (2, 4):
            await scale(plane, "myapp-sts-vol", replicas)
            await settle(plane)
            assert sorted(await pods(plane)) == [f"myapp-sts-vol-{i}" for i in range(replicas)]
            assert await bound_claims(plane) == kept  # same claims (uids), same PVs
        found = await pods(plane)
        for i, claim_name in enumerate(claim_names(4)):
            volume = next(
                v for v in found[f"myapp-sts-vol-{i}"].spec.volumes if v.name == "myapp-data"
            )
            assert volume.persistent_volume_claim is not None
            assert volume.persistent_volume_claim.claim_name == claim_name

        # the seed's mistake: the Service it names does not select these pods
        resolver = Resolver.from_informers(plane.informers)
        assert resolver.resolve("myapp-sts-vol-0.myapp-svc-headless").nxdomain

        await plane.client.delete("StatefulSet", "myapp-sts-vol", NS)
        await settle(plane)
        assert await pods(plane) == {}
        assert await bound_claims(plane) == kept  # deleting the set keeps the volumes


RETENTION_DELETE = (
    "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}\n"
)


async def test_retention_policy_delete_removes_claims_and_their_volumes() -> None:
    text = manifest("myapp-sts-vol.yaml").replace("  replicas: 2\n", "  replicas: 3\n")
    text = text.replace("  template:", RETENTION_DELETE + "  template:", 1)
    assert "whenScaled: Delete" in text
    async with running(profile=NFS_PROFILE) as plane:
        await plane.apply(NFS_CLIENT)
        await plane.apply(text)
        await settle(plane)
        three = await bound_claims(plane)
        assert sorted(three) == claim_names(3)

        await scale(plane, "myapp-sts-vol", 1)  # whenScaled Delete: claims 1 and 2 go
        await settle(plane)
        assert sorted(await pods(plane)) == ["myapp-sts-vol-0"]
        assert await bound_claims(plane) == {claim_names(1)[0]: three[claim_names(1)[0]]}
        assert sorted(await volumes(plane)) == [three[claim_names(1)[0]][1]]  # reclaim Delete

        await plane.client.delete("StatefulSet", "myapp-sts-vol", NS)  # whenDeleted Delete
        await settle(plane)
        assert await pods(plane) == {}
        assert await claims(plane) == {}
        assert await volumes(plane) == {}


# -- section 3: replicated MySQL -----------------------------------------------------------------

MYDB = (
    "mydb-cm-mysql.yaml",
    "mydb-sts-mysql.yaml",
    "mydb-svc-read.yaml",
    "mydb-svc-write.yaml",
)


async def endpoints(plane: ControlPlane, name: str) -> Endpoints:
    obj = await plane.client.get("Endpoints", name, NS)
    assert isinstance(obj, Endpoints)
    return obj


async def test_mydb_scales_in_order_and_mydb_read_has_no_endpoints() -> None:
    async with running(nodes=3) as plane:
        await plane.apply(manifest(*MYDB))  # `kubectl create -f .`
        await settle(plane)
        found = await pods(plane)
        assert sorted(found) == ["mydb-0", "mydb-1"]
        assert all(running_and_ready(p) for p in found.values())
        assert sorted(await claims(plane)) == ["data-mydb-0", "data-mydb-1"]  # class standard

        start = plane.log.revision
        await scale(plane, "mydb", 3)
        await settle(plane)
        found = await pods(plane)
        assert sorted(found) == ["mydb-0", "mydb-1", "mydb-2"]
        assert "data-mydb-2" in await claims(plane)
        line = await Timeline.read(plane, after=start)
        ((_rev, actor, live),) = line.created("mydb-2")
        assert actor == STS_ACTOR
        assert running_and_ready(live.get("mydb-1"))
        assert running_and_ready(live.get("mydb-0"))
        # the init containers ran, in order, before the pod started
        statuses = found["mydb-2"].status
        assert statuses is not None
        assert [s.name for s in statuses.init_container_statuses] == ["init-mysql", "clone-mysql"]

        # the seed's mistake: mydb-read selects app.kubernetes.io/name=mysql, no pod has it
        read = await endpoints(plane, "mydb-read")
        assert read.subsets == ()
        write = await endpoints(plane, "mydb")
        addresses = sorted(a.ip for s in write.subsets for a in s.addresses)
        assert addresses == sorted(pod_ip(p) for p in found.values())

        resolver = Resolver.from_informers(plane.informers)
        service = await plane.client.get("Service", "mydb-read", NS)
        assert isinstance(service, Service)
        cluster_ip = service.spec.cluster_ip
        assert cluster_ip
        assert cluster_ip != "None"
        assert host_lines(resolver, "mydb-read") == (
            f"mydb-read.default.svc.cluster.local has address {cluster_ip}",
        )
        assert sorted(resolver.resolve("mydb").addresses) == addresses
        assert resolver.resolve("mydb-0.mydb").addresses == (pod_ip(found["mydb-0"]),)
        assert resolver.resolve("mtdb-0.mydb").nxdomain


# -- StatefulSet rolling update with a partition -------------------------------------------------

WEB = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  serviceName: web
  replicas: 4
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "nginx:1"}]
"""


async def test_statefulset_partition_updates_highest_ordinals_first() -> None:
    async with running() as plane:
        await plane.apply(WEB)
        await settle(plane)
        old = (await statefulset(plane, "web")).status
        assert old is not None
        start = plane.log.revision
        image = {
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}
        }
        await patch(plane, "StatefulSet", "web", image)
        await settle(plane)

        line = await Timeline.read(plane, after=start, keep=True)
        assert line.deleted_by(STS_ACTOR) == ["web-3", "web-2"]  # highest first
        # web-2 is deleted only once the new web-3 is Running and Ready
        (deleted_2,) = [rev for rev, a, n in line.deletions if n == "web-2" and a == STS_ACTOR]
        ((created_3, _a, _l),) = line.created("web-3")
        assert created_3 < deleted_2
        (at_delete,) = [live for rev, live in line.states if rev == deleted_2]
        new_3 = at_delete["web-3"]
        assert running_and_ready(new_3)
        assert new_3.spec.containers[0].image == "nginx:2"
        assert line.created("web-1") == []  # below the partition: never replaced
        assert line.created("web-0") == []

        status = (await statefulset(plane, "web")).status
        assert status is not None
        assert status.current_revision == old.current_revision != status.update_revision
        assert (status.current_replicas, status.updated_replicas, status.ready_replicas) == (
            2,
            2,
            4,
        )
        found = await pods(plane)
        revisions = {n: p.metadata.labels[REVISION_LABEL] for n, p in found.items()}
        assert revisions == {
            "web-0": old.current_revision,
            "web-1": old.current_revision,
            "web-2": status.update_revision,
            "web-3": status.update_revision,
        }
        images = {n: p.spec.containers[0].image for n, p in found.items()}
        assert images == {
            "web-0": "nginx:1",
            "web-1": "nginx:1",
            "web-2": "nginx:2",
            "web-3": "nginx:2",
        }


# -- DaemonSet rolling update --------------------------------------------------------------------

AGENT = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: c, image: "%s"}]
"""


async def test_daemonset_rolls_one_node_at_a_time() -> None:
    async with running(nodes=3) as plane:
        await plane.apply(AGENT % "agent:1")
        await settle(plane)
        nodes = sorted(p.spec.node_name for p in (await pods(plane)).values())
        assert nodes == ["node-1", "node-2", "node-3"]

        start = plane.log.revision
        await plane.apply(AGENT % "agent:2")
        await settle(plane)
        line = await Timeline.read(plane, after=start, keep=True)
        # at every revision of the rollout, at most one node lacks a Running and Ready pod
        for rev, live in line.states:
            served = {p.spec.node_name for p in live.values() if running_and_ready(p)}
            assert len(set(nodes) - served) <= 1, f"revision {rev}: only {sorted(served)} served"
        deleted = line.deleted_by(DS_ACTOR)
        assert len(deleted) == 3
        created = [(n, a) for _r, a, n, _l in line.creations]
        assert len(created) == 3
        assert all(a == DS_ACTOR for _n, a in created)

        found = (await pods(plane)).values()
        assert sorted(p.spec.node_name for p in found) == nodes
        assert {p.spec.containers[0].image for p in found} == {"agent:2"}
        assert all(running_and_ready(p) for p in found)
        assert len({p.metadata.labels[REVISION_LABEL] for p in found}) == 1
