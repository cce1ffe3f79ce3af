"""Admission rules the API server applies, shared with the fake client so both agree.

- `admit`: defaults, then validation, then (on update) the kinds' update rules; any field error
  is one Invalid naming them all (the registry's BeforeCreate/BeforeUpdate).
- `gc_finalizers` / `mark_deleting`: what a delete with a propagation policy does to an object's
  finalizers and metadata (`deletionFinalizersForGarbageCollection`, `markAsDeleting` in
  staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go).
- `plan_delete`: the whole of one delete (`Store.Delete` with `rest.BeforeDelete` of
  staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go and the Pod strategy's
  `CheckGracefulDelete`, pkg/registry/core/pod/strategy.go) as a `DeletePlan`: the object to
  write first, if any, and whether it is then removed. Pods are the one kind deleted gracefully:
  a pod bound to a node gets `deletionTimestamp` = now + grace period and
  `deletionGracePeriodSeconds` and stays until a delete with grace period 0 (the kubelet's, once
  its containers stopped); an unscheduled or finished pod goes at once (written with grace 0,
  then removed, as upstream).
- `bind_pod`: the Binding subresource (`BindingREST.setPodNodeAndMetadata` and `assignPod` in
  pkg/registry/core/pod/storage/storage.go): the pod as one write binds it, or the API error
  upstream answers with.

Pure functions of `cp.api` objects: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

import msgspec
from msgspec.structs import replace

from cp.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import Pod, PodCondition, PodStatus
from cp.api.defaults import apply_defaults
from cp.api.errors import BadRequest, Conflict, FieldError, FieldErrorType, Invalid
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.times import parse_rfc3339, rfc3339
from cp.api.validation import validate
from cp.api.validation_meta import forbidden, go_label_selector, invalid

__all__ = [
    "FOREGROUND_FINALIZER",
    "ORPHAN_FINALIZER",
    "PROPAGATION_POLICIES",
    "DeletePlan",
    "admit",
    "bind_pod",
    "check_delete_options",
    "deletes_on_update",
    "gc_finalizers",
    "mark_deleting",
    "plan_delete",
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


#: A pod's grace period when its spec sets none (`DefaultTerminationGracePeriodSeconds`).
DEFAULT_POD_GRACE_SECONDS: Final = 30


@dataclass(frozen=True, slots=True)
class DeletePlan:
    """One delete: write `marked` first (None: nothing to write), then remove the object when
    `remove`. `DeletePlan(None, False)` is a graceful deletion already pending: nothing changes."""

    marked: ApiStruct | None
    remove: bool


def check_delete_options(
    info: KindInfo, current: ApiStruct, propagation: str, uid: str | None
) -> None:
    """The DeleteOptions checks made before anything is written: the propagation policy
    (BadRequest) and the uid precondition (Conflict, worded as `rest.BeforeDelete`)."""
    if propagation not in PROPAGATION_POLICIES:
        supported = ", ".join(f'"{p}"' for p in PROPAGATION_POLICIES)
        raise BadRequest(
            f'propagationPolicy: Unsupported value: "{propagation}": supported values: {supported}'
        )
    meta = _meta(current)
    if uid is not None and uid != meta.uid:
        why = (
            f"the UID in the precondition ({uid}) does not match the UID in record "
            f"({meta.uid}). The object might have been deleted and then recreated"
        )
        raise Conflict.of(info.kind, info.group, meta.name, why)


def deletes_on_update(old: ObjectMeta, new: ObjectMeta) -> bool:
    """`Store.shouldDeleteDuringUpdate`: an update of an object being deleted that leaves it no
    finalizers removes it, unless a grace period is still running (a terminating pod)."""
    return (
        old.deletion_timestamp is not None
        and not new.finalizers
        and not old.deletion_grace_period_seconds
    )


def _pod_grace_period(pod: Pod, requested: int | None) -> int:
    """The Pod strategy's CheckGracefulDelete: the requested period, else the spec's (default
    30 s); 0 for a pod on no node or one that has finished; negative means 1."""
    if requested is not None:
        period = requested
    elif pod.spec.termination_grace_period_seconds is not None:
        period = pod.spec.termination_grace_period_seconds
    else:
        period = DEFAULT_POD_GRACE_SECONDS
    if not pod.spec.node_name:
        period = 0
    if pod.status is not None and pod.status.phase in ("Failed", "Succeeded"):
        period = 0
    return 1 if period < 0 else period


def plan_delete(
    current: ApiStruct, *, propagation: str, grace_period_seconds: int | None, now: float
) -> DeletePlan:
    """What deleting `current` at clock time `now` writes (see the module doc); the options were
    checked by `check_delete_options`."""
    meta = _meta(current)
    requested = grace_period_seconds
    if requested is not None and requested < 0:
        requested = 1
    finalizers = gc_finalizers(meta.finalizers, propagation)
    graceful: tuple[float, int] | None = None  # (deletion time, grace period)
    if isinstance(current, Pod):
        pending_grace = meta.deletion_grace_period_seconds
        if meta.deletion_timestamp is None:
            period = _pod_grace_period(current, requested)
            graceful = (now + period, period)
        elif pending_grace:  # being deleted gracefully: the period may only be shortened
            if requested is None or requested >= pending_grace:
                return DeletePlan(None, False)
            when = parse_rfc3339(meta.deletion_timestamp) - pending_grace + requested
            period = requested
            if when < now:
                when, period = now, (0 if requested == 0 else 1)
            graceful = (when, period)
    if graceful is not None:
        when, period = graceful
        first = meta.deletion_timestamp is None
        marked_meta = replace(
            meta,
            resource_version="",
            finalizers=finalizers,
            deletion_timestamp=rfc3339(when),
            deletion_grace_period_seconds=period,
            generation=meta.generation + 1 if first and meta.generation > 0 else meta.generation,
        )
        return DeletePlan(replace(current, metadata=marked_meta), not finalizers and period == 0)
    if not meta.finalizers and not finalizers:
        return DeletePlan(None, True)
    if finalizers:
        return DeletePlan(
            replace(current, metadata=mark_deleting(meta, finalizers, rfc3339(now))), False
        )
    # Only the garbage collector's finalizers, dropped by the policy: written without, removed.
    return DeletePlan(
        replace(current, metadata=replace(meta, resource_version="", finalizers=())), True
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
    """volumeName may be set once (binding); storageClassName may go from unset to a value
    (`validateStorageClassUpgradeFromNil`: the default class, or the beta annotation's);
    requests.storage may change on a bound claim."""
    old_spec = old.spec
    if not old_spec.volume_name:
        old_spec = replace(old_spec, volume_name=new.spec.volume_name)
    if old_spec.storage_class_name is None and new.spec.storage_class_name is not None:
        beta = old.metadata.annotations.get("volume.beta.kubernetes.io/storage-class")
        if beta is None or beta == new.spec.storage_class_name:
            old_spec = replace(old_spec, storage_class_name=new.spec.storage_class_name)
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


def _precondition_failed(pod: Pod, what: str, expected: str, actual: str) -> Conflict:
    """A failed storage precondition as `storeerr.InterpretUpdateError` words it: the
    `storage.Preconditions.Check` message inside etcd3's `StorageError` (invalid object)."""
    meta = pod.metadata
    key = f"/registry/pods/{meta.namespace}/{meta.name}"
    why = (
        f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, "
        f"AdditionalErrorMsg: Precondition failed: {what} in precondition: {expected}, "
        f"{what} in object meta: {actual}"
    )
    return Conflict.of("pods", "", meta.name, why)


def bind_pod(
    pod: Pod,
    node_name: str,
    *,
    now: float,
    uid: str | None = None,
    resource_version: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Pod:
    """The stored `pod` (its resourceVersion that of the store) bound to `node_name` by a
    Binding at clock time `now`: the new pod to write, its resourceVersion cleared.

    As upstream's `BindingREST.Create` / `assignPod` / `setPodNodeAndMetadata`, in one update:
    `spec.nodeName` set, the binding's annotations merged into the pod's, and the `PodScheduled`
    condition set True by `podutil.UpdatePodCondition` (the condition replaced whole: no reason,
    message or lastProbeTime; lastTransitionTime `now`, kept when it was already True). Nothing
    else changes (the write bypasses the pod strategy: no validation, no generation bump).

    Errors, checked in upstream's order:
    - an empty `node_name`: Invalid `Binding "<pod>" is invalid: target.name: Required value`
      (`ValidatePodBinding`; upstream returns the bare field error list, a 500);
    - `uid` / `resource_version` given and not the pod's (the binding's metadata.uid and
      resourceVersion, storage preconditions): Conflict on `pods` with the etcd3 storage message
      `... Precondition failed: UID in precondition: <uid>, UID in object meta: <uid>`;
    - the pod being deleted: Conflict on `pods/binding`,
      `pod <name> is being deleted, cannot be assigned to a host`;
    - the pod already bound: Conflict on `pods/binding`,
      `pod <name> is already assigned to node "<node>"` (also when it is that node).
    A missing pod is the caller's NotFound (`pods "<name>" not found`).
    """
    meta = pod.metadata
    if not node_name:
        error = FieldError(FieldErrorType.REQUIRED, "target.name")
        raise Invalid.of("Binding", "", meta.name, [error])
    if uid and uid != meta.uid:
        raise _precondition_failed(pod, "UID", uid, meta.uid)
    if resource_version and resource_version != meta.resource_version:
        raise _precondition_failed(pod, "ResourceVersion", resource_version, meta.resource_version)
    if meta.deletion_timestamp is not None:
        why = f"pod {meta.name} is being deleted, cannot be assigned to a host"
        raise Conflict.of("pods/binding", "", meta.name, why)
    if pod.spec.node_name:
        node = msgspec.json.encode(pod.spec.node_name).decode()  # Go's %q
        why = f"pod {meta.name} is already assigned to node {node}"
        raise Conflict.of("pods/binding", "", meta.name, why)
    merged = {**meta.annotations, **annotations} if annotations else meta.annotations
    scheduled = _scheduled_condition(pod.status, rfc3339(now))
    status = pod.status if pod.status is not None else PodStatus(phase="Pending")
    conditions = list(status.conditions)
    at = next((i for i, c in enumerate(conditions) if c.type == "PodScheduled"), None)
    if at is None:
        conditions.append(scheduled)
    else:  # the first of the type, as `GetPodCondition`
        conditions[at] = scheduled
    return replace(
        pod,
        metadata=replace(meta, annotations=merged, resource_version=""),
        spec=replace(pod.spec, node_name=node_name),
        status=replace(status, conditions=tuple(conditions)),
    )


def _scheduled_condition(status: PodStatus | None, now: str) -> PodCondition:
    """`UpdatePodCondition` of `{type: PodScheduled, status: True}`: lastTransitionTime now,
    or the old one when the condition was already True."""
    for old in status.conditions if status is not None else ():
        if old.type == "PodScheduled" and old.status == "True":
            return PodCondition(
                type="PodScheduled", status="True", last_transition_time=old.last_transition_time
            )
    return PodCondition(type="PodScheduled", status="True", last_transition_time=now)
