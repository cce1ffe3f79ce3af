"""The `apps/v1` kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.

Fields follow `k8s.io/api/apps/v1/types.go`. Status fields that Go always emits (and the
OpenAPI schema marks required, e.g. `ReplicaSetStatus.replicas`) are required here too, so a
status is written whole. intOrString fields (`maxSurge`, `maxUnavailable`) are `int | str`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from cp.api.core import PersistentVolumeClaimSpec, PersistentVolumeClaimStatus
from cp.api.core_pod import PodTemplateSpec
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta

__all__ = [
    "ControllerRevision",
    "DaemonSet",
    "DaemonSetCondition",
    "DaemonSetSpec",
    "DaemonSetStatus",
    "DaemonSetUpdateStrategy",
    "Deployment",
    "DeploymentCondition",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "PersistentVolumeClaimTemplate",
    "ReplicaSet",
    "ReplicaSetCondition",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "RollingUpdateDaemonSet",
    "RollingUpdateDeployment",
    "RollingUpdateStatefulSetStrategy",
    "StatefulSet",
    "StatefulSetCondition",
    "StatefulSetOrdinals",
    "StatefulSetPersistentVolumeClaimRetentionPolicy",
    "StatefulSetSpec",
    "StatefulSetStatus",
    "StatefulSetUpdateStrategy",
]


# -- Deployment -----------------------------------------------------------------------------


class RollingUpdateDeployment(ApiStruct, frozen=True, kw_only=True):
    """Absolute numbers or percentages (`"25%"`), defaulted to 25% by the apiserver."""

    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


class DeploymentStrategy(ApiStruct, frozen=True, kw_only=True):
    """`type` is RollingUpdate (default) or Recreate."""

    type: str = ""
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(ApiStruct, frozen=True, kw_only=True):
    replicas: int | None = None
    selector: LabelSelector
    template: PodTemplateSpec
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None
    paused: bool = False
    progress_deadline_seconds: int | None = None


class DeploymentCondition(ApiStruct, frozen=True, kw_only=True):
    """Available, Progressing or ReplicaFailure."""

    type: str
    status: str
    last_update_time: str | None = None
    last_transition_time: str | None = None
    reason: str = ""
    message: str = ""


class DeploymentStatus(ApiStruct, frozen=True, kw_only=True):
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    terminating_replicas: int | None = None
    conditions: tuple[DeploymentCondition, ...] = ()
    collision_count: int | None = None


class Deployment(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "apps/v1")
    kind: str = msgspec.field(default_factory=lambda: "Deployment")
    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec
    status: DeploymentStatus | None = None


# -- ReplicaSet -----------------------------------------------------------------------------


class ReplicaSetSpec(ApiStruct, frozen=True, kw_only=True):
    replicas: int | None = None
    min_ready_seconds: int = 0
    selector: LabelSelector
    template: PodTemplateSpec


class ReplicaSetCondition(ApiStruct, frozen=True, kw_only=True):
    """ReplicaFailure (reason FailedCreate or FailedDelete)."""

    type: str
    status: str
    last_transition_time: str | None = None
    reason: str = ""
    message: str = ""


class ReplicaSetStatus(ApiStruct, frozen=True, kw_only=True):
    replicas: int
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    terminating_replicas: int | None = None
    observed_generation: int = 0
    conditions: tuple[ReplicaSetCondition, ...] = ()


class ReplicaSet(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "apps/v1")
    kind: str = msgspec.field(default_factory=lambda: "ReplicaSet")
    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicaSetSpec
    status: ReplicaSetStatus | None = None


# -- StatefulSet ----------------------------------------------------------------------------


class PersistentVolumeClaimTemplate(ApiStruct, frozen=True, kw_only=True):
    """A `volumeClaimTemplates[]` entry: a PersistentVolumeClaim whose apiVersion and kind are
    optional (manifests usually leave them out)."""

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = ObjectMeta()
    spec: PersistentVolumeClaimSpec
    status: PersistentVolumeClaimStatus | None = None


class RollingUpdateStatefulSetStrategy(ApiStruct, frozen=True, kw_only=True):
    partition: int | None = None
    max_unavailable: int | str | None = None


class StatefulSetUpdateStrategy(ApiStruct, frozen=True, kw_only=True):
    """`type` is RollingUpdate (default) or OnDelete."""

    type: str = ""
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class StatefulSetPersistentVolumeClaimRetentionPolicy(ApiStruct, frozen=True, kw_only=True):
    """Retain (default) or Delete, for each of whenDeleted and whenScaled."""

    when_deleted: str = ""
    when_scaled: str = ""


class StatefulSetOrdinals(ApiStruct, frozen=True, kw_only=True):
    start: int = 0


class StatefulSetSpec(ApiStruct, frozen=True, kw_only=True):
    replicas: int | None = None
    selector: LabelSelector
    template: PodTemplateSpec
    volume_claim_templates: tuple[PersistentVolumeClaimTemplate, ...] = ()
    service_name: str = ""
    pod_management_policy: str = ""
    update_strategy: StatefulSetUpdateStrategy | None = None
    revision_history_limit: int | None = None
    min_ready_seconds: int = 0
    persistent_volume_claim_retention_policy: (
        StatefulSetPersistentVolumeClaimRetentionPolicy | None
    ) = None
    ordinals: StatefulSetOrdinals | None = None


class StatefulSetCondition(ReplicaSetCondition, frozen=True, kw_only=True):
    """Same fields as a ReplicaSet condition."""


class StatefulSetStatus(ApiStruct, frozen=True, kw_only=True):
    observed_generation: int = 0
    replicas: int
    ready_replicas: int = 0
    current_replicas: int = 0
    updated_replicas: int = 0
    current_revision: str = ""
    update_revision: str = ""
    collision_count: int | None = None
    conditions: tuple[StatefulSetCondition, ...] = ()
    available_replicas: int = 0


class StatefulSet(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "apps/v1")
    kind: str = msgspec.field(default_factory=lambda: "StatefulSet")
    metadata: ObjectMeta = ObjectMeta()
    spec: StatefulSetSpec
    status: StatefulSetStatus | None = None


# -- DaemonSet ------------------------------------------------------------------------------


class RollingUpdateDaemonSet(ApiStruct, frozen=True, kw_only=True):
    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


class DaemonSetUpdateStrategy(ApiStruct, frozen=True, kw_only=True):
    """`type` is RollingUpdate (default) or OnDelete."""

    type: str = ""
    rolling_update: RollingUpdateDaemonSet | None = None


class DaemonSetSpec(ApiStruct, frozen=True, kw_only=True):
    selector: LabelSelector
    template: PodTemplateSpec
    update_strategy: DaemonSetUpdateStrategy | None = None
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None


class DaemonSetCondition(ReplicaSetCondition, frozen=True, kw_only=True):
    """Same fields as a ReplicaSet condition."""


class DaemonSetStatus(ApiStruct, frozen=True, kw_only=True):
    current_number_scheduled: int
    number_misscheduled: int
    desired_number_scheduled: int
    number_ready: int
    observed_generation: int = 0
    updated_number_scheduled: int = 0
    number_available: int = 0
    number_unavailable: int = 0
    collision_count: int | None = None
    conditions: tuple[DaemonSetCondition, ...] = ()


class DaemonSet(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "apps/v1")
    kind: str = msgspec.field(default_factory=lambda: "DaemonSet")
    metadata: ObjectMeta = ObjectMeta()
    spec: DaemonSetSpec
    status: DaemonSetStatus | None = None


# -- ControllerRevision ---------------------------------------------------------------------


class ControllerRevision(ApiStruct, frozen=True, kw_only=True):
    """A StatefulSet/DaemonSet history entry; `data` is the raw JSON object (the template patch)."""

    api_version: str = msgspec.field(default_factory=lambda: "apps/v1")
    kind: str = msgspec.field(default_factory=lambda: "ControllerRevision")
    metadata: ObjectMeta = ObjectMeta()
    data: Mapping[str, Any] | None = None
    revision: int
