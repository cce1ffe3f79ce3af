"""Deployment helpers on API objects: annotations, revisions, hashing, conditions, predicates.

Follows `pkg/controller/deployment/util/deployment_util.go` (annotations, `FindNewReplicaSet`,
`FindOldReplicaSets`, `MaxSurge`/`MaxUnavailable`/`MinAvailable`, `IsSaturated`,
`DeploymentComplete`/`DeploymentProgressing`/`DeploymentTimedOut`, conditions) and
`pkg/controller/controller_utils.go` (`ComputeHash`). Everything here is pure: objects are
frozen, so "setters" return the changed object and whether anything changed.

`compute_hash` emulates upstream's FNV-32a over the deep-printed template: here the bytes are
the template's JSON (defaulted, keys sorted, the pod-template-hash label removed), then the
collision count as 8 little-endian bytes when set, and the decimal of the 32-bit sum goes
through `SafeEncodeString`'s alphabet. Deterministic, stable across processes, but not the
same digits as a real cluster's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import msgspec
from msgspec.structs import replace

from controllers.common.times import format_time, parse_time
from controllers.deployment import plan
from cp.api.apps import Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet
from cp.api.core_pod import PodTemplateSpec
from cp.api.defaults import default_pod_template

__all__ = [
    "ANNOTATIONS_TO_SKIP",
    "CHANGE_CAUSE_ANNOTATION",
    "DESIRED_REPLICAS_ANNOTATION",
    "MAX_REPLICAS_ANNOTATION",
    "POD_TEMPLATE_HASH_LABEL",
    "REVISION_ANNOTATION",
    "REVISION_HISTORY_ANNOTATION",
    "compute_hash",
    "deployment_complete",
    "deployment_progressing",
    "deployment_timed_out",
    "equal_ignore_hash",
    "find_new_replica_set",
    "find_old_replica_sets",
    "is_saturated",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "min_available",
    "new_condition",
    "parse_rfc3339",
    "revision",
    "rfc3339",
    "set_condition",
    "set_new_replica_set_annotations",
    "set_replicas_annotations",
]

REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION: Final = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE_ANNOTATION: Final = "kubernetes.io/change-cause"
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO_ANNOTATION: Final = "deprecated.deployment.rollback.to"
#: Deployment annotations never copied onto its ReplicaSets (`annotationsToSkip`).
ANNOTATIONS_TO_SKIP: Final = frozenset(
    {
        LAST_APPLIED_ANNOTATION,
        REVISION_ANNOTATION,
        REVISION_HISTORY_ANNOTATION,
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        ROLLBACK_TO_ANNOTATION,
    }
)
POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
#: `maxRevHistoryLengthInChars`: the revision-history annotation is trimmed to this length.
MAX_REV_HISTORY_LENGTH_IN_CHARS: Final = 2000
MAX_INT32: Final = 2**31 - 1

RECREATE: Final = "Recreate"
ROLLING_UPDATE: Final = "RollingUpdate"

# Condition types and reasons (deployment_util.go).
AVAILABLE: Final = "Available"
PROGRESSING: Final = "Progressing"
REPLICA_FAILURE: Final = "ReplicaFailure"
NEW_RS_REASON: Final = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON: Final = "FoundNewReplicaSet"
NEW_RS_AVAILABLE_REASON: Final = "NewReplicaSetAvailable"
RS_UPDATED_REASON: Final = "ReplicaSetUpdated"
TIMED_OUT_REASON: Final = "ProgressDeadlineExceeded"
FAILED_RS_CREATE_REASON: Final = "ReplicaSetCreateError"
PAUSED_REASON: Final = "DeploymentPaused"
RESUMED_REASON: Final = "DeploymentResumed"
MIN_AVAILABLE_REASON: Final = "MinimumReplicasAvailable"
MIN_UNAVAILABLE_REASON: Final = "MinimumReplicasUnavailable"

_SAFE_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193
_JSON: Final = msgspec.json.Encoder(order="sorted")


# -- time -----------------------------------------------------------------------------------


def rfc3339(seconds: float) -> str:
    """`2024-01-01T00:00:00Z` for seconds since the epoch (whole seconds, as metav1.Time)."""
    return format_time(seconds)


def parse_rfc3339(text: str | None) -> float:
    """Seconds since the epoch of an RFC 3339 time; absent or malformed is 0 (Go's zero)."""
    parsed = parse_time(text)
    return 0.0 if parsed is None else parsed


# -- replica counts and strategy ------------------------------------------------------------


def replicas(d: Deployment) -> int:
    """`spec.replicas` (the API default 1 when unset)."""
    return 1 if d.spec.replicas is None else d.spec.replicas


def rs_replicas(rs: ReplicaSet) -> int:
    return 1 if rs.spec.replicas is None else rs.spec.replicas


def rs_available(rs: ReplicaSet) -> int:
    return rs.status.available_replicas if rs.status is not None else 0


def rs_status_replicas(rs: ReplicaSet) -> int:
    return rs.status.replicas if rs.status is not None else 0


def strategy_type(d: Deployment) -> str:
    return (d.spec.strategy.type if d.spec.strategy else "") or ROLLING_UPDATE


def _fenceposts(d: Deployment) -> tuple[int, int]:
    rolling = d.spec.strategy.rolling_update if d.spec.strategy else None
    surge = rolling.max_surge if rolling else None
    unavailable = rolling.max_unavailable if rolling else None
    return plan.resolve_fenceposts(surge, unavailable, replicas(d))


def max_surge(d: Deployment) -> int:
    """Upstream `MaxSurge`: 0 unless RollingUpdate; no clamp."""
    if strategy_type(d) != ROLLING_UPDATE:
        return 0
    return _fenceposts(d)[0]


def max_unavailable(d: Deployment) -> int:
    """Upstream `MaxUnavailable`: 0 unless RollingUpdate with replicas > 0; at most replicas."""
    if strategy_type(d) != ROLLING_UPDATE or replicas(d) == 0:
        return 0
    return min(_fenceposts(d)[1], replicas(d))


def min_available(d: Deployment) -> int:
    """Upstream `MinAvailable`: replicas - MaxUnavailable for RollingUpdate, else 0."""
    if strategy_type(d) != ROLLING_UPDATE:
        return 0
    return replicas(d) - max_unavailable(d)


def has_progress_deadline(d: Deployment) -> bool:
    pds = d.spec.progress_deadline_seconds
    return pds is not None and pds != MAX_INT32


def has_revision_history_limit(d: Deployment) -> bool:
    limit = d.spec.revision_history_limit
    return limit is not None and limit != MAX_INT32


def new_rs_new_replicas(d: Deployment, all_rss: Iterable[ReplicaSet], new_rs: ReplicaSet) -> int:
    """Upstream `NewRSNewReplicas`: Recreate goes straight to replicas; RollingUpdate steps."""
    if strategy_type(d) != ROLLING_UPDATE:
        return replicas(d)
    return plan.new_rs_new_replicas(
        desired=replicas(d),
        max_surge=max_surge(d),
        current_total=sum(rs_replicas(rs) for rs in all_rss),
        new_spec=rs_replicas(new_rs),
    )


# -- ordering -------------------------------------------------------------------------------


def by_creation(rs: ReplicaSet) -> tuple[str, str]:
    """`ReplicaSetsByCreationTimestamp`: oldest first, name as tie-breaker."""
    return (rs.metadata.creation_timestamp or "", rs.metadata.name)


def sorted_by_creation(rss: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    return sorted(rss, key=by_creation)


def filter_active(rss: Iterable[ReplicaSet | None]) -> list[ReplicaSet]:
    """`FilterActiveReplicaSets`: the RSs with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and rs_replicas(rs) > 0]


# -- revisions and annotations ----------------------------------------------------------------


def revision(annotations: Mapping[str, str]) -> int:
    """The revision annotation as an int: missing is 0, unparseable is 0 (MaxRevision skips)."""
    text = annotations.get(REVISION_ANNOTATION, "")
    return int(text) if text.isdigit() else 0


def max_revision(rss: Iterable[ReplicaSet]) -> int:
    return max((revision(rs.metadata.annotations) for rs in rss), default=0)


def _int_annotation(annotations: Mapping[str, str], key: str) -> int | None:
    """`getNonNegativeInt32FromAnnotation`: None when missing, invalid or out of int32."""
    text = annotations.get(key)
    if text is None or not text.isdigit() or int(text) > MAX_INT32:
        return None
    return int(text)


def desired_replicas_annotation(rs: ReplicaSet) -> int | None:
    return _int_annotation(rs.metadata.annotations, DESIRED_REPLICAS_ANNOTATION)


def max_replicas_annotation(rs: ReplicaSet) -> int | None:
    return _int_annotation(rs.metadata.annotations, MAX_REPLICAS_ANNOTATION)


def _with_annotations(rs: ReplicaSet, annotations: Mapping[str, str]) -> ReplicaSet:
    return replace(rs, metadata=replace(rs.metadata, annotations=annotations))


def set_new_replica_set_annotations(
    d: Deployment,
    rs: ReplicaSet,
    new_revision: int,
    *,
    exists: bool,
    max_history_chars: int = MAX_REV_HISTORY_LENGTH_IN_CHARS,
) -> tuple[ReplicaSet, bool]:
    """Upstream `SetNewReplicaSetAnnotations`: copy the Deployment's annotations (except the
    skip list), raise the revision to `new_revision` (moving the old one into the
    revision-history, trimmed oldest-first to `max_history_chars`), and for a new RS
    (`exists=False`) set desired-replicas and max-replicas. Returns (rs, changed)."""
    annotations = dict(rs.metadata.annotations)
    changed = False
    for key, value in d.metadata.annotations.items():
        if key in ANNOTATIONS_TO_SKIP or annotations.get(key) == value:
            continue
        annotations[key] = value
        changed = True
    old_text = annotations.get(REVISION_ANNOTATION, "")
    if old_text and not old_text.isdigit():  # upstream logs and stops here
        return (_with_annotations(rs, annotations), True) if changed else (rs, False)
    if (int(old_text) if old_text else 0) < new_revision:
        annotations[REVISION_ANNOTATION] = str(new_revision)
        changed = True
        if old_text:
            _append_history(annotations, old_text, max_history_chars)
    if not exists:
        total = replicas(d)
        desired, maximum = str(total), str(total + max_surge(d))
        if annotations.get(DESIRED_REPLICAS_ANNOTATION) != desired:
            annotations[DESIRED_REPLICAS_ANNOTATION] = desired
            changed = True
        if annotations.get(MAX_REPLICAS_ANNOTATION) != maximum:
            annotations[MAX_REPLICAS_ANNOTATION] = maximum
            changed = True
    return (_with_annotations(rs, annotations), True) if changed else (rs, False)


def _append_history(annotations: dict[str, str], old: str, limit: int) -> None:
    """Append `old` to the revision-history, dropping the oldest entries to stay within
    `limit` characters (nothing is appended if even `old` alone does not fit)."""
    history = annotations.get(REVISION_HISTORY_ANNOTATION, "")
    if not history:
        annotations[REVISION_HISTORY_ANNOTATION] = old
        return
    entries = history.split(",")
    total = len(history) + len(old) + 1
    start = 0
    while total > limit and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total <= limit:
        annotations[REVISION_HISTORY_ANNOTATION] = ",".join([*entries[start:], old])


def replicas_annotations_need_update(rs: ReplicaSet, desired: int, maximum: int) -> bool:
    annotations = rs.metadata.annotations
    return annotations.get(DESIRED_REPLICAS_ANNOTATION) != str(desired) or annotations.get(
        MAX_REPLICAS_ANNOTATION
    ) != str(maximum)


def set_replicas_annotations(rs: ReplicaSet, desired: int, maximum: int) -> tuple[ReplicaSet, bool]:
    """Upstream `SetReplicasAnnotations`: desired-replicas and max-replicas."""
    if not replicas_annotations_need_update(rs, desired, maximum):
        return rs, False
    annotations = dict(rs.metadata.annotations)
    annotations[DESIRED_REPLICAS_ANNOTATION] = str(desired)
    annotations[MAX_REPLICAS_ANNOTATION] = str(maximum)
    return _with_annotations(rs, annotations), True


def set_deployment_revision(d: Deployment, new_revision: str) -> tuple[Deployment, bool]:
    """Upstream `SetDeploymentRevision`: the Deployment's revision annotation."""
    if d.metadata.annotations.get(REVISION_ANNOTATION) == new_revision:
        return d, False
    annotations = {**d.metadata.annotations, REVISION_ANNOTATION: new_revision}
    return replace(d, metadata=replace(d.metadata, annotations=annotations)), True


# -- templates ------------------------------------------------------------------------------


def _without_hash(template: PodTemplateSpec) -> PodTemplateSpec:
    labels = template.metadata.labels
    if POD_TEMPLATE_HASH_LABEL not in labels:
        return template
    kept = {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH_LABEL}
    return replace(template, metadata=replace(template.metadata, labels=kept))


def normalize_template(template: PodTemplateSpec) -> PodTemplateSpec:
    """The template defaulted as the apiserver stores it, without the pod-template-hash."""
    return _without_hash(default_pod_template(template))


def safe_encode(text: str) -> str:
    """apimachinery `rand.SafeEncodeString`."""
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def compute_hash(template: PodTemplateSpec, collision_count: int | None) -> str:
    """The pod-template-hash of `template` (see the module doc)."""
    data = _JSON.encode(normalize_template(template))
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0\0\0\0"
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return safe_encode(str(value))


def equal_ignore_hash(a: PodTemplateSpec, b: PodTemplateSpec) -> bool:
    """Upstream `EqualIgnoreHash`: equal once defaulted and without the pod-template-hash."""
    return normalize_template(a) == normalize_template(b)


def find_new_replica_set(d: Deployment, rss: Iterable[ReplicaSet]) -> ReplicaSet | None:
    """Upstream `FindNewReplicaSet`: the oldest RS whose template equals the Deployment's."""
    wanted = normalize_template(d.spec.template)
    for rs in sorted_by_creation(rss):
        if normalize_template(rs.spec.template) == wanted:
            return rs
    return None


def find_old_replica_sets(
    d: Deployment, rss: Sequence[ReplicaSet]
) -> tuple[list[ReplicaSet], list[ReplicaSet]]:
    """Upstream `FindOldReplicaSets`: (old RSs with pods, every old RS)."""
    new_rs = find_new_replica_set(d, rss)
    old = [rs for rs in rss if new_rs is None or rs.metadata.uid != new_rs.metadata.uid]
    return [rs for rs in old if rs_replicas(rs) != 0], old


# -- predicates -----------------------------------------------------------------------------


def is_saturated(d: Deployment, rs: ReplicaSet | None) -> bool:
    """Upstream `IsSaturated`: the new RS has all replicas, annotated and available."""
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    return (
        rs_replicas(rs) == replicas(d)
        and desired == replicas(d)
        and rs_available(rs) == replicas(d)
    )


def deployment_complete(d: Deployment, status: DeploymentStatus) -> bool:
    """Upstream `DeploymentComplete`: all replicas updated and available, none older, and the
    latest generation observed."""
    want = replicas(d)
    return (
        status.updated_replicas == want
        and status.replicas == want
        and status.available_replicas == want
        and status.observed_generation >= d.metadata.generation
    )


def deployment_progressing(d: Deployment, status: DeploymentStatus) -> bool:
    """Upstream `DeploymentProgressing`: more updated, ready or available replicas, or fewer old
    ones, than the stored status."""
    old = d.status or DeploymentStatus()
    old_old = old.replicas - old.updated_replicas
    new_old = status.replicas - status.updated_replicas
    return (
        status.updated_replicas > old.updated_replicas
        or new_old < old_old
        or status.ready_replicas > old.ready_replicas
        or status.available_replicas > old.available_replicas
    )


def deployment_timed_out(d: Deployment, status: DeploymentStatus, now: float) -> bool:
    """Upstream `DeploymentTimedOut`: the Progressing condition is older than the deadline."""
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.reason == NEW_RS_AVAILABLE_REASON:
        return False
    if cond.reason == TIMED_OUT_REASON:
        return True
    deadline = d.spec.progress_deadline_seconds or 0
    return parse_rfc3339(cond.last_update_time) + deadline < now


# -- conditions -----------------------------------------------------------------------------


def new_condition(
    cond_type: str, status: str, reason: str, message: str, now: float
) -> DeploymentCondition:
    stamp = rfc3339(now)
    return DeploymentCondition(
        type=cond_type,
        status=status,
        last_update_time=stamp,
        last_transition_time=stamp,
        reason=reason,
        message=message,
    )


def get_condition(status: DeploymentStatus, cond_type: str) -> DeploymentCondition | None:
    return next((c for c in status.conditions if c.type == cond_type), None)


def set_condition(status: DeploymentStatus, cond: DeploymentCondition) -> DeploymentStatus:
    """Upstream `SetDeploymentCondition`: no-op when type, status and reason are unchanged;
    keeps lastTransitionTime when the status is; the new condition goes last."""
    current = get_condition(status, cond.type)
    if current is not None and current.status == cond.status and current.reason == cond.reason:
        return status
    if current is not None and current.status == cond.status:
        cond = replace(cond, last_transition_time=current.last_transition_time)
    kept = tuple(c for c in status.conditions if c.type != cond.type)
    return replace(status, conditions=(*kept, cond))


def remove_condition(status: DeploymentStatus, cond_type: str) -> DeploymentStatus:
    kept = tuple(c for c in status.conditions if c.type != cond_type)
    return status if len(kept) == len(status.conditions) else replace(status, conditions=kept)
