"""The binder as recorded actions (STYLE 13): preload a FakeClient and the caches, reconcile one
claim or volume, compare the ordered writes; `drain()` runs the handlers' keys to the end."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from controllers.volume import (
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    claim_request,
    volume_request,
)
from controllers.volume.util import external_provisioning_message
from cp.api.core import PersistentVolume, PersistentVolumeClaim
from cp.api.meta import LabelSelector, ObjectReference
from cp.client import Action
from cp.runtime import Request, TerminalError
from tests.controllers.volume.harness import Harness, claim, pod, storage_class, volume

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def verbs(actions: list[Action]) -> list[tuple[str, str, str]]:
    return [(action.verb, action.kind, action.name) for action in actions]


async def test_dynamic_provisioning_of_a_claim() -> None:
    h = Harness(storage_class(default=True), claim())
    uid = h.pvc().metadata.uid
    pv_name = f"pvc-{uid}"
    writes = await h.claim_sync()
    assert verbs(writes) == [
        ("update", "PersistentVolumeClaim", "data"),  # storage-provisioner annotations
        ("create", "PersistentVolume", pv_name),
    ]
    assert h.recorder.reasons() == ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"]
    assert h.recorder.events[0][3] == external_provisioning_message("cpemu.io/hostpath")
    assert h.recorder.events[2][3] == f"Successfully provisioned volume {pv_name}"
    pv = h.pv(pv_name)
    assert pv.spec.capacity == {"storage": "1Gi"}
    assert pv.spec.access_modes == ("ReadWriteOnce",)
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.spec.storage_class_name == "standard"
    assert pv.spec.host_path is not None
    assert pv.spec.host_path.path == f"/var/lib/cpemu/pv/{pv_name}"
    assert pv.metadata.annotations == {ANN_DYNAMICALLY_PROVISIONED: "cpemu.io/hostpath"}
    assert pv.spec.claim_ref is not None
    assert pv.spec.claim_ref.uid == uid
    # The new volume's event binds the pre-bound pair.
    h.sync()
    assert set(await h.queued()) == {volume_request(pv_name), claim_request("default", "data")}
    writes = await h.claim_sync()
    assert verbs(writes) == [
        ("update_status", "PersistentVolume", pv_name),
        ("update", "PersistentVolumeClaim", "data"),
        ("update_status", "PersistentVolumeClaim", "data"),
    ]
    bound = h.pvc()
    assert bound.spec.volume_name == pv_name
    assert bound.metadata.annotations[ANN_BIND_COMPLETED] == "yes"
    assert bound.metadata.annotations[ANN_BOUND_BY_CONTROLLER] == "yes"
    assert bound.metadata.annotations[ANN_STORAGE_PROVISIONER] == "cpemu.io/hostpath"
    assert bound.status is not None
    assert (bound.status.phase, dict(bound.status.capacity)) == ("Bound", {"storage": "1Gi"})
    pv_status = h.pv(pv_name).status
    assert pv_status is not None
    assert pv_status.phase == "Bound"
    # Settled: syncing either side again writes nothing.
    await h.drain()
    assert await h.claim_sync() == []
    assert await h.volume_sync(pv_name) == []


async def test_static_binding_chooses_the_smallest_volume_that_fits() -> None:
    h = Harness(
        storage_class(default=True),
        volume("big", "5Gi"),
        volume("fits", "2Gi"),
        volume("small", "500Mi"),
        volume("rwx-only", "1Gi", modes=("ReadWriteMany",)),
        volume("other-class", "1Gi", cls="fast"),
        volume("pending", "1Gi", phase="Pending"),
        claim(size="1Gi"),
    )
    writes = await h.claim_sync()
    assert verbs(writes) == [
        ("update", "PersistentVolume", "fits"),
        ("update_status", "PersistentVolume", "fits"),
        ("update", "PersistentVolumeClaim", "data"),
        ("update_status", "PersistentVolumeClaim", "data"),
    ]
    pv = h.pv("fits")
    assert pv.metadata.annotations == {ANN_BOUND_BY_CONTROLLER: "yes"}
    ref = pv.spec.claim_ref
    assert ref == ObjectReference(
        kind="PersistentVolumeClaim",
        namespace="default",
        name="data",
        uid=h.pvc().metadata.uid,
        api_version="v1",
        resource_version=ref.resource_version if ref else "",
    )
    assert h.pvc().spec.volume_name == "fits"
    assert h.recorder.events == []


async def test_fewest_access_modes_win_before_size() -> None:
    h = Harness(
        volume("rwo-rox-small", "1Gi", modes=("ReadOnlyMany", "ReadWriteOnce")),
        volume("rwo-big", "10Gi"),
        claim(size="1Gi"),
    )
    await h.claim_sync()
    assert h.pvc().spec.volume_name == "rwo-big"


async def test_selector_filters_volumes() -> None:
    h = Harness(
        volume("a", "1Gi", labels={"tier": "slow"}),
        volume("b", "3Gi", labels={"tier": "fast"}),
        claim(selector=LabelSelector(match_labels={"tier": "fast"})),
    )
    await h.claim_sync()
    assert h.pvc().spec.volume_name == "b"


async def test_missing_class_stays_pending_with_the_event() -> None:
    h = Harness(storage_class(default=True), claim(cls="nfs-client"))
    writes = await h.claim_sync()
    assert writes == []  # defaulted Pending already
    assert h.recorder.events == [
        (
            "data",
            "Warning",
            "ProvisioningFailed",
            'storageclass.storage.k8s.io "nfs-client" not found',
        )
    ]
    # The class appearing later re-enqueues the claim, which provisions.
    await h.client.create(storage_class("nfs-client", provisioner="cpemu.io/hostpath"))
    h.sync()
    assert claim_request("default", "data") in await h.queued()


async def test_unserved_provisioner_waits_for_the_external_one() -> None:
    h = Harness(storage_class("nfs-client", provisioner="nfs-client"), claim(cls="nfs-client"))
    writes = await h.claim_sync()
    assert verbs(writes) == [("update", "PersistentVolumeClaim", "data")]
    annotations = h.pvc().metadata.annotations
    assert annotations[ANN_STORAGE_PROVISIONER] == "nfs-client"
    assert annotations["volume.beta.kubernetes.io/storage-provisioner"] == "nfs-client"
    assert h.recorder.events == [
        (
            "data",
            "Normal",
            "ExternalProvisioning",
            "Waiting for a volume to be created either by the external provisioner 'nfs-client' "
            "or manually by the system administrator. If volume creation is delayed, please "
            "verify that the provisioner is running and correctly registered.",
        )
    ]
    h.sync()
    await h.queued()
    assert await h.claim_sync() == []  # annotated already: only the event again


async def test_served_provisioner_from_the_constructor() -> None:
    h = Harness(
        storage_class("nfs-client", provisioner="nfs-client"),
        claim(cls="nfs-client"),
        served=("nfs-client",),
    )
    await h.drain()
    bound = h.pvc()
    assert bound.status is not None
    assert bound.status.phase == "Bound"
    pv = h.pv(bound.spec.volume_name)
    assert pv.metadata.annotations[ANN_DYNAMICALLY_PROVISIONED] == "nfs-client"


async def test_no_class_and_no_volume() -> None:
    h = Harness(claim(cls=""))
    assert await h.claim_sync() == []
    assert h.recorder.reasons() == ["FailedBinding"]
    assert h.recorder.events[0][3] == (
        "no persistent volumes available for this claim and no storage class is set"
    )


async def test_nil_class_gets_the_default() -> None:
    """The retroactive default: the FakeClient's admission refuses the class write (cpemu's
    PVC update rule), so the claim is matched as the default class without the write."""
    h = Harness(storage_class(default=True), claim(cls=None))
    await h.drain()
    bound = h.pvc()
    assert bound.status is not None
    assert bound.status.phase == "Bound"
    assert h.pv(bound.spec.volume_name).spec.storage_class_name == "standard"


async def bound_pair(reclaim: str) -> tuple[Harness, str]:
    h = Harness(storage_class(default=True, reclaim=reclaim), claim())
    await h.drain()
    name = h.pvc().spec.volume_name
    assert h.pv(name).spec.persistent_volume_reclaim_policy == reclaim
    return h, name


async def test_delete_reclaim_deletes_the_volume() -> None:
    h, name = await bound_pair("Delete")
    await h.client.delete("PersistentVolumeClaim", "data", "default")
    h.sync()
    assert await h.queued() == [volume_request(name)]
    writes = await h.volume_sync(name)
    assert verbs(writes) == [
        ("update_status", "PersistentVolume", name),
        ("delete", "PersistentVolume", name),
    ]
    assert h.volumes() == []


async def test_retain_reclaim_keeps_the_volume_released() -> None:
    h, name = await bound_pair("Retain")
    await h.client.delete("PersistentVolumeClaim", "data", "default")
    await h.drain()
    pv = h.pv(name)
    assert pv.status is not None
    assert pv.status.phase == "Released"
    # A new claim of the same name does not bind the old volume: its uid differs.
    await h.client.create(replace(claim(), metadata=replace(claim().metadata, uid="")))
    await h.drain()
    new = h.pvc()
    assert new.spec.volume_name not in ("", name)
    assert h.pv(name).status.phase == "Released"  # type: ignore[union-attr]


async def test_wait_for_first_consumer() -> None:
    h = Harness(storage_class("local", mode="WaitForFirstConsumer"), claim(cls="local"))
    assert await h.claim_sync() == []
    assert h.recorder.events[-1][2:] == (
        "WaitForFirstConsumer",
        "waiting for first consumer to be created before binding",
    )
    await h.client.create(pod("web-0", "data"))
    h.sync()
    assert await h.claim_sync() == []
    assert h.recorder.events[-1][2:] == (
        "WaitForPodScheduled",
        "waiting for pod web-0 to be scheduled",
    )
    # The pod reaches a node: selected-node, then provisioning and binding.
    await h.client.bind("web-0", "node-1", "default")
    h.sync()
    assert claim_request("default", "data") in await h.queued()
    writes = await h.claim_sync()
    assert verbs(writes) == [("update", "PersistentVolumeClaim", "data")]
    assert h.pvc().metadata.annotations[ANN_SELECTED_NODE] == "node-1"
    await h.drain()
    bound = h.pvc()
    assert bound.status is not None
    assert bound.status.phase == "Bound"


async def test_wait_for_first_consumer_does_not_bind_static_volumes_early() -> None:
    h = Harness(
        storage_class("local", mode="WaitForFirstConsumer"),
        volume("disk", "1Gi", cls="local"),
        claim(cls="local"),
    )
    await h.drain()
    assert h.pvc().spec.volume_name == ""
    await h.client.create(pod("web-0", "data", node="node-2"))
    await h.drain()
    assert h.pvc().spec.volume_name == "disk"


async def test_user_pre_bound_claim() -> None:
    h = Harness(volume("small", "100Mi"), claim(volume_name="small"))
    assert await h.claim_sync() == []
    assert h.recorder.events[-1][2:] == (
        "VolumeMismatch",
        'Cannot bind to requested volume "small": requested PV is too small',
    )
    h2 = Harness(volume("ok", "1Gi"), claim(volume_name="ok"))
    await h2.claim_sync()
    pvc = h2.pvc()
    assert pvc.metadata.annotations.get(ANN_BOUND_BY_CONTROLLER) is None  # the user chose it
    assert h2.pv("ok").metadata.annotations[ANN_BOUND_BY_CONTROLLER] == "yes"


async def test_pre_bound_to_a_volume_claimed_by_another() -> None:
    other = ObjectReference(kind="PersistentVolumeClaim", namespace="default", name="x", uid="u")
    taken = volume("taken", "1Gi")
    taken = replace(taken, spec=replace(taken.spec, claim_ref=other))
    h = Harness(taken, claim(volume_name="taken"))
    assert await h.claim_sync() == []
    assert h.recorder.events[-1][2:] == (
        "FailedBinding",
        'volume "taken" already bound to a different claim.',
    )


async def test_bound_claim_whose_volume_vanished_is_lost() -> None:
    h, name = await bound_pair("Retain")
    await h.client.delete("PersistentVolume", name)
    h.sync()
    await h.queued()
    writes = await h.claim_sync()
    assert verbs(writes) == [("update_status", "PersistentVolumeClaim", "data")]
    pvc = h.pvc()
    assert pvc.status is not None
    assert pvc.status.phase == "Lost"
    assert h.recorder.events[-1][2] == "ClaimLost"


async def test_static_volume_becomes_available_and_binds_a_waiting_claim() -> None:
    h = Harness(claim(cls="manual"), volume("later", "1Gi", cls="manual", phase="Pending"))
    await h.drain()
    assert h.pv("later").status.phase == "Bound"  # type: ignore[union-attr]
    assert h.pvc().spec.volume_name == "later"


async def test_unknown_key_is_terminal() -> None:
    h = Harness()
    with pytest.raises(TerminalError):
        await h.binder.reconcile(Request("default", "Pod/x"))


def test_types() -> None:
    assert isinstance(claim(), PersistentVolumeClaim)
    assert isinstance(volume("a", "1Gi"), PersistentVolume)


async def test_nil_class_is_written_then_provisioned() -> None:
    """Upstream's update rule lets storageClassName go from nil to a value: the default class
    is written into the claim first (`assignDefaultStorageClass`), then provisioned."""
    h = Harness(storage_class(default=True), claim(cls=None))
    writes = await h.claim_sync()
    assert verbs(writes) == [("update", "PersistentVolumeClaim", "data")]
    assert h.pvc().spec.storage_class_name == "standard"
    await h.drain()
    bound = h.pvc()
    assert bound.status is not None
    assert bound.status.phase == "Bound"
