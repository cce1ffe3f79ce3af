"""State, rule names and results of the invariant checker (`tests/scenarios/invariants.py`):
what it keeps per object between events, and the `Violation` it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cp.api.intstr import scaled_value
from cp.api.kinds import KINDS
from cp.apiserver.keys import prefix_of
from tests.scenarios.invariant_views import (
    _ClaimRef,
    _Meta,
    _PodView,
    _ServiceView,
)

MAX_SURGE: Final = "max-surge"
MIN_READY: Final = "min-ready"
RECREATE_OVERLAP: Final = "recreate-overlap"
REVISION_DECREASE: Final = "revision-decrease"
MULTIPLE_CONTROLLERS: Final = "multiple-controllers"
MISSING_CONTROLLER: Final = "missing-controller"
ORDERED_READY: Final = "ordered-ready"
RETAINED_CLAIM_DELETED: Final = "retained-claim-deleted"
DUPLICATE_CLUSTER_IP: Final = "duplicate-cluster-ip"
PV_DOUBLE_BOUND: Final = "pv-double-bound"
RULES: Final = (
    MAX_SURGE,
    MIN_READY,
    RECREATE_OVERLAP,
    REVISION_DECREASE,
    MULTIPLE_CONTROLLERS,
    MISSING_CONTROLLER,
    ORDERED_READY,
    RETAINED_CLAIM_DELETED,
    DUPLICATE_CLUSTER_IP,
    PV_DOUBLE_BOUND,
)

REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"
_DEFAULT_INTSTR: Final = "25%"
_RUNNING_PHASES: Final = frozenset({"Running", "Unknown"})


def _prefix(kind: str) -> str:
    info = KINDS.lookup(kind)
    assert info is not None, kind
    return prefix_of(info, None)


_DEPLOYMENTS: Final = _prefix("Deployment")
_REPLICASETS: Final = _prefix("ReplicaSet")
_PODS: Final = _prefix("Pod")
_STATEFULSETS: Final = _prefix("StatefulSet")
_CLAIMS: Final = _prefix("PersistentVolumeClaim")
_VOLUMES: Final = _prefix("PersistentVolume")
_SERVICES: Final = _prefix("Service")
_SEED_PREFIXES: Final = (
    _DEPLOYMENTS,
    _REPLICASETS,
    _STATEFULSETS,
    _PODS,
    _SERVICES,
    _CLAIMS,
    _VOLUMES,
)


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (revision, object), who wrote that revision, and the numbers."""

    revision: int
    rule: str
    kind: str
    namespace: str
    name: str
    actor: str
    message: str
    numbers: Mapping[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"revision {self.revision}: {self.rule}: {self.kind} {self.namespace}/{self.name} "
            f"(written by {self.actor}): {self.message}"
        )


def resolve_fenceposts(
    replicas: int, max_surge: int | str | None, max_unavailable: int | str | None
) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a RollingUpdate Deployment, as upstream's `MaxSurge(d)`
    and `MaxUnavailable(d)`; a missing value is the API default `25%`. Raises
    `IntOrStringError` on a malformed value."""
    surge_value = _DEFAULT_INTSTR if max_surge is None else max_surge
    unavailable_value = _DEFAULT_INTSTR if max_unavailable is None else max_unavailable
    surge = scaled_value(surge_value, replicas, round_up=True)
    unavailable = scaled_value(unavailable_value, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    if replicas == 0:
        unavailable = 0
    return surge, min(unavailable, replicas)


# -- state ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Deployment:
    uid: str
    namespace: str
    name: str
    spec: bytes
    strategy: str  # "RollingUpdate", "Recreate" or another (unchecked) value
    replicas: int
    max_surge: int
    max_unavailable: int
    bounded: bool  # the fenceposts resolved (a malformed intstr leaves them unchecked)
    deleting: bool


@dataclass(slots=True)
class _Owned:
    """What a Deployment uid controls, kept whether or not the Deployment exists."""

    rs_spec: int = 0  # Σ spec.replicas of its live ReplicaSets
    ready: int = 0  # Ready, non-terminating pods of those ReplicaSets
    running: dict[str, int] = field(default_factory=dict)  # RS uid -> running pods (> 0)
    running_total: int = 0
    revision_mark: int = 0  # highest revision annotation written by a non-exempt actor


@dataclass(slots=True)
class _ReplicaSet:
    uid: str
    owner: str  # controlling Deployment's uid, or ""
    replicas: int
    controllers: int  # controller ownerReferences


@dataclass(slots=True)
class _PodCounts:
    """Pods counted per owning ReplicaSet uid (kept whether or not the ReplicaSet exists)."""

    ready: int = 0
    running: int = 0


@dataclass(slots=True)
class _Pod:
    owner: str  # controlling ReplicaSet's uid, or ""
    ready: bool
    running: bool
    controllers: int


_Snapshot = tuple[int, int, int, int]  # (rs_spec, ready, running RSs, running pods)


@dataclass(slots=True)
class _StatefulSet:
    uid: str
    namespace: str
    name: str
    ordered: bool  # podManagementPolicy missing or OrderedReady
    start: int  # spec.ordinals.start
    retain: bool  # retention policy Retain/Retain
    deleting: bool
    prefixes: tuple[str, ...]  # "<template>-<set>-" of its claim templates
    ready: set[int] = field(default_factory=set)  # Running-and-Ready ordinals of its pods


@dataclass(slots=True)
class _StsPod:
    owner: str  # the set's uid
    ordinal: int
    ready: bool  # Running and Ready (not terminating)


@dataclass(slots=True)
class _Claim:
    namespace: str
    name: str
    uid: str
    volume: str  # spec.volumeName
    bound: bool  # status.phase Bound
    deleting: bool
    owner: str  # uid of the StatefulSet whose template it came from, or ""


def _ordinal(name: str, set_name: str) -> int | None:
    """The ordinal of pod `name` of set `set_name` (`<set>-<n>`), or None."""
    head, sep, tail = name.rpartition("-")
    if not sep or head != set_name or not tail.isdigit():
        return None
    return int(tail)


def _cluster_ips(view: _ServiceView) -> frozenset[str]:
    ips = {view.spec.cluster_ip, *view.spec.cluster_ips}
    return frozenset(ip for ip in ips if ip and ip != "None")


def _controller_uids(meta: _Meta) -> tuple[str, int]:
    """(uid of the first controller ownerReference or "", number of controller refs)."""
    owner, count = "", 0
    for ref in meta.owner_references:
        if ref.controller:
            count += 1
            if not owner:
                owner = ref.uid
    return owner, count


def _ready(view: _PodView) -> bool:
    if view.metadata.deletion_timestamp is not None or view.status is None:
        return False
    for condition in view.status.conditions:
        if condition.type == "Ready":
            return condition.status == "True"
    return False


def _same_claim(a: _ClaimRef, b: _ClaimRef) -> bool:
    if a.uid and b.uid:
        return a.uid == b.uid
    return (a.namespace, a.name) == (b.namespace, b.name)


def _split_key(key: str, prefix: str) -> tuple[str, str]:
    namespace, _, name = key[len(prefix) :].partition("/")
    return namespace, name
