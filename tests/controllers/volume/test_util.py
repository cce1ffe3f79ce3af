"""The pure helpers: `claims_bound` (the scheduler's check), matching rules, the default class
and the provisioned volume."""

from __future__ import annotations

from msgspec.structs import replace

from controllers.volume import (
    ANN_BIND_COMPLETED,
    ANN_DEFAULT_CLASS,
    UNBOUND_IMMEDIATE,
    claims_bound,
    default_storage_class,
    pick_default_class,
    provisioned_volume,
)
from controllers.volume.util import check_volume_satisfy_claim, claim_class
from cp.api.core import PersistentVolumeClaim
from cp.api.meta import ObjectMeta
from cp.api.storage import StorageClass
from tests.controllers.volume.harness import claim, pod, storage_class, volume


class Getter:
    def __init__(self, *objects: PersistentVolumeClaim | StorageClass) -> None:
        self.objects = {(o.metadata.namespace, o.metadata.name): o for o in objects}

    def get(self, namespace: str, name: str) -> PersistentVolumeClaim | None:
        found = self.objects.get((namespace, name))
        assert found is None or isinstance(found, PersistentVolumeClaim)
        return found


class Classes:
    def __init__(self, *classes: StorageClass) -> None:
        self.classes = {c.metadata.name: c for c in classes}

    def get(self, namespace: str, name: str) -> StorageClass | None:
        assert namespace == ""
        return self.classes.get(name)


def bound(c: PersistentVolumeClaim) -> PersistentVolumeClaim:
    meta = replace(c.metadata, annotations={ANN_BIND_COMPLETED: "yes"})
    return replace(c, metadata=meta, spec=replace(c.spec, volume_name="pv-1"))


def test_claims_bound() -> None:
    web = pod("web-0", "data")
    assert claims_bound(web, Getter()) == 'persistentvolumeclaim "data" not found'
    deleting = replace(claim(), metadata=replace(claim().metadata, deletion_timestamp="x"))
    assert claims_bound(web, Getter(deleting)) == 'persistentvolumeclaim "data" is being deleted'
    assert claims_bound(web, Getter(claim())) == UNBOUND_IMMEDIATE
    assert claims_bound(web, Getter(bound(claim()))) is None
    # volumeName without bind-completed is not fully bound yet.
    half = replace(claim(), spec=replace(claim().spec, volume_name="pv-1"))
    assert claims_bound(web, Getter(half)) == UNBOUND_IMMEDIATE
    wffc = Classes(storage_class("local", mode="WaitForFirstConsumer"))
    assert claims_bound(pod("p", "data"), Getter(claim(cls="local")), wffc) is None
    assert claims_bound(pod("p", "data"), Getter(claim(cls="local"))) == UNBOUND_IMMEDIATE
    # A missing class binds immediately.
    assert claims_bound(pod("p", "data"), Getter(claim(cls="gone")), wffc) == UNBOUND_IMMEDIATE
    no_volumes = replace(web, spec=replace(web.spec, volumes=()))
    assert claims_bound(no_volumes, Getter()) is None


def test_pick_default_class_prefers_the_newest() -> None:
    old = replace(
        storage_class("a", default=True),
        metadata=replace(
            storage_class("a", default=True).metadata, creation_timestamp="2024-01-01T00:00:00Z"
        ),
    )
    new = replace(
        storage_class("b", default=True),
        metadata=replace(
            storage_class("b", default=True).metadata, creation_timestamp="2024-02-01T00:00:00Z"
        ),
    )
    assert pick_default_class([old, new, storage_class("c")]) is new
    assert pick_default_class([storage_class("c")]) is None
    twin = replace(new, metadata=replace(new.metadata, name="a2"))
    assert pick_default_class([new, twin]) is twin  # same time: smallest name


def test_default_storage_class() -> None:
    sc = default_storage_class()
    assert sc.metadata.name == "standard"
    assert sc.metadata.annotations == {ANN_DEFAULT_CLASS: "true"}
    assert (sc.provisioner, sc.reclaim_policy, sc.volume_binding_mode) == (
        "cpemu.io/hostpath",
        "Delete",
        "Immediate",
    )
    kind_like = default_storage_class(binding_mode="WaitForFirstConsumer")
    assert kind_like.volume_binding_mode == "WaitForFirstConsumer"


def test_check_volume_satisfy_claim() -> None:
    c = claim(size="1Gi")
    assert check_volume_satisfy_claim(volume("a", "1Gi"), c) is None
    assert check_volume_satisfy_claim(volume("a", "1G"), c) == "requested PV is too small"
    assert check_volume_satisfy_claim(volume("a", "1Gi", cls="x"), c) == (
        "storageClassName does not match"
    )
    rwx = volume("a", "1Gi", modes=("ReadWriteMany",))
    assert check_volume_satisfy_claim(rwx, c) == "incompatible accessMode"
    block = replace(volume("a", "1Gi"), spec=replace(volume("a", "1Gi").spec, volume_mode="Block"))
    assert check_volume_satisfy_claim(block, c) == "incompatible volumeMode"
    gone = replace(volume("a", "1Gi"), metadata=ObjectMeta(name="a", deletion_timestamp="x"))
    assert check_volume_satisfy_claim(gone, c) == 'the volume is marked for deletion "a"'


def test_claim_class_reads_the_beta_annotation_first() -> None:
    c = claim(cls="x")
    beta = replace(
        c,
        metadata=replace(c.metadata, annotations={"volume.beta.kubernetes.io/storage-class": "y"}),
    )
    assert (claim_class(c), claim_class(beta), claim_class(claim(cls=None))) == ("x", "y", "")


def test_provisioned_volume() -> None:
    sc = storage_class("fast", reclaim="Retain")
    pv = provisioned_volume(claim(size="3Gi", modes=("ReadWriteMany",)), sc, "cpemu.io/hostpath")
    assert pv.metadata.name == "pvc-uid-data"
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    assert pv.spec.capacity == {"storage": "3Gi"}
    assert pv.spec.access_modes == ("ReadWriteMany",)
    assert pv.spec.claim_ref is not None
    assert (pv.spec.claim_ref.name, pv.spec.claim_ref.uid) == ("data", "uid-data")
    unset = provisioned_volume(claim(), storage_class(), "p")
    assert unset.spec.persistent_volume_reclaim_policy == "Delete"
