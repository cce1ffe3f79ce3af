"""Pure StatefulSet helpers: ordinals, names, pod identity and storage, claim ownership.

Follows upstream `pkg/controller/statefulset/stateful_set_utils.go`: `getParentNameAndOrdinal`,
`getPodName`, `getPersistentVolumeClaimName`, `isMemberOf`, `identityMatches`,
`storageMatches`, `getPersistentVolumeClaims`, `updateStorage`, `initIdentity` /
`updateIdentity`, `newStatefulSetPod`, `newVersionedStatefulSetPod`, `isRunningAndReady`,
`isHealthy`, `podInOrdinalRange`, `claimOwnerMatchesSetAndPod`,
`updateClaimOwnerRefForSetAndPod`, `hasStaleOwnerRef`. Everything here is pure: objects are
frozen, so "update" functions return the changed object.

    parent_and_ordinal(pod.metadata.name)  # ("web", 3) for "web-3"; ("", -1) when no match
    pod = new_versioned_pod(current_set, update_set, "web-6b9f", "web-7c4d", ordinal=2)
    claims = persistent_volume_claims(set, 2)    # (template name, claim) in template order

Worked example: set `web`, `replicas: 3`, `ordinals.start: 5`, a volumeClaimTemplate `data`:
its pods are `web-5`, `web-6`, `web-7` (`hostname` = the pod name, `subdomain` =
`serviceName`, labels `statefulset.kubernetes.io/pod-name: web-6`,
`apps.kubernetes.io/pod-index: "6"`, `controller-revision-hash: <revision name>`), each with a
volume `data` -> claim `data-web-6`; a pod `web-9` is condemned (valid ordinal, out of range),
a pod `web-x` is ignored.
"""

from __future__ import annotations

import re
from typing import Final

from msgspec.structs import replace

from controllers.common.pods import is_pod_ready
from controllers.common.refmanager import controller_ref
from cp.api.apps import StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import PersistentVolumeClaimVolumeSource, Pod, Volume
from cp.api.meta import ObjectMeta, OwnerReference

__all__ = [
    "PARALLEL",
    "POD_INDEX_LABEL",
    "POD_NAME_LABEL",
    "REVISION_LABEL",
    "claim_name",
    "claim_owner_matches",
    "has_stale_owner_ref",
    "has_unexpected_controller",
    "identity_matches",
    "in_ordinal_range",
    "is_healthy",
    "is_member_of",
    "is_running_and_ready",
    "new_pod",
    "new_versioned_pod",
    "parent_and_ordinal",
    "persistent_volume_claims",
    "pod_name",
    "pod_revision",
    "replicas_of",
    "retention_policy",
    "start_ordinal",
    "storage_matches",
    "update_claim_owner_refs",
    "update_identity",
    "update_storage",
]

#: `apps.StatefulSetPodNameLabel`.
POD_NAME_LABEL: Final = "statefulset.kubernetes.io/pod-name"
#: `apps.PodIndexLabel` (gate PodIndexLabel, on by default since 1.28).
POD_INDEX_LABEL: Final = "apps.kubernetes.io/pod-index"
#: `apps.StatefulSetRevisionLabel` / `ControllerRevisionHashLabelKey`.
REVISION_LABEL: Final = "controller-revision-hash"
#: `apps.ParallelPodManagement`.
PARALLEL: Final = "Parallel"
_RETAIN: Final = "Retain"
_DELETE: Final = "Delete"

_POD_NAME = re.compile(r"(.*)-([0-9]+)$")
_INT32_MAX: Final = 2**31 - 1


# -- ordinals and names -------------------------------------------------------------------------


def parent_and_ordinal(name: str) -> tuple[str, int]:
    """`getParentNameAndOrdinal`: ("web", 3) for "web-3"; ("", -1) when the name does not
    match `(.*)-([0-9]+)$`; (parent, -1) when the ordinal overflows an int32."""
    match = _POD_NAME.fullmatch(name)
    if match is None:
        return "", -1
    ordinal = int(match.group(2))
    return match.group(1), ordinal if ordinal <= _INT32_MAX else -1


def start_ordinal(sts: StatefulSet) -> int:
    """`getStartOrdinal`: `spec.ordinals.start` (0 when unset)."""
    return sts.spec.ordinals.start if sts.spec.ordinals is not None else 0


def replicas_of(sts: StatefulSet) -> int:
    """`spec.replicas` (1 when unset, the API default)."""
    return 1 if sts.spec.replicas is None else sts.spec.replicas


def in_ordinal_range(ordinal: int, sts: StatefulSet) -> bool:
    """`podInOrdinalRange`: start <= ordinal < start + replicas."""
    start = start_ordinal(sts)
    return start <= ordinal < start + replicas_of(sts)


def pod_name(sts: StatefulSet, ordinal: int) -> str:
    """`getPodName`: `<set>-<ordinal>`."""
    return f"{sts.metadata.name}-{ordinal}"


def claim_name(template_name: str, sts: StatefulSet, ordinal: int) -> str:
    """`getPersistentVolumeClaimName`: `<template>-<set>-<ordinal>`."""
    return f"{template_name}-{sts.metadata.name}-{ordinal}"


def is_member_of(sts: StatefulSet, pod: Pod) -> bool:
    """`isMemberOf`: the name's parent is the set."""
    return parent_and_ordinal(pod.metadata.name)[0] == sts.metadata.name


def pod_revision(pod: Pod) -> str:
    """`getPodRevision`: the `controller-revision-hash` label ("" when absent)."""
    return pod.metadata.labels.get(REVISION_LABEL, "")


# -- pod predicates -----------------------------------------------------------------------------


def is_running_and_ready(pod: Pod) -> bool:
    """`isRunningAndReady`: phase Running and condition Ready True."""
    return pod.status is not None and pod.status.phase == "Running" and is_pod_ready(pod)


def is_healthy(pod: Pod) -> bool:
    """`isHealthy`: running, ready and not terminating."""
    return is_running_and_ready(pod) and pod.metadata.deletion_timestamp is None


# -- identity and storage -----------------------------------------------------------------------


def identity_matches(sts: StatefulSet, pod: Pod) -> bool:
    """`identityMatches`: valid ordinal, parent = set, name, namespace and pod-name label."""
    parent, ordinal = parent_and_ordinal(pod.metadata.name)
    meta = pod.metadata
    return (
        ordinal >= 0
        and parent == sts.metadata.name
        and meta.name == pod_name(sts, ordinal)
        and meta.namespace == sts.metadata.namespace
        and meta.labels.get(POD_NAME_LABEL) == meta.name
    )


def storage_matches(sts: StatefulSet, pod: Pod) -> bool:
    """`storageMatches`: each claim template has a pod volume of its name on the right claim."""
    ordinal = parent_and_ordinal(pod.metadata.name)[1]
    if ordinal < 0:
        return False
    volumes = {volume.name: volume for volume in pod.spec.volumes}
    for template in sts.spec.volume_claim_templates:
        volume = volumes.get(template.metadata.name)
        source = volume.persistent_volume_claim if volume is not None else None
        if source is None or source.claim_name != claim_name(template.metadata.name, sts, ordinal):
            return False
    return True


def persistent_volume_claims(
    sts: StatefulSet, ordinal: int
) -> tuple[tuple[str, PersistentVolumeClaim], ...]:
    """`getPersistentVolumeClaims`: per template (in template order, upstream iterates a map),
    the claim of `ordinal`: the template's metadata and spec, named `<template>-<set>-<ord>`,
    in the set's namespace, labelled with the template's labels plus the set's
    `selector.matchLabels`."""
    match_labels = sts.spec.selector.match_labels or {}
    claims = []
    for template in sts.spec.volume_claim_templates:
        meta = template.metadata
        labels = {**meta.labels, **match_labels}
        claim_meta = ObjectMeta(
            name=claim_name(meta.name, sts, ordinal),
            namespace=sts.metadata.namespace,
            labels=labels,
            annotations=meta.annotations,
            finalizers=meta.finalizers,
        )
        claims.append((meta.name, PersistentVolumeClaim(metadata=claim_meta, spec=template.spec)))
    return tuple(claims)


def update_storage(sts: StatefulSet, pod: Pod) -> Pod:
    """`updateStorage`: a volume per claim template pointing at the pod's claim, then the pod's
    other volumes (a volume named like a template is replaced)."""
    ordinal = parent_and_ordinal(pod.metadata.name)[1]
    claims = persistent_volume_claims(sts, ordinal)
    names = {name for name, _ in claims}
    volumes = [
        Volume(
            name=name,
            persistent_volume_claim=PersistentVolumeClaimVolumeSource(
                claim_name=claim.metadata.name
            ),
        )
        for name, claim in claims
    ]
    volumes.extend(volume for volume in pod.spec.volumes if volume.name not in names)
    return replace(pod, spec=replace(pod.spec, volumes=tuple(volumes)))


def update_identity(sts: StatefulSet, pod: Pod) -> Pod:
    """`updateIdentity`: name, namespace, the pod-name and pod-index labels."""
    ordinal = parent_and_ordinal(pod.metadata.name)[1]
    name = pod_name(sts, ordinal)
    labels = {**pod.metadata.labels, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)}
    meta = replace(pod.metadata, name=name, namespace=sts.metadata.namespace, labels=labels)
    return replace(pod, metadata=meta)


def new_pod(sts: StatefulSet, ordinal: int) -> Pod:
    """`newStatefulSetPod`: `GetPodFromTemplate` (template labels, annotations, finalizers and
    spec, the controllerRef), then `initIdentity` (identity, `hostname`, `subdomain`) and
    `updateStorage`."""
    template = sts.spec.template
    meta = ObjectMeta(
        name=pod_name(sts, ordinal),
        namespace=sts.metadata.namespace,
        labels=template.metadata.labels,
        annotations=template.metadata.annotations,
        finalizers=template.metadata.finalizers,
        owner_references=(controller_ref(sts),),
    )
    pod = update_identity(sts, Pod(metadata=meta, spec=template.spec))
    spec = replace(pod.spec, hostname=pod.metadata.name, subdomain=sts.spec.service_name)
    return update_storage(sts, replace(pod, spec=spec))


def _with_revision(pod: Pod, revision: str) -> Pod:
    labels = {**pod.metadata.labels, REVISION_LABEL: revision}
    return replace(pod, metadata=replace(pod.metadata, labels=labels))


def new_versioned_pod(
    current_set: StatefulSet,
    update_set: StatefulSet,
    current_revision: str,
    update_revision: str,
    ordinal: int,
) -> Pod:
    """`newVersionedStatefulSetPod`: at the current revision when RollingUpdate and the ordinal
    is below start + partition (with a `rollingUpdate` block) or below start +
    `status.currentReplicas` (without one); at the update revision otherwise (OnDelete too)."""
    strategy = current_set.spec.update_strategy
    start = start_ordinal(current_set)
    if strategy is not None and strategy.type in ("RollingUpdate", ""):
        rolling = strategy.rolling_update
        if rolling is None:
            current = current_set.status.current_replicas if current_set.status else 0
            use_current = ordinal < start + current
        else:
            use_current = ordinal < start + (rolling.partition or 0)
        if use_current:
            return _with_revision(new_pod(current_set, ordinal), current_revision)
    return _with_revision(new_pod(update_set, ordinal), update_revision)


# -- claim ownership (persistentVolumeClaimRetentionPolicy) --------------------------------------


def retention_policy(sts: StatefulSet) -> tuple[str, str]:
    """(whenScaled, whenDeleted), Retain when unset (`getPersistentVolumeClaimRetentionPolicy`);
    an unknown value counts as Retain (upstream logs and treats it so)."""
    policy = sts.spec.persistent_volume_claim_retention_policy
    scaled = policy.when_scaled if policy is not None else _RETAIN
    deleted = policy.when_deleted if policy is not None else _RETAIN
    if (scaled, deleted) not in {(a, b) for a in (_RETAIN, _DELETE) for b in (_RETAIN, _DELETE)}:
        return _RETAIN, _RETAIN
    return scaled, deleted


def _has_ref(meta: ObjectMeta, uid: str) -> bool:
    return any(ref.uid == uid for ref in meta.owner_references)


def has_stale_owner_ref(claim: PersistentVolumeClaim, owner: ObjectMeta) -> bool:
    """`hasStaleOwnerRef`: a reference with the owner's name but another uid."""
    return any(
        ref.name == owner.name and ref.uid != owner.uid for ref in claim.metadata.owner_references
    )


def has_unexpected_controller(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> bool:
    """`hasUnexpectedController`: a controller reference that is not exactly the set or the pod
    (a reference by their kind and name with another uid counts as unexpected: left to the
    garbage collector)."""
    for ref in claim.metadata.owner_references:
        if not ref.controller:
            continue
        for owner, kind in ((sts.metadata, "StatefulSet"), (pod.metadata, "Pod")):
            if ref.kind == kind and ref.name == owner.name:
                if ref.uid != owner.uid:
                    return True
                break
        else:
            return True
    return False


def claim_owner_matches(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> bool:
    """`claimOwnerMatchesSetAndPod`: the claim's references agree with the policy (the table in
    `update_claim_owner_refs`)."""
    return update_claim_owner_refs(claim, sts, pod) is None


def update_claim_owner_refs(
    claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod
) -> PersistentVolumeClaim | None:
    """`updateClaimOwnerRefForSetAndPod`: the claim with its references fixed, None when none
    change. whenScaled / whenDeleted ->

    - Retain / Retain: no reference to the set nor the pod;
    - Retain / Delete: a controllerRef to the set (deleted with the set), none to the pod;
    - Delete / Retain: none to the set; one to the pod only when the pod is scaled away
      (its ordinal is out of range), so the claim goes with the condemned pod;
    - Delete / Delete: scaled away -> the pod only; in range -> the set only.

    A claim controlled by someone else keeps no reference of ours (upstream warns
    `ConflictingController` and leaves it to that controller)."""
    scaled, deleted = retention_policy(sts)
    ordinal = parent_and_ordinal(pod.metadata.name)[1]
    scaled_down = not in_ordinal_range(ordinal, sts)
    want_set = deleted == _DELETE and not (scaled == _DELETE and scaled_down)
    want_pod = scaled == _DELETE and scaled_down
    if has_unexpected_controller(claim, sts, pod):
        want_set = want_pod = False
    refs = list(claim.metadata.owner_references)
    changed = False
    for owner, wanted in ((sts, want_set), (pod, want_pod)):
        uid = owner.metadata.uid
        if wanted and not _has_ref(claim.metadata, uid):
            refs.append(_claim_ref(owner))
            changed = True
        elif not wanted and _has_ref(claim.metadata, uid):
            refs = [ref for ref in refs if ref.uid != uid]
            changed = True
    if not changed:
        return None
    return replace(claim, metadata=replace(claim.metadata, owner_references=tuple(refs)))


def _claim_ref(owner: StatefulSet | Pod) -> OwnerReference:
    """The reference `setOwnerRef` adds: a controllerRef (`NewControllerRef`, as 1.32+)."""
    return controller_ref(owner)
