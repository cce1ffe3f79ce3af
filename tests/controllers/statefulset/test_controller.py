"""The StatefulSet controller as recorded actions (STYLE 13, upstream
`stateful_set_control_test.go`): preload a fake client and the caches, run one sync, compare
the writes."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.statefulset import EVENT_SOURCE, STS_NAME
from controllers.statefulset.identity import POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL
from cp.api.apps import (
    ControllerRevision,
    RollingUpdateStatefulSetStrategy,
    StatefulSetUpdateStrategy,
)
from cp.api.core_pod import Pod
from cp.runtime import Result
from tests.controllers.statefulset.harness import Harness, stateful_set, verbs

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_names_and_wiring() -> None:
    h = Harness(stateful_set())
    assert (STS_NAME, EVENT_SOURCE) == ("statefulset", "statefulset-controller")
    assert h.ssc.controller.actor == "controller/statefulset"
    assert h.ssc.controller.workers == 5


async def test_first_sync_creates_revision_claim_then_pod_zero_only() -> None:
    h = Harness(stateful_set(3))
    writes, result = await h.reconcile()
    (revision,) = h.objects(ControllerRevision)
    assert verbs(writes) == [
        ("create", "ControllerRevision", revision),
        ("create", "PersistentVolumeClaim", "data-web-0"),
        ("create", "Pod", "web-0"),
        ("update_status", "StatefulSet", "web"),
    ]
    assert result == Result()
    assert h.recorder.events == [
        (
            "Normal",
            "SuccessfulCreate",
            "create Claim data-web-0 Pod web-0 in StatefulSet web success",
        ),
        ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
    ]
    pod = h.pods()["web-0"]
    assert pod.spec.hostname == "web-0"
    assert pod.spec.subdomain == "web-svc"
    assert pod.metadata.labels == {
        "app": "web",
        POD_NAME_LABEL: "web-0",
        POD_INDEX_LABEL: "0",
        REVISION_LABEL: revision,
    }
    (volume,) = pod.spec.volumes
    assert volume.name == "data"
    assert volume.persistent_volume_claim is not None
    assert volume.persistent_volume_claim.claim_name == "data-web-0"
    claim = h.claims()["data-web-0"]
    assert claim.metadata.labels == {"tier": "db", "app": "web"}
    assert claim.metadata.owner_references == ()  # Retain / Retain
    assert revision.startswith("web-")
    status = h.status()
    assert (status.replicas, status.current_revision, status.update_revision) == (
        0,
        revision,
        revision,
    )
    assert status.collision_count == 0
    assert status.observed_generation == 1


async def test_ordered_ready_waits_for_running_and_ready() -> None:
    h = Harness(stateful_set(2))
    await h.reconcile()
    writes, _ = await h.reconcile()  # web-0 created but not running
    assert verbs(writes) == [("update_status", "StatefulSet", "web")]
    assert h.status().replicas == 1
    await h.kubelet("web-0", ready=False)
    writes, _ = await h.reconcile()
    assert writes == []
    await h.kubelet("web-0")
    writes, _ = await h.reconcile()
    assert verbs(writes) == [
        ("create", "PersistentVolumeClaim", "data-web-1"),
        ("create", "Pod", "web-1"),
        ("update_status", "StatefulSet", "web"),
    ]
    assert h.status().ready_replicas == 1


async def test_stale_cache_create_fails_without_an_event() -> None:
    h = Harness(stateful_set(1))
    await h.reconcile()
    h.sync(["StatefulSet", "ControllerRevision", "PersistentVolumeClaim"])  # no pod ADD yet
    with pytest.raises(Exception, match="already exists"):
        await h.reconcile(sync=False)
    assert h.recorder.events == []


async def test_parallel_creates_every_pod_in_one_sync() -> None:
    h = Harness(stateful_set(3, policy="Parallel", claims=False))
    writes, _ = await h.reconcile()
    assert [(v, n) for v, k, n in verbs(writes) if k == "Pod"] == [
        ("create", "web-0"),
        ("create", "web-1"),
        ("create", "web-2"),
    ]


async def _three_ready(h: Harness) -> None:
    """Bring `web` (Parallel or not) to three Running and Ready pods."""
    for _ in range(6):
        await h.reconcile()
        for name in h.pods():
            await h.kubelet(name)
    assert sorted(h.pods()) == ["web-0", "web-1", "web-2"]


async def test_scale_down_deletes_the_highest_ordinal_and_waits() -> None:
    h = Harness(stateful_set(3))
    await _three_ready(h)
    sts = h.sts()
    await h.client.update(replace(sts, spec=replace(sts.spec, replicas=1)))
    writes, _ = await h.reconcile()
    assert ("delete", "Pod", "web-2") in verbs(writes)
    assert ("delete", "Pod", "web-1") not in verbs(writes)
    assert h.recorder.events == [
        ("Normal", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful")
    ]
    writes, _ = await h.reconcile()
    assert [w for w in verbs(writes) if w[0] == "delete"] == [("delete", "Pod", "web-1")]
    assert sorted(h.claims()) == ["data-web-0", "data-web-1", "data-web-2"]  # kept


async def test_failed_pod_is_recreated() -> None:
    h = Harness(stateful_set(1, claims=False))
    await h.reconcile()
    await h.kubelet("web-0", "Failed", ready=False)
    old_uid = h.pods()["web-0"].metadata.uid
    writes, _ = await h.reconcile()
    assert verbs(writes)[:2] == [("delete", "Pod", "web-0"), ("create", "Pod", "web-0")]
    assert h.recorder.events[0] == (
        "Warning",
        "RecreatingFailedPod",
        "StatefulSet default/web is recreating failed Pod web-0",
    )
    assert h.pods()["web-0"].metadata.uid != old_uid


async def test_rolling_update_deletes_one_outdated_pod_highest_first() -> None:
    h = Harness(stateful_set(3, claims=False))
    await _three_ready(h)
    old = h.status().update_revision
    await h.set_image("nginx:2")
    writes, _ = await h.reconcile()
    deletes = [w for w in verbs(writes) if w[0] == "delete"]
    assert deletes == [("delete", "Pod", "web-2")]
    status = h.status()
    assert status.current_revision == old != status.update_revision
    assert status.current_replicas == 2  # decremented for the deletion
    writes, _ = await h.reconcile()  # web-2 recreated at the update revision
    assert ("create", "Pod", "web-2") in verbs(writes)
    assert h.pods()["web-2"].metadata.labels[REVISION_LABEL] == status.update_revision
    writes, _ = await h.reconcile()  # web-2 not ready yet: wait
    assert [w for w in verbs(writes) if w[0] in ("create", "delete")] == []


async def test_partition_keeps_lower_ordinals_at_the_current_revision() -> None:
    strategy = StatefulSetUpdateStrategy(
        type="RollingUpdate", rolling_update=RollingUpdateStatefulSetStrategy(partition=2)
    )
    h = Harness(stateful_set(3, claims=False, strategy=strategy))
    await _three_ready(h)
    await h.set_image("nginx:2")
    await h.reconcile()
    for _ in range(4):
        await h.reconcile()
        for name in h.pods():
            await h.kubelet(name)
    images = {n: p.spec.containers[0].image for n, p in h.pods().items()}
    assert images == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"}
    status = h.status()
    assert (status.current_replicas, status.updated_replicas) == (2, 1)


async def test_on_delete_never_deletes() -> None:
    h = Harness(stateful_set(3, claims=False, strategy=StatefulSetUpdateStrategy(type="OnDelete")))
    await _three_ready(h)
    await h.set_image("nginx:2")
    writes, _ = await h.reconcile()
    assert [w for w in verbs(writes) if w[0] == "delete"] == []


async def test_retention_delete_sets_refs_on_claims() -> None:
    h = Harness(stateful_set(2, retention=("Delete", "Delete")))
    await h.reconcile()
    await h.kubelet("web-0")
    await h.reconcile()
    await h.kubelet("web-1")
    await h.reconcile()  # the claim was not in the cache when web-1 was created
    claim = h.claims()["data-web-1"]
    assert [(r.kind, r.name, r.controller) for r in claim.metadata.owner_references] == [
        ("StatefulSet", "web", True)
    ]
    sts = h.sts()
    await h.client.update(replace(sts, spec=replace(sts.spec, replicas=1)))
    writes, _ = await h.reconcile()
    # the condemned pod's claim moves from the set to the pod, then the pod goes
    assert verbs(writes)[:2] == [
        ("update", "PersistentVolumeClaim", "data-web-1"),
        ("delete", "Pod", "web-1"),
    ]
    refs = h.claims()["data-web-1"].metadata.owner_references
    assert [(r.kind, r.name) for r in refs] == [("Pod", "web-1")]


async def test_pod_with_a_stale_claim_waits() -> None:
    h = Harness(stateful_set(1, retention=("Delete", "Retain")))
    await h.reconcile()
    pod = h.pods()["web-0"]
    claim = h.claims()["data-web-0"]
    ref = replace(pod.metadata.owner_references[0], kind="Pod", name="web-0", uid="old-pod-uid")
    await h.client.update(replace(claim, metadata=replace(claim.metadata, owner_references=(ref,))))
    await h.client.delete("Pod", "web-0", "default")
    writes, _ = await h.reconcile()
    assert [w for w in verbs(writes) if w[1] == "Pod"] == []


async def test_requeues_when_a_ready_pod_becomes_available() -> None:
    h = Harness(stateful_set(1, claims=False, min_ready=10))
    await h.reconcile()
    await h.kubelet("web-0")  # ready since NOW
    _, result = await h.reconcile()
    assert result == Result(requeue_after=10.0)
    assert h.status().available_replicas == 0


async def test_orphan_pod_is_adopted() -> None:
    sts = stateful_set(1, claims=False)
    orphan = Pod(
        metadata=replace(
            sts.spec.template.metadata, name="web-0", namespace="default", uid="orphan-uid"
        ),
        spec=sts.spec.template.spec,
    )
    h = Harness(sts, orphan)
    writes, _ = await h.reconcile()
    assert ("patch", "Pod", "web-0") in verbs(writes)
    assert ("create", "Pod", "web-0") not in verbs(writes)
    (ref,) = h.pods()["web-0"].metadata.owner_references
    assert ref.uid == "sts-uid"


async def test_max_unavailable_deletes_several_outdated_pods_per_pass() -> None:
    strategy = StatefulSetUpdateStrategy(
        type="RollingUpdate",
        rolling_update=RollingUpdateStatefulSetStrategy(partition=0, max_unavailable="67%"),
    )
    h = Harness(stateful_set(3, claims=False, strategy=strategy))
    await _three_ready(h)
    await h.set_image("nginx:2")
    writes, _ = await h.reconcile()
    # 67% of 3 rounds down to 2: the two highest outdated pods go at once
    assert [w for w in verbs(writes) if w[0] == "delete"] == [
        ("delete", "Pod", "web-2"),
        ("delete", "Pod", "web-1"),
    ]
    assert h.status().current_replicas == 1
