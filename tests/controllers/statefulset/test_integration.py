"""The StatefulSet controller in a whole control plane (scheduler, kubelet simulator with its
default 1 s start, garbage collector) on the virtual clock: the seed walkthrough's stories."""

from __future__ import annotations

import pytest

from controllers.common.times import format_time
from controllers.statefulset.identity import REVISION_LABEL
from tests.controllers.statefulset.plane import MANIFESTS, running, web

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_myapp_sts_ordered_creation_waits_for_ready() -> None:
    async with running() as p:
        t0 = p.now
        await p.apply((MANIFESTS / "myapp-sts.yaml").read_text())
        await p.settle()
        pods = await p.pods()
        assert sorted(pods) == ["myapp-sts-0", "myapp-sts-1"]
        # ordinal 1 only once ordinal 0 is Running and Ready (the kubelet takes 1 s)
        assert [(a, n, t - t0) for a, n, t in await p.pod_actions()] == [
            ("create", "myapp-sts-0", 0.0),
            ("create", "myapp-sts-1", 1.0),
        ]
        pod = pods["myapp-sts-1"]
        assert pod.spec.hostname == "myapp-sts-1"
        assert pod.spec.subdomain == "myapp-svc-headless"
        sts = await p.sts("myapp-sts")
        assert pod.metadata.labels["statefulset.kubernetes.io/pod-name"] == "myapp-sts-1"
        assert pod.metadata.labels["apps.kubernetes.io/pod-index"] == "1"
        (ref,) = pod.metadata.owner_references
        assert (ref.kind, ref.name, ref.uid) == ("StatefulSet", "myapp-sts", sts.metadata.uid)
        assert ref.controller
        assert ref.block_owner_deletion
        status = sts.status
        assert status is not None
        assert (status.replicas, status.ready_replicas, status.available_replicas) == (2, 2, 2)
        assert (status.current_replicas, status.updated_replicas) == (2, 2)
        assert status.current_revision == status.update_revision
        assert pod.metadata.labels[REVISION_LABEL] == status.update_revision
        assert status.observed_generation == sts.metadata.generation
        revisions = await p.revisions()
        assert list(revisions) == [status.update_revision]
        assert revisions[status.update_revision].revision == 1
        messages = await p.event_messages()
        assert "create Pod myapp-sts-0 in StatefulSet myapp-sts successful" in messages


async def test_myapp_sts_vol_scale_keeps_and_reuses_claims() -> None:
    name = "myapp-sts-vol"
    claim_names = [f"myapp-data-{name}-{i}" for i in range(4)]
    async with running() as p:
        await p.apply((MANIFESTS / "myapp-sts-vol.yaml").read_text())
        await p.settle()
        claims = await p.claims()
        assert sorted(claims) == claim_names[:2]
        claim = claims[claim_names[0]]
        assert claim.metadata.labels == {"app": name}
        assert claim.spec.storage_class_name == "nfs-client"
        pod = (await p.pods())[f"{name}-0"]
        (volume,) = [v for v in pod.spec.volumes if v.name == "myapp-data"]
        assert volume.persistent_volume_claim is not None
        assert volume.persistent_volume_claim.claim_name == claim_names[0]
        assert f"create Claim {claim_names[0]} Pod {name}-0 in StatefulSet {name} success" in (
            await p.event_messages()
        )

        await p.patch(name, {"spec": {"replicas": 4}})
        await p.settle()
        assert sorted(await p.pods()) == [f"{name}-{i}" for i in range(4)]
        claims = await p.claims()
        assert sorted(claims) == claim_names
        uids = {n: c.metadata.uid for n, c in claims.items()}

        await p.patch(name, {"spec": {"replicas": 2}})
        await p.settle()
        assert sorted(await p.pods()) == [f"{name}-0", f"{name}-1"]
        assert sorted(await p.claims()) == claim_names  # kept on scale-down
        deletes = [(n, t) for a, n, t in await p.pod_actions() if a == "delete"]
        assert [n for n, _ in deletes] == [f"{name}-3", f"{name}-2"]
        (gone_3,) = await p.gone_at(f"{name}-3")
        assert deletes[1][1] >= gone_3  # one at a time: 2 only once 3 has terminated

        await p.patch(name, {"spec": {"replicas": 4}})
        await p.settle()
        pods = await p.pods()
        assert sorted(pods) == [f"{name}-{i}" for i in range(4)]
        claims = await p.claims()
        assert {n: c.metadata.uid for n, c in claims.items()} == uids  # reused, not re-created
        volume = next(v for v in pods[f"{name}-3"].spec.volumes if v.name == "myapp-data")
        assert volume.persistent_volume_claim is not None
        assert volume.persistent_volume_claim.claim_name == claim_names[3]

        await p.plane.client.delete("StatefulSet", name, "default")
        await p.settle()
        assert await p.pods() == {}
        assert sorted(await p.claims()) == claim_names  # kept on deletion (Retain)


async def test_deleted_pod_comes_back_with_its_name_and_claim() -> None:
    async with running() as p:
        await p.apply(web(3))
        await p.settle()
        before = (await p.pods())["web-1"]
        await p.plane.client.delete("Pod", "web-1", "default")
        await p.settle()
        after = (await p.pods())["web-1"]
        assert after.metadata.uid != before.metadata.uid
        assert after.spec.volumes == before.spec.volumes
        assert sorted(await p.claims()) == ["data-web-0", "data-web-1", "data-web-2"]
        (gone,) = await p.gone_at("web-1")
        assert (parse := after.metadata.creation_timestamp) is not None
        assert parse >= format_time(gone)  # re-created only once the old pod terminated


async def test_parallel_creates_and_deletes_at_once() -> None:
    async with running() as p:
        t0 = p.now
        await p.apply(web(3, policy="Parallel"))
        await p.settle()
        creates = [(n, t - t0) for a, n, t in await p.pod_actions() if a == "create"]
        assert creates == [("web-0", 0.0), ("web-1", 0.0), ("web-2", 0.0)]
        t1 = p.now
        await p.patch("web", {"spec": {"replicas": 0}})
        await p.settle()
        deletes = [(n, t - t1) for a, n, t in await p.pod_actions() if a == "delete"]
        assert deletes == [("web-2", 0.0), ("web-1", 0.0), ("web-0", 0.0)]
        assert await p.pods() == {}


async def test_rolling_update_highest_first_down_to_the_partition() -> None:
    async with running() as p:
        strategy = "{type: RollingUpdate, rollingUpdate: {partition: 1}}"
        await p.apply(web(3, strategy=strategy))
        await p.settle()
        old_revision = (await p.sts()).status.current_revision  # type: ignore[union-attr]
        t1 = p.now
        image = {
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}
        }
        await p.patch("web", image)
        await p.settle()
        deletes = [n for a, n, t in await p.pod_actions() if a == "delete" and t >= t1]
        assert deletes == ["web-2", "web-1"]
        sts = await p.sts()
        status = sts.status
        assert status is not None
        assert status.current_revision == old_revision != status.update_revision
        assert (status.current_replicas, status.updated_replicas) == (1, 2)
        labels = {n: pod.metadata.labels[REVISION_LABEL] for n, pod in (await p.pods()).items()}
        assert labels == {
            "web-0": old_revision,
            "web-1": status.update_revision,
            "web-2": status.update_revision,
        }
        assert (await p.pods())["web-2"].spec.containers[0].image == "nginx:2"

        await p.patch("web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})
        await p.settle()
        status = (await p.sts()).status
        assert status is not None
        assert status.current_revision == status.update_revision
        assert (status.current_replicas, status.updated_replicas, status.ready_replicas) == (
            3,
            3,
            3,
        )


async def test_on_delete_replaces_only_deleted_pods() -> None:
    async with running() as p:
        await p.apply(web(2, strategy="{type: OnDelete}"))
        await p.settle()
        t1 = p.now
        image = {
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}
        }
        await p.patch("web", image)
        await p.settle()
        assert [a for a in await p.pod_actions() if a[2] >= t1] == []
        status = (await p.sts()).status
        assert status is not None
        assert (status.current_replicas, status.updated_replicas) == (2, 0)
        await p.plane.client.delete("Pod", "web-1", "default")
        await p.settle()
        pods = await p.pods()
        assert pods["web-1"].spec.containers[0].image == "nginx:2"
        assert pods["web-0"].spec.containers[0].image == "nginx:1"
        status = (await p.sts()).status
        assert status is not None
        assert (status.current_replicas, status.updated_replicas) == (1, 1)


async def test_retention_policy_delete_removes_claims() -> None:
    async with running() as p:
        await p.apply(web(3, retention="{whenDeleted: Delete, whenScaled: Delete}"))
        await p.settle()
        sts = await p.sts()
        claims = await p.claims()
        refs = claims["data-web-0"].metadata.owner_references
        assert [(r.kind, r.uid) for r in refs] == [("StatefulSet", sts.metadata.uid)]
        assert claims["data-web-0"].metadata.labels == {"tier": "db", "app": "web"}

        await p.patch("web", {"spec": {"replicas": 1}})
        await p.settle()
        assert sorted(await p.claims()) == ["data-web-0"]  # went with their pods

        await p.patch("web", {"spec": {"replicas": 2}})
        await p.settle()
        assert sorted(await p.claims()) == ["data-web-0", "data-web-1"]

        await p.plane.client.delete("StatefulSet", "web", "default")
        await p.settle()
        assert await p.claims() == {}


async def test_revisions_are_numbered_and_a_rollback_renumbers() -> None:
    async with running() as p:
        await p.apply(web(1, strategy="{type: OnDelete}"))
        await p.settle()
        first = (await p.sts()).status.update_revision  # type: ignore[union-attr]
        for image in ("nginx:2", "nginx:1"):
            await p.set_image(image)
            await p.settle()
        revisions = await p.revisions()
        assert len(revisions) == 2
        assert revisions[first].revision == 3  # the rollback bumped it past revision 2
        status = (await p.sts()).status
        assert status is not None
        assert status.update_revision == first
        assert status.collision_count == 0


async def test_min_ready_seconds_gates_ordinals_and_availability() -> None:
    async with running() as p:
        t0 = p.now
        await p.apply(web(2, min_ready=10))
        await p.settle()
        creates = [(n, t - t0) for a, n, t in await p.pod_actions() if a == "create"]
        # web-0's claim is provisioned in the instant the pod is made: its first scheduling
        # attempt finds it unbound, the retry comes after the 1 s back-off; Ready at 2 s,
        # available at 12 s, when web-1 is made
        assert creates == [("web-0", 0.0), ("web-1", 12.0)]
        status = (await p.sts()).status
        assert status is not None
        assert status.available_replicas == 2


async def test_mydb_scale_to_three_waits_for_the_previous_ordinal() -> None:
    async with running() as p:
        for manifest in ("mydb-cm-mysql.yaml", "mydb-sts-mysql.yaml", "mydb-svc-write.yaml"):
            await p.apply((MANIFESTS / manifest).read_text())
        await p.settle()
        assert sorted(await p.pods()) == ["mydb-0", "mydb-1"]
        t1 = p.now
        await p.patch("mydb", {"spec": {"replicas": 3}})
        await p.settle()
        assert sorted(await p.claims()) == ["data-mydb-0", "data-mydb-1", "data-mydb-2"]
        (create,) = [t for a, n, t in await p.pod_actions() if (a, n) == ("create", "mydb-2")]
        assert create == t1  # mydb-1 was already Running and Ready
        status = (await p.sts("mydb")).status
        assert status is not None
        assert status.ready_replicas == 3
        creates = [(n, t) for a, n, t in await p.pod_actions() if a == "create"]
        assert [n for n, _ in creates] == ["mydb-0", "mydb-1", "mydb-2"]
        assert creates[1][1] > creates[0][1]  # init containers, then the readiness probe


async def test_same_inputs_write_the_same_log() -> None:
    logs = []
    for _ in range(2):
        async with running() as p:
            await p.apply((MANIFESTS / "myapp-sts-vol.yaml").read_text())
            await p.settle()
            await p.patch("myapp-sts-vol", {"spec": {"replicas": 3}})
            await p.settle()
            logs.append(
                [
                    (ev.revision, ev.key, ev.value, ev.actor, ev.cause, ev.time)
                    async for ev in p.plane.log.events()
                ]
            )
    assert logs[0] == logs[1]
