"""Builders of Deployments and ReplicaSets for the deployment controller tests."""

from __future__ import annotations

from collections.abc import Mapping

from controllers.deployment import util as du
from cp.api.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    DeploymentStrategy,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    RollingUpdateDeployment,
)
from cp.api.core_pod import Container, PodSpec, PodTemplateSpec
from cp.api.defaults import apply_defaults
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, OwnerReference

LABELS = {"app": "web"}
DEP_UID = "dep-uid"


def template(image: str = "nginx:1.0", labels: Mapping[str, str] = LABELS) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels=dict(labels)),
        spec=PodSpec(containers=(Container(name="c", image=image),)),
    )


def deployment(
    replicas: int = 3,
    *,
    name: str = "web",
    image: str = "nginx:1.0",
    max_surge: int | str | None = 0,
    max_unavailable: int | str | None = 1,
    recreate: bool = False,
    paused: bool = False,
    history_limit: int | None = 10,
    deadline: int | None = 600,
    annotations: Mapping[str, str] | None = None,
    status: DeploymentStatus | None = None,
    generation: int = 1,
) -> Deployment:
    """A Deployment as stored (defaulted), RollingUpdate unless `recreate`."""
    strategy = (
        DeploymentStrategy(type="Recreate")
        if recreate
        else DeploymentStrategy(
            type="RollingUpdate",
            rolling_update=RollingUpdateDeployment(
                max_surge=max_surge, max_unavailable=max_unavailable
            ),
        )
    )
    return apply_defaults(
        Deployment(
            metadata=ObjectMeta(
                name=name,
                namespace="default",
                uid=DEP_UID,
                generation=generation,
                annotations=dict(annotations or {}),
            ),
            spec=DeploymentSpec(
                replicas=replicas,
                selector=LabelSelector(match_labels=LABELS),
                template=template(image),
                strategy=strategy,
                paused=paused,
                revision_history_limit=history_limit,
                progress_deadline_seconds=deadline,
            ),
            status=status,
        )
    )


def owner_ref(uid: str = DEP_UID, name: str = "web") -> OwnerReference:
    return OwnerReference(
        api_version="apps/v1",
        kind="Deployment",
        name=name,
        uid=uid,
        controller=True,
        block_owner_deletion=True,
    )


def replica_set(
    name: str,
    replicas: int,
    *,
    image: str = "nginx:1.0",
    available: int = 0,
    status_replicas: int | None = None,
    revision: int | None = None,
    created: str = "2024-01-01T00:00:00Z",
    annotations: Mapping[str, str] | None = None,
    owned: bool = True,
    uid: str | None = None,
) -> ReplicaSet:
    """An RS of the Deployment `web` (labels with pod-template-hash = its name suffix)."""
    pod_hash = name.rsplit("-", 1)[-1]
    labels = {**LABELS, du.POD_TEMPLATE_HASH_LABEL: pod_hash}
    notes = dict(annotations or {})
    if revision is not None:
        notes[du.REVISION_ANNOTATION] = str(revision)
    tmpl = template(image, labels)
    return apply_defaults(
        ReplicaSet(
            metadata=ObjectMeta(
                name=name,
                namespace="default",
                uid=uid or f"{name}-uid",
                generation=1,
                creation_timestamp=created,
                labels=labels,
                annotations=notes,
                owner_references=(owner_ref(),) if owned else (),
            ),
            spec=ReplicaSetSpec(
                replicas=replicas,
                selector=LabelSelector(match_labels=labels),
                template=tmpl,
            ),
            status=ReplicaSetStatus(
                replicas=replicas if status_replicas is None else status_replicas,
                ready_replicas=available,
                available_replicas=available,
                observed_generation=1,
            ),
        )
    )


def name_of(obj: ApiStruct) -> str:
    meta = getattr(obj, "metadata", None)
    assert isinstance(meta, ObjectMeta)
    return meta.name
