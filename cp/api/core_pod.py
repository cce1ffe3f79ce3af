"""Pod, its spec (containers, probes, volumes) and status, and the pod template (`core/v1`).

Quantities (`resources`, `sizeLimit`) are strings; intOrString fields (probe ports) are
`int | str`. Field names and Go types follow `k8s.io/api/core/v1/types.go`.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from cp.api.meta import ApiStruct, ObjectMeta

__all__ = [
    "ConfigMapKeySelector",
    "ConfigMapVolumeSource",
    "Container",
    "ContainerPort",
    "ContainerState",
    "ContainerStateRunning",
    "ContainerStateTerminated",
    "ContainerStateWaiting",
    "ContainerStatus",
    "EmptyDirVolumeSource",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "ExecAction",
    "HTTPGetAction",
    "HTTPHeader",
    "HostIP",
    "HostPathVolumeSource",
    "KeyToPath",
    "Lifecycle",
    "LifecycleHandler",
    "LocalObjectReference",
    "ObjectFieldSelector",
    "PersistentVolumeClaimVolumeSource",
    "Pod",
    "PodCondition",
    "PodIP",
    "PodReadinessGate",
    "PodSecurityContext",
    "PodSpec",
    "PodStatus",
    "PodTemplateSpec",
    "Probe",
    "ResourceRequirements",
    "SecretKeySelector",
    "SecretVolumeSource",
    "SecurityContext",
    "SleepAction",
    "TCPSocketAction",
    "Toleration",
    "Volume",
    "VolumeMount",
]


class LocalObjectReference(ApiStruct, frozen=True, kw_only=True):
    """A reference by name in the same namespace (`imagePullSecrets[]`, `envFrom.configMapRef`)."""

    name: str = ""


class ContainerPort(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    container_port: int
    host_port: int = 0
    host_ip: str = msgspec.field(default="", name="hostIP")
    protocol: str = ""


class ObjectFieldSelector(ApiStruct, frozen=True, kw_only=True):
    field_path: str
    api_version: str = ""


class ConfigMapKeySelector(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    key: str
    optional: bool | None = None


class SecretKeySelector(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    key: str
    optional: bool | None = None


class EnvVarSource(ApiStruct, frozen=True, kw_only=True):
    field_ref: ObjectFieldSelector | None = None
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None


class EnvVar(ApiStruct, frozen=True, kw_only=True):
    name: str
    value: str = ""
    value_from: EnvVarSource | None = None


class EnvFromSource(ApiStruct, frozen=True, kw_only=True):
    prefix: str = ""
    config_map_ref: LocalObjectReference | None = None
    secret_ref: LocalObjectReference | None = None


class ResourceRequirements(ApiStruct, frozen=True, kw_only=True):
    """Quantities by resource name (`cpu`, `memory`, `storage`), as strings."""

    limits: Mapping[str, str] = {}
    requests: Mapping[str, str] = {}


class VolumeMount(ApiStruct, frozen=True, kw_only=True):
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""
    sub_path_expr: str = ""
    mount_propagation: str | None = None


class ExecAction(ApiStruct, frozen=True, kw_only=True):
    command: tuple[str, ...] = ()


class HTTPHeader(ApiStruct, frozen=True, kw_only=True):
    name: str
    value: str


class HTTPGetAction(ApiStruct, frozen=True, kw_only=True):
    path: str = ""
    port: int | str
    host: str = ""
    scheme: str = ""
    http_headers: tuple[HTTPHeader, ...] = ()


class TCPSocketAction(ApiStruct, frozen=True, kw_only=True):
    port: int | str
    host: str = ""


class Probe(ApiStruct, frozen=True, kw_only=True):
    """Readiness, liveness or startup probe. Never executed: the kubelet simulator only times it."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 0
    period_seconds: int = 0
    success_threshold: int = 0
    failure_threshold: int = 0
    termination_grace_period_seconds: int | None = None


class SleepAction(ApiStruct, frozen=True, kw_only=True):
    seconds: int


class LifecycleHandler(ApiStruct, frozen=True, kw_only=True):
    """A postStart or preStop hook: exactly one action is set."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(ApiStruct, frozen=True, kw_only=True):
    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None


class SecurityContext(ApiStruct, frozen=True, kw_only=True):
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    privileged: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None


class Container(ApiStruct, frozen=True, kw_only=True):
    name: str
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str = ""
    ports: tuple[ContainerPort, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    env: tuple[EnvVar, ...] = ()
    resources: ResourceRequirements | None = None
    restart_policy: str | None = None
    volume_mounts: tuple[VolumeMount, ...] = ()
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str = ""
    termination_message_policy: str = ""
    image_pull_policy: str = ""
    security_context: SecurityContext | None = None
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False


class PersistentVolumeClaimVolumeSource(ApiStruct, frozen=True, kw_only=True):
    claim_name: str
    read_only: bool = False


class EmptyDirVolumeSource(ApiStruct, frozen=True, kw_only=True):
    medium: str = ""
    size_limit: str | None = None


class KeyToPath(ApiStruct, frozen=True, kw_only=True):
    key: str
    path: str
    mode: int | None = None


class ConfigMapVolumeSource(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None
    optional: bool | None = None


class SecretVolumeSource(ApiStruct, frozen=True, kw_only=True):
    secret_name: str = ""
    items: tuple[KeyToPath, ...] = ()
    default_mode: int | None = None
    optional: bool | None = None


class HostPathVolumeSource(ApiStruct, frozen=True, kw_only=True):
    path: str
    type: str | None = None


class Volume(ApiStruct, frozen=True, kw_only=True):
    """A pod volume: exactly one source is set."""

    name: str
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None


class Toleration(ApiStruct, frozen=True, kw_only=True):
    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


class PodReadinessGate(ApiStruct, frozen=True, kw_only=True):
    condition_type: str


class PodSecurityContext(ApiStruct, frozen=True, kw_only=True):
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    fs_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()


class PodSpec(ApiStruct, frozen=True, kw_only=True):
    volumes: tuple[Volume, ...] = ()
    init_containers: tuple[Container, ...] = ()
    containers: tuple[Container, ...]
    restart_policy: str = ""
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str = ""
    node_selector: Mapping[str, str] = {}
    service_account_name: str = ""
    service_account: str = ""
    automount_service_account_token: bool | None = None
    node_name: str = ""
    host_network: bool = False
    security_context: PodSecurityContext | None = None
    image_pull_secrets: tuple[LocalObjectReference, ...] = ()
    hostname: str = ""
    subdomain: str = ""
    scheduler_name: str = ""
    tolerations: tuple[Toleration, ...] = ()
    priority_class_name: str = ""
    priority: int | None = None
    readiness_gates: tuple[PodReadinessGate, ...] = ()
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    set_hostname_as_fqdn: bool | None = msgspec.field(default=None, name="setHostnameAsFQDN")


class PodTemplateSpec(ApiStruct, frozen=True, kw_only=True):
    """`spec.template` of the workload kinds."""

    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec


class PodCondition(ApiStruct, frozen=True, kw_only=True):
    """PodScheduled, Initialized, ContainersReady, Ready (status True, False or Unknown)."""

    type: str
    status: str
    observed_generation: int = 0
    last_probe_time: str | None = None
    last_transition_time: str | None = None
    reason: str = ""
    message: str = ""


class ContainerStateWaiting(ApiStruct, frozen=True, kw_only=True):
    reason: str = ""
    message: str = ""


class ContainerStateRunning(ApiStruct, frozen=True, kw_only=True):
    started_at: str | None = None


class ContainerStateTerminated(ApiStruct, frozen=True, kw_only=True):
    exit_code: int
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str = msgspec.field(default="", name="containerID")


class ContainerState(ApiStruct, frozen=True, kw_only=True):
    """At most one of waiting, running, terminated; all unset means waiting."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(ApiStruct, frozen=True, kw_only=True):
    """Go emits name, ready, restartCount, image and imageID even when empty: they are required."""

    name: str
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool
    restart_count: int
    image: str
    image_id: str = msgspec.field(name="imageID")
    container_id: str = msgspec.field(default="", name="containerID")
    started: bool | None = None


class HostIP(ApiStruct, frozen=True, kw_only=True):
    ip: str


class PodIP(ApiStruct, frozen=True, kw_only=True):
    ip: str


class PodStatus(ApiStruct, frozen=True, kw_only=True):
    observed_generation: int = 0
    phase: str = ""
    conditions: tuple[PodCondition, ...] = ()
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = msgspec.field(default="", name="hostIP")
    host_ips: tuple[HostIP, ...] = msgspec.field(default=(), name="hostIPs")
    pod_ip: str = msgspec.field(default="", name="podIP")
    pod_ips: tuple[PodIP, ...] = msgspec.field(default=(), name="podIPs")
    start_time: str | None = None
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    qos_class: str = msgspec.field(default="", name="qosClass")


class Pod(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Pod")
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec
    status: PodStatus | None = None
