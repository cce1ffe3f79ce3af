"""Admission rules the API server applies, shared with the fake client so both agree.

- `admit`: defaults, then validation, then (on update) the kinds' update rules; any field error
  is one Invalid naming them all (the registry's BeforeCreate/BeforeUpdate).
- `gc_finalizers` / `mark_deleting`: what a delete with a propagation policy does to an object's
  finalizers and metadata (`deletionFinalizersForGarbageCollection`, `markAsDeleting` in
  staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go).

Pure functions of `cp.api` objects: no I/O.
"""

from __future__ import annotations

from typing import Final, TypeVar

import msgspec
from msgspec.structs import replace

from cp.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.defaults import apply_defaults
from cp.api.errors import BadRequest, FieldError, Invalid
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.validation import validate
from cp.api.validation_meta import forbidden, go_label_selector, invalid

__all__ = [
    "FOREGROUND_FINALIZER",
    "ORPHAN_FINALIZER",
    "PROPAGATION_POLICIES",
    "admit",
    "gc_finalizers",
    "mark_deleting",
]

_T = TypeVar("_T", bound=ApiStruct)


def _meta(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise BadRequest(f"{type(obj).__name__} has no metadata")
    return meta


#: Propagation policies accepted by `delete` (DeleteOptions.propagationPolicy).
PROPAGATION_POLICIES: Final = ("Foreground", "Background", "Orphan")
#: metav1.FinalizerOrphanDependents: the garbage collector orphans the dependents first.
ORPHAN_FINALIZER: Final = "orphan"
#: metav1.FinalizerDeleteDependents: the garbage collector deletes the dependents first.
FOREGROUND_FINALIZER: Final = "foregroundDeletion"
_STATEFUL_SET_FORBIDDEN: Final = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
_PVC_FORBIDDEN: Final = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName "
    "for bound claims"
)


def gc_finalizers(finalizers: tuple[str, ...], propagation: str) -> tuple[str, ...]:
    """deletionFinalizersForGarbageCollection with an explicit policy: the object's finalizers
    without the GC's two, then the policy's one (the same set: unchanged, order kept)."""
    kept = [f for f in finalizers if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
    if propagation == "Orphan":
        kept.append(ORPHAN_FINALIZER)
    elif propagation == "Foreground":
        kept.append(FOREGROUND_FINALIZER)
    return finalizers if set(kept) == set(finalizers) else tuple(kept)


def mark_deleting(meta: ObjectMeta, finalizers: tuple[str, ...], now: str) -> ObjectMeta:
    """markAsDeleting: generation + 1 the first time, deletionTimestamp now unless already set
    earlier, deletionGracePeriodSeconds 0."""
    first = meta.deletion_timestamp is None
    return replace(
        meta,
        resource_version="",
        finalizers=finalizers,
        deletion_timestamp=(
            now if first or now < str(meta.deletion_timestamp) else meta.deletion_timestamp
        ),
        deletion_grace_period_seconds=0,
        generation=meta.generation + 1 if first and meta.generation > 0 else meta.generation,
    )


def admit(info: KindInfo, obj: _T, old: ApiStruct | None = None) -> _T:
    """Admission: defaults, then create validation and (with `old`) the update rules; any field
    error is an Invalid naming them all."""
    admitted = apply_defaults(obj)
    errors = [] if old is None else _meta_update_errors(_meta(admitted), _meta(old))
    errors += validate(admitted)
    if old is not None:
        errors += _update_errors(admitted, old)
    if errors:
        raise Invalid.of(info.kind, info.group, _meta(admitted).name, errors)
    return admitted


def _go_string_slice(values: list[str]) -> str:
    return "[]string{" + ", ".join(msgspec.json.encode(v).decode() for v in values) + "}"


def _meta_update_errors(new: ObjectMeta, old: ObjectMeta) -> list[FieldError]:
    """ValidateObjectMetaUpdate's finalizer rule (the server owns the other immutable fields)."""
    if old.deletion_timestamp is None:
        return []
    extra = sorted(set(new.finalizers) - set(old.finalizers))
    if not extra:
        return []
    detail = (
        "no new finalizers can be added if the object is being deleted, "
        f"found new finalizers {_go_string_slice(extra)}"
    )
    return [forbidden("metadata.finalizers", detail)]


def _update_errors(new: ApiStruct, old: ApiStruct) -> list[FieldError]:
    """The kinds' update rules: immutable selectors (apps/v1 strategies), the StatefulSet spec
    fields that may change (ValidateStatefulSetUpdate), the PVC spec
    (ValidatePersistentVolumeClaimUpdate)."""
    if isinstance(new, Deployment | ReplicaSet | DaemonSet) and isinstance(old, type(new)):
        if new.spec.selector != old.spec.selector:
            selector = go_label_selector(new.spec.selector)
            return [invalid("spec.selector", selector, "field is immutable")]
        return []
    if isinstance(new, StatefulSet) and isinstance(old, StatefulSet):
        allowed = replace(
            new.spec,
            replicas=old.spec.replicas,
            ordinals=old.spec.ordinals,
            template=old.spec.template,
            update_strategy=old.spec.update_strategy,
            persistent_volume_claim_retention_policy=(
                old.spec.persistent_volume_claim_retention_policy
            ),
            min_ready_seconds=old.spec.min_ready_seconds,
        )
        return [] if allowed == old.spec else [forbidden("spec", _STATEFUL_SET_FORBIDDEN)]
    if isinstance(new, PersistentVolumeClaim) and isinstance(old, PersistentVolumeClaim):
        return _pvc_update_errors(new, old)
    return []


def _pvc_update_errors(new: PersistentVolumeClaim, old: PersistentVolumeClaim) -> list[FieldError]:
    """volumeName may be set once (binding); requests.storage may change on a bound claim."""
    old_spec = old.spec
    if not old_spec.volume_name:
        old_spec = replace(old_spec, volume_name=new.spec.volume_name)
    new_spec = new.spec
    bound = new.status is not None and new.status.phase == "Bound"
    if bound and new_spec.resources is not None and new_spec.resources.requests:
        requests = dict(new_spec.resources.requests)
        previous = old.spec.resources.requests if old.spec.resources is not None else {}
        if "storage" in previous:
            requests["storage"] = previous["storage"]
        else:
            requests.pop("storage", None)
        new_spec = replace(new_spec, resources=replace(new_spec.resources, requests=requests))
    return [] if new_spec == old_spec else [forbidden("spec", _PVC_FORBIDDEN)]
