"""API defaulting: the values the apiserver fills in before validation and storage.

Follows upstream ``pkg/apis/apps/v1/defaults.go`` (``SetDefaults_Deployment``,
``SetDefaults_ReplicaSet``, ``SetDefaults_StatefulSet``, ``SetDefaults_DaemonSet``) and
``pkg/apis/core/v1/defaults.go`` (``SetDefaults_PodSpec``, ``SetDefaults_Pod``,
``SetDefaults_Container``, ``SetDefaults_ContainerPort``, ``SetDefaults_Probe``,
``SetDefaults_HTTPGetAction``, ``SetDefaults_ObjectFieldSelector``, ``SetDefaults_Volume``,
``SetDefaults_ConfigMapVolumeSource``, ``SetDefaults_SecretVolumeSource``,
``SetDefaults_Service``, ``SetDefaults_PersistentVolumeClaim(Spec)``,
``SetDefaults_PersistentVolume``, ``SetDefaults_Namespace(Status)``), as the generated
defaulters apply them: nested objects (pod templates, volume claim templates) are defaulted too.

Only fields the cpemu Structs model are set. `apply_defaults` is pure: it returns a new frozen
Struct (or the same object when nothing changes) and never mutates its argument.
Deliberately not applied: ``updateStrategy.rollingUpdate.maxUnavailable`` of a StatefulSet
(feature gate MaxUnavailableStatefulSet), and ``ordinals.start`` (a plain int, already 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from msgspec.structs import replace

from cp.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategy,
    Deployment,
    DeploymentStrategy,
    PersistentVolumeClaimTemplate,
    ReplicaSet,
    RollingUpdateDaemonSet,
    RollingUpdateDeployment,
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetUpdateStrategy,
)
from cp.api.core import (
    Namespace,
    NamespaceStatus,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
    Service,
    ServicePort,
)
from cp.api.core_pod import (
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    EnvVar,
    HTTPGetAction,
    Lifecycle,
    LifecycleHandler,
    Pod,
    PodSecurityContext,
    PodSpec,
    PodTemplateSpec,
    Probe,
    ResourceRequirements,
    Volume,
)
from cp.api.meta import ApiStruct

__all__ = [
    "DEFAULT_PROGRESS_DEADLINE_SECONDS",
    "DEFAULT_REVISION_HISTORY_LIMIT",
    "DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS",
    "apply_defaults",
    "default_container",
    "default_pod_spec",
    "default_pod_template",
    "default_pvc_spec",
    "image_pull_policy",
]

_T = TypeVar("_T", bound=ApiStruct)

DEFAULT_REVISION_HISTORY_LIMIT: Final = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS: Final = 600
DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: Final = 30
_DEFAULT_MODE: Final = 0o644  # v1.ConfigMapVolumeSourceDefaultMode / SecretVolumeSourceDefaultMode


def _changed(obj: _T, **changes: Any) -> _T:
    """`replace` only for the fields whose value differs (keeps identity when nothing does)."""
    diff = {k: v for k, v in changes.items() if getattr(obj, k) != v}
    return replace(obj, **diff) if diff else obj


def image_pull_policy(image: str) -> str:
    """Upstream ``SetDefaults_Container``: Always for tag ``latest`` (or no tag and no digest)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ("" if digest else "latest")
    return "Always" if tag == "latest" else "IfNotPresent"


# -- core/v1 ----------------------------------------------------------------------------------


def _probe(probe: Probe | None) -> Probe | None:
    if probe is None:
        return None
    return _changed(
        probe,
        http_get=_http_get(probe.http_get),
        timeout_seconds=probe.timeout_seconds or 1,
        period_seconds=probe.period_seconds or 10,
        success_threshold=probe.success_threshold or 1,
        failure_threshold=probe.failure_threshold or 3,
    )


def _http_get(action: HTTPGetAction | None) -> HTTPGetAction | None:
    if action is None:
        return None
    return _changed(action, path=action.path or "/", scheme=action.scheme or "HTTP")


def _handler(handler: LifecycleHandler | None) -> LifecycleHandler | None:
    return None if handler is None else _changed(handler, http_get=_http_get(handler.http_get))


def _lifecycle(lifecycle: Lifecycle | None) -> Lifecycle | None:
    if lifecycle is None:
        return None
    return _changed(
        lifecycle,
        post_start=_handler(lifecycle.post_start),
        pre_stop=_handler(lifecycle.pre_stop),
    )


def _port(port: ContainerPort) -> ContainerPort:
    return _changed(port, protocol=port.protocol or "TCP")


def _env(var: EnvVar) -> EnvVar:
    source = var.value_from
    if source is None or source.field_ref is None or source.field_ref.api_version:
        return var
    field_ref = replace(source.field_ref, api_version="v1")
    return replace(var, value_from=replace(source, field_ref=field_ref))


def _requests_from_limits(resources: ResourceRequirements | None) -> ResourceRequirements | None:
    """``SetDefaults_Pod``: a resource with a limit and no request gets request = limit."""
    if resources is None or not resources.limits:
        return resources
    missing = {k: v for k, v in resources.limits.items() if k not in resources.requests}
    if not missing:
        return resources
    return replace(resources, requests={**resources.requests, **missing})


def default_container(container: Container) -> Container:
    """``SetDefaults_Container`` and the defaulters of its ports, probes, env and hooks."""
    return _changed(
        container,
        image_pull_policy=container.image_pull_policy or image_pull_policy(container.image),
        termination_message_path=container.termination_message_path or "/dev/termination-log",
        termination_message_policy=container.termination_message_policy or "File",
        ports=tuple(_port(p) for p in container.ports),
        env=tuple(_env(e) for e in container.env),
        liveness_probe=_probe(container.liveness_probe),
        readiness_probe=_probe(container.readiness_probe),
        startup_probe=_probe(container.startup_probe),
        lifecycle=_lifecycle(container.lifecycle),
    )


def _volume(volume: Volume) -> Volume:
    sources = (
        volume.persistent_volume_claim,
        volume.empty_dir,
        volume.config_map,
        volume.secret,
        volume.host_path,
    )
    if all(source is None for source in sources):  # SetDefaults_Volume
        return replace(volume, empty_dir=EmptyDirVolumeSource())
    changes: dict[str, Any] = {}
    if volume.config_map is not None and volume.config_map.default_mode is None:
        changes["config_map"] = replace(volume.config_map, default_mode=_DEFAULT_MODE)
    if volume.secret is not None and volume.secret.default_mode is None:
        changes["secret"] = replace(volume.secret, default_mode=_DEFAULT_MODE)
    if volume.host_path is not None and volume.host_path.type is None:
        changes["host_path"] = replace(volume.host_path, type="")
    return replace(volume, **changes) if changes else volume


def _pod_container(container: Container) -> Container:
    container = default_container(container)
    return _changed(container, resources=_requests_from_limits(container.resources))


def default_pod_spec(spec: PodSpec) -> PodSpec:
    """``SetDefaults_PodSpec`` plus what ``SetDefaults_Pod`` and the nested defaulters add."""
    grace = spec.termination_grace_period_seconds
    links = spec.enable_service_links
    return _changed(
        spec,
        dns_policy=spec.dns_policy or "ClusterFirst",
        restart_policy=spec.restart_policy or "Always",
        security_context=spec.security_context or PodSecurityContext(),
        termination_grace_period_seconds=(
            DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS if grace is None else grace
        ),
        scheduler_name=spec.scheduler_name or "default-scheduler",
        enable_service_links=True if links is None else links,
        volumes=tuple(_volume(v) for v in spec.volumes),
        init_containers=tuple(_pod_container(c) for c in spec.init_containers),
        containers=tuple(_pod_container(c) for c in spec.containers),
    )


def default_pod_template(template: PodTemplateSpec) -> PodTemplateSpec:
    return _changed(template, spec=default_pod_spec(template.spec))


def _pod(pod: Pod) -> Pod:
    return _changed(pod, spec=default_pod_spec(pod.spec))


def _service_port(port: ServicePort) -> ServicePort:
    target = port.target_port
    return _changed(
        port,
        protocol=port.protocol or "TCP",
        target_port=port.port if target is None or target in (0, "") else target,
    )


def _service(service: Service) -> Service:
    spec = service.spec
    kind = spec.type or "ClusterIP"
    changes: dict[str, Any] = {
        "type": kind,
        "session_affinity": spec.session_affinity or "None",
        "ports": tuple(_service_port(p) for p in spec.ports),
    }
    if kind in ("NodePort", "LoadBalancer") and not spec.external_traffic_policy:
        changes["external_traffic_policy"] = "Cluster"
    if kind != "ExternalName" and spec.internal_traffic_policy is None:
        changes["internal_traffic_policy"] = "Cluster"
    if kind == "LoadBalancer" and spec.allocate_load_balancer_node_ports is None:
        changes["allocate_load_balancer_node_ports"] = True
    return _changed(service, spec=_changed(spec, **changes))


def default_pvc_spec(spec: PersistentVolumeClaimSpec) -> PersistentVolumeClaimSpec:
    """``SetDefaults_PersistentVolumeClaimSpec``: volumeMode Filesystem."""
    return _changed(spec, volume_mode=spec.volume_mode or "Filesystem")


def _claim_status(status: PersistentVolumeClaimStatus | None) -> PersistentVolumeClaimStatus:
    """``SetDefaults_PersistentVolumeClaim``: status.phase Pending."""
    if status is None:
        return PersistentVolumeClaimStatus(phase="Pending")
    return _changed(status, phase=status.phase or "Pending")


def _pvc(claim: PersistentVolumeClaim) -> PersistentVolumeClaim:
    return _changed(claim, spec=default_pvc_spec(claim.spec), status=_claim_status(claim.status))


def _claim_template(claim: PersistentVolumeClaimTemplate) -> PersistentVolumeClaimTemplate:
    return _changed(claim, spec=default_pvc_spec(claim.spec), status=_claim_status(claim.status))


def _pv(volume: PersistentVolume) -> PersistentVolume:
    spec = volume.spec
    spec = _changed(
        spec,
        persistent_volume_reclaim_policy=spec.persistent_volume_reclaim_policy or "Retain",
        volume_mode=spec.volume_mode or "Filesystem",
    )
    status = volume.status or PersistentVolumeStatus()
    return _changed(volume, spec=spec, status=_changed(status, phase=status.phase or "Pending"))


def _namespace(namespace: Namespace) -> Namespace:
    status = namespace.status or NamespaceStatus()
    return _changed(namespace, status=_changed(status, phase=status.phase or "Active"))


# -- apps/v1 ----------------------------------------------------------------------------------


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _deployment(deployment: Deployment) -> Deployment:
    spec = deployment.spec
    strategy = spec.strategy or DeploymentStrategy()
    strategy = _changed(strategy, type=strategy.type or "RollingUpdate")
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update or RollingUpdateDeployment()
        rolling = _changed(
            rolling,
            max_unavailable=_or_intstr(rolling.max_unavailable, "25%"),
            max_surge=_or_intstr(rolling.max_surge, "25%"),
        )
        strategy = _changed(strategy, rolling_update=rolling)
    spec = _changed(
        spec,
        replicas=_or(spec.replicas, 1),
        strategy=strategy,
        revision_history_limit=_or(spec.revision_history_limit, DEFAULT_REVISION_HISTORY_LIMIT),
        progress_deadline_seconds=_or(
            spec.progress_deadline_seconds, DEFAULT_PROGRESS_DEADLINE_SECONDS
        ),
        template=default_pod_template(spec.template),
    )
    return _changed(deployment, spec=spec)


def _or_intstr(value: int | str | None, default: int | str) -> int | str:
    return default if value is None else value


def _replica_set(replica_set: ReplicaSet) -> ReplicaSet:
    spec = replica_set.spec
    spec = _changed(
        spec, replicas=_or(spec.replicas, 1), template=default_pod_template(spec.template)
    )
    return _changed(replica_set, spec=spec)


def _stateful_set(stateful_set: StatefulSet) -> StatefulSet:
    spec = stateful_set.spec
    strategy = spec.update_strategy or StatefulSetUpdateStrategy()
    strategy = _changed(strategy, type=strategy.type or "RollingUpdate")
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update or RollingUpdateStatefulSetStrategy()
        rolling = _changed(rolling, partition=_or(rolling.partition, 0))
        strategy = _changed(strategy, rolling_update=rolling)
    policy = (
        spec.persistent_volume_claim_retention_policy
        or StatefulSetPersistentVolumeClaimRetentionPolicy()
    )
    policy = _changed(
        policy,
        when_deleted=policy.when_deleted or "Retain",
        when_scaled=policy.when_scaled or "Retain",
    )
    spec = _changed(
        spec,
        pod_management_policy=spec.pod_management_policy or "OrderedReady",
        update_strategy=strategy,
        replicas=_or(spec.replicas, 1),
        revision_history_limit=_or(spec.revision_history_limit, DEFAULT_REVISION_HISTORY_LIMIT),
        persistent_volume_claim_retention_policy=policy,
        template=default_pod_template(spec.template),
        volume_claim_templates=tuple(_claim_template(c) for c in spec.volume_claim_templates),
    )
    return _changed(stateful_set, spec=spec)


def _daemon_set(daemon_set: DaemonSet) -> DaemonSet:
    spec = daemon_set.spec
    strategy = spec.update_strategy or DaemonSetUpdateStrategy()
    strategy = _changed(strategy, type=strategy.type or "RollingUpdate")
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update or RollingUpdateDaemonSet()
        rolling = _changed(
            rolling,
            max_unavailable=_or_intstr(rolling.max_unavailable, 1),
            max_surge=_or_intstr(rolling.max_surge, 0),
        )
        strategy = _changed(strategy, rolling_update=rolling)
    spec = _changed(
        spec,
        update_strategy=strategy,
        revision_history_limit=_or(spec.revision_history_limit, DEFAULT_REVISION_HISTORY_LIMIT),
        template=default_pod_template(spec.template),
    )
    return _changed(daemon_set, spec=spec)


_DEFAULTERS: Final[dict[type[ApiStruct], Callable[[Any], Any]]] = {
    DaemonSet: _daemon_set,
    Deployment: _deployment,
    Namespace: _namespace,
    PersistentVolume: _pv,
    PersistentVolumeClaim: _pvc,
    Pod: _pod,
    ReplicaSet: _replica_set,
    Service: _service,
    StatefulSet: _stateful_set,
}


def apply_defaults(obj: _T) -> _T:
    """The object with the apiserver's defaults filled in; kinds without defaults come back as is.

    Idempotent: ``apply_defaults(apply_defaults(x)) == apply_defaults(x)``.
    """
    defaulter = _DEFAULTERS.get(type(obj))
    if defaulter is None:
        return obj
    result: _T = defaulter(obj)
    return result
