"""Pure helpers of the PersistentVolume controller: annotations, class and size rules, the
provisioned volume, the default StorageClass and the scheduler's `claims_bound` check.

Upstream: `pkg/controller/volume/persistentvolume/util/util.go` (annotations,
`IsVolumeBoundToClaim`, `GetBindingMode`, `IsDelayBindingProvisioning`),
`component-helpers/storage/volume/helpers.go` (`GetPersistentVolumeClaimClass`,
`GetPersistentVolumeClass`, `CheckAccessModes`, `CheckVolumeModeMismatches`),
`pv_controller.go` (`checkVolumeSatisfyClaim`, `getProvisionedVolumeNameForClaim`),
`pkg/volume/util/storageclass.go` (`GetDefaultClass`) and the scheduler's VolumeBinding plugin
(`pkg/scheduler/framework/plugins/volumebinding`, `PreFilter` / `GetPodVolumeClaims`).

Nothing here does I/O; every function is total on well-formed API objects (an unparsable
quantity counts as absent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from cp.api.core import PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec
from cp.api.core_pod import HostPathVolumeSource, Pod
from cp.api.meta import ObjectMeta, ObjectReference
from cp.api.quantity import Quantity, QuantityError
from cp.api.storage import StorageClass

__all__ = [
    "ANN_BETA_DEFAULT_CLASS",
    "ANN_BETA_STORAGE_CLASS",
    "ANN_BETA_STORAGE_PROVISIONER",
    "ANN_BIND_COMPLETED",
    "ANN_BOUND_BY_CONTROLLER",
    "ANN_DEFAULT_CLASS",
    "ANN_DYNAMICALLY_PROVISIONED",
    "ANN_SELECTED_NODE",
    "ANN_STORAGE_PROVISIONER",
    "DEFAULT_CLASS_NAME",
    "HOSTPATH_PROVISIONER",
    "HOSTPATH_ROOT",
    "UNBOUND_IMMEDIATE",
    "ClaimGetter",
    "ClassGetter",
    "annotations_with",
    "check_volume_satisfy_claim",
    "claim_class",
    "claim_key",
    "claim_reference",
    "claims_bound",
    "default_storage_class",
    "external_provisioning_message",
    "is_default_class",
    "is_delay_binding",
    "is_fully_bound",
    "is_volume_bound_to_claim",
    "pick_default_class",
    "pod_claim_names",
    "provisioned_volume",
    "provisioned_volume_name",
    "requested_bytes",
    "volume_bytes",
    "volume_class",
    "volume_mode_mismatch",
]

ANN_BIND_COMPLETED: Final = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER: Final = "pv.kubernetes.io/bound-by-controller"
ANN_STORAGE_PROVISIONER: Final = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER: Final = "volume.beta.kubernetes.io/storage-provisioner"
ANN_DYNAMICALLY_PROVISIONED: Final = "pv.kubernetes.io/provisioned-by"
ANN_SELECTED_NODE: Final = "volume.kubernetes.io/selected-node"
#: The legacy class annotation `GetPersistentVolumeClaimClass` still reads first.
ANN_BETA_STORAGE_CLASS: Final = "volume.beta.kubernetes.io/storage-class"
ANN_DEFAULT_CLASS: Final = "storageclass.kubernetes.io/is-default-class"
ANN_BETA_DEFAULT_CLASS: Final = "storageclass.beta.kubernetes.io/is-default-class"

#: The provisioner the emulator always serves, and where its volumes "live".
HOSTPATH_PROVISIONER: Final = "cpemu.io/hostpath"
HOSTPATH_ROOT: Final = "/var/lib/cpemu/pv"
#: The name of the class `default_storage_class` returns (kind's is `standard` too).
DEFAULT_CLASS_NAME: Final = "standard"
#: The VolumeBinding PreFilter reason (`ErrReasonBindConflict`'s sibling in `binder.go`).
UNBOUND_IMMEDIATE: Final = "pod has unbound immediate PersistentVolumeClaims"


class ClaimGetter(Protocol):
    """What `claims_bound` reads claims with (an informer `Lister[PersistentVolumeClaim]`)."""

    def get(self, namespace: str, name: str) -> PersistentVolumeClaim | None: ...


class ClassGetter(Protocol):
    """What `claims_bound` reads classes with (a `Lister[StorageClass]`, namespace "")."""

    def get(self, namespace: str, name: str) -> StorageClass | None: ...


def claim_key(namespace: str, name: str) -> str:
    """`namespace/name`, upstream's `claimToClaimKey`."""
    return f"{namespace}/{name}"


def claim_class(claim: PersistentVolumeClaim) -> str:
    """`GetPersistentVolumeClaimClass`: the beta annotation, else `spec.storageClassName`,
    else "" (no class: binds only to classless PVs, never provisioned)."""
    beta = claim.metadata.annotations.get(ANN_BETA_STORAGE_CLASS)
    if beta is not None:
        return beta
    return claim.spec.storage_class_name or ""


def volume_class(volume: PersistentVolume) -> str:
    """`GetPersistentVolumeClass`: the beta annotation, else `spec.storageClassName`."""
    beta = volume.metadata.annotations.get(ANN_BETA_STORAGE_CLASS)
    return beta if beta is not None else volume.spec.storage_class_name


def _bytes(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return Quantity.parse(text).value()
    except QuantityError:
        return None


def requested_bytes(claim: PersistentVolumeClaim) -> int:
    """`spec.resources.requests[storage]` in bytes (rounded up, as `Quantity.Value()`); 0 when
    absent (validation requires it, so only hand-made test objects lack it)."""
    resources = claim.spec.resources
    if resources is None:
        return 0
    return _bytes(resources.requests.get("storage")) or 0


def volume_bytes(volume: PersistentVolume) -> int:
    """`spec.capacity[storage]` in bytes; 0 when absent or unparsable."""
    return _bytes(volume.spec.capacity.get("storage")) or 0


def is_default_class(sc: StorageClass) -> bool:
    """`IsDefaultAnnotation`: either default annotation is "true"."""
    annotations = sc.metadata.annotations
    return (
        annotations.get(ANN_DEFAULT_CLASS) == "true"
        or annotations.get(ANN_BETA_DEFAULT_CLASS) == "true"
    )


def pick_default_class(classes: Iterable[StorageClass]) -> StorageClass | None:
    """`GetDefaultClass`: of the default classes the newest (creationTimestamp), ties broken by
    name (smallest first); None when no class is marked default."""
    best: StorageClass | None = None
    for sc in classes:
        if not is_default_class(sc):
            continue
        if best is None:
            best = sc
            continue
        stamp, best_stamp = (
            sc.metadata.creation_timestamp or "",
            (best.metadata.creation_timestamp or ""),
        )
        if stamp > best_stamp or (stamp == best_stamp and sc.metadata.name < best.metadata.name):
            best = sc
    return best


def is_delay_binding(sc: StorageClass | None) -> bool:
    """`IsDelayBindingMode`: the class exists with `volumeBindingMode: WaitForFirstConsumer`
    (a missing class, or no class, binds immediately)."""
    return sc is not None and sc.volume_binding_mode == "WaitForFirstConsumer"


def is_fully_bound(claim: PersistentVolumeClaim) -> bool:
    """The scheduler's `isPVCFullyBound`: volumeName set and `bind-completed` present."""
    return bool(claim.spec.volume_name) and ANN_BIND_COMPLETED in claim.metadata.annotations


def is_volume_bound_to_claim(volume: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    """`IsVolumeBoundToClaim`: the PV's claimRef names the claim, with its uid or no uid."""
    ref = volume.spec.claim_ref
    if ref is None:
        return False
    meta = claim.metadata
    if ref.name != meta.name or ref.namespace != meta.namespace:
        return False
    return ref.uid in ("", meta.uid)


def _modes_ok(claim: PersistentVolumeClaim, volume: PersistentVolume) -> bool:
    """`CheckAccessModes`: every mode the claim asks for is one the volume has."""
    have = set(volume.spec.access_modes)
    return all(mode in have for mode in claim.spec.access_modes)


def volume_mode_mismatch(claim: PersistentVolumeClaim, volume: PersistentVolume) -> bool:
    """`CheckVolumeModeMismatches` (both default to Filesystem)."""
    return (claim.spec.volume_mode or "Filesystem") != (volume.spec.volume_mode or "Filesystem")


def check_volume_satisfy_claim(
    volume: PersistentVolume, claim: PersistentVolumeClaim
) -> str | None:
    """`checkVolumeSatisfyClaim`: why `volume` cannot serve `claim` (upstream's error text),
    or None when it can."""
    if volume.metadata.deletion_timestamp is not None:
        return f'the volume is marked for deletion "{volume.metadata.name}"'
    if volume_bytes(volume) < requested_bytes(claim):
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if volume_mode_mismatch(claim, volume):
        return "incompatible volumeMode"
    if not _modes_ok(claim, volume):
        return "incompatible accessMode"
    return None


def provisioned_volume_name(claim: PersistentVolumeClaim) -> str:
    """`getProvisionedVolumeNameForClaim`: `pvc-<claim uid>`."""
    return f"pvc-{claim.metadata.uid}"


def external_provisioning_message(provisioner: str) -> str:
    """The `ExternalProvisioning` event of `provisionClaimOperationExternal`."""
    return (
        f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
        "or manually by the system administrator. If volume creation is delayed, please verify "
        "that the provisioner is running and correctly registered."
    )


def claim_reference(claim: PersistentVolumeClaim) -> ObjectReference:
    """The claimRef `bind` (and an external provisioner) writes: `ref.GetReference(claim)`."""
    meta = claim.metadata
    return ObjectReference(
        kind="PersistentVolumeClaim",
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        api_version="v1",
        resource_version=meta.resource_version,
    )


def provisioned_volume(
    claim: PersistentVolumeClaim, sc: StorageClass, provisioner: str
) -> PersistentVolume:
    """The PV a served provisioner creates for `claim` (as sig-storage's external provisioner
    library does): named `pvc-<uid>`, capacity = the request, the claim's access modes and
    volumeMode, the class's name and reclaimPolicy (default Delete), a hostPath source under
    `HOSTPATH_ROOT/<name>`, `pv.kubernetes.io/provisioned-by`, and claimRef pre-set to the
    claim with its uid (the binder then binds the pair)."""
    name = provisioned_volume_name(claim)
    request = "0"
    if claim.spec.resources is not None:
        request = claim.spec.resources.requests.get("storage", "0")
    return PersistentVolume(
        metadata=ObjectMeta(name=name, annotations={ANN_DYNAMICALLY_PROVISIONED: provisioner}),
        spec=PersistentVolumeSpec(
            capacity={"storage": request},
            host_path=HostPathVolumeSource(
                path=f"{HOSTPATH_ROOT}/{name}", type="DirectoryOrCreate"
            ),
            access_modes=claim.spec.access_modes,
            claim_ref=claim_reference(claim),
            persistent_volume_reclaim_policy=sc.reclaim_policy or "Delete",
            storage_class_name=sc.metadata.name,
            mount_options=sc.mount_options,
            volume_mode=claim.spec.volume_mode or "Filesystem",
        ),
    )


def default_storage_class(
    name: str = DEFAULT_CLASS_NAME, *, binding_mode: str = "Immediate"
) -> StorageClass:
    """The class the plane creates at start: `standard`, provisioner `cpemu.io/hostpath`,
    reclaimPolicy Delete, annotated default.

    `volumeBindingMode` is Immediate by default, unlike kind's `standard`
    (WaitForFirstConsumer with rancher.io/local-path): an emulated hostPath volume has no node
    topology to wait for, and a claim made without any pod (a PVC applied alone) binds at once.
    Pass `binding_mode="WaitForFirstConsumer"` to reproduce kind's PVC-Pending-until-a-pod
    behaviour; the scheduler must then pass the class lister to `claims_bound`."""
    return StorageClass(
        metadata=ObjectMeta(name=name, annotations={ANN_DEFAULT_CLASS: "true"}),
        provisioner=HOSTPATH_PROVISIONER,
        reclaim_policy="Delete",
        volume_binding_mode=binding_mode,
    )


def pod_claim_names(pod: Pod) -> tuple[str, ...]:
    """The claim names of the pod's `persistentVolumeClaim` volumes, in volume order."""
    return tuple(
        volume.persistent_volume_claim.claim_name
        for volume in pod.spec.volumes
        if volume.persistent_volume_claim is not None
    )


def claims_bound(pod: Pod, claims: ClaimGetter, classes: ClassGetter | None = None) -> str | None:
    """The VolumeBinding PreFilter of the scheduler: why `pod` must stay Pending, or None.

    For each `persistentVolumeClaim` volume of the pod, in order: a missing claim is
    `persistentvolumeclaim "<name>" not found`; a claim being deleted is
    `persistentvolumeclaim "<name>" is being deleted`. Then, if any claim is not fully bound
    (`is_fully_bound`) and does not delay binding, `UNBOUND_IMMEDIATE`. Without `classes`
    every claim counts as Immediate; with it, an unbound claim of a WaitForFirstConsumer class
    does not block (the binder provisions it once the pod is on a node). Pure: reads only
    through the getters."""
    namespace = pod.metadata.namespace
    unbound_immediate = False
    for name in pod_claim_names(pod):
        claim = claims.get(namespace, name)
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim.metadata.deletion_timestamp is not None:
            return f'persistentvolumeclaim "{name}" is being deleted'
        if is_fully_bound(claim):
            continue
        class_name = claim_class(claim)
        delayed = False
        if classes is not None and class_name:
            delayed = is_delay_binding(classes.get("", class_name))
        if not delayed:
            unbound_immediate = True
    return UNBOUND_IMMEDIATE if unbound_immediate else None


def annotations_with(meta: ObjectMeta, extra: Mapping[str, str]) -> dict[str, str]:
    """`meta.annotations` with `extra` merged over it (a fresh dict)."""
    return {**meta.annotations, **extra}
