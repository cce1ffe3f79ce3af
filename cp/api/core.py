"""Core (`v1`) kinds other than Pod: Namespace, Node, Service, Endpoints, ConfigMap,
PersistentVolume, PersistentVolumeClaim and Event. Pod lives in `cp.api.core_pod`.

Quantities (`capacity`, `resources.requests`) are strings; `targetPort` is `int | str`.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from cp.api.core_pod import HostPathVolumeSource, ResourceRequirements
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta, ObjectReference

__all__ = [
    "ConfigMap",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSubset",
    "Endpoints",
    "Event",
    "EventSource",
    "LoadBalancerIngress",
    "LoadBalancerStatus",
    "LocalVolumeSource",
    "NFSVolumeSource",
    "Namespace",
    "NamespaceSpec",
    "NamespaceStatus",
    "Node",
    "NodeAddress",
    "NodeCondition",
    "NodeSpec",
    "NodeStatus",
    "NodeSystemInfo",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PersistentVolumeClaimSpec",
    "PersistentVolumeClaimStatus",
    "PersistentVolumeSpec",
    "PersistentVolumeStatus",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "ServiceStatus",
    "Taint",
]


# -- Namespace ------------------------------------------------------------------------------


class NamespaceSpec(ApiStruct, frozen=True, kw_only=True):
    finalizers: tuple[str, ...] = ()


class NamespaceStatus(ApiStruct, frozen=True, kw_only=True):
    phase: str = ""


class Namespace(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Namespace")
    metadata: ObjectMeta = ObjectMeta()
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


# -- Node -----------------------------------------------------------------------------------


class Taint(ApiStruct, frozen=True, kw_only=True):
    key: str
    value: str = ""
    effect: str
    time_added: str | None = None


class NodeSpec(ApiStruct, frozen=True, kw_only=True):
    pod_cidr: str = msgspec.field(default="", name="podCIDR")
    pod_cidrs: tuple[str, ...] = msgspec.field(default=(), name="podCIDRs")
    provider_id: str = msgspec.field(default="", name="providerID")
    unschedulable: bool = False
    taints: tuple[Taint, ...] = ()


class NodeCondition(ApiStruct, frozen=True, kw_only=True):
    type: str
    status: str
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None
    reason: str = ""
    message: str = ""


class NodeAddress(ApiStruct, frozen=True, kw_only=True):
    type: str
    address: str


class NodeSystemInfo(ApiStruct, frozen=True, kw_only=True):
    """Go emits every field, so all are required."""

    machine_id: str = msgspec.field(name="machineID")
    system_uuid: str = msgspec.field(name="systemUUID")
    boot_id: str = msgspec.field(name="bootID")
    kernel_version: str
    os_image: str
    container_runtime_version: str
    kubelet_version: str
    kube_proxy_version: str
    operating_system: str
    architecture: str


class NodeStatus(ApiStruct, frozen=True, kw_only=True):
    capacity: Mapping[str, str] = {}
    allocatable: Mapping[str, str] = {}
    phase: str = ""
    conditions: tuple[NodeCondition, ...] = ()
    addresses: tuple[NodeAddress, ...] = ()
    node_info: NodeSystemInfo | None = None


class Node(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Node")
    metadata: ObjectMeta = ObjectMeta()
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


# -- Service and Endpoints ------------------------------------------------------------------


class ServicePort(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    protocol: str = ""
    app_protocol: str | None = None
    port: int
    target_port: int | str | None = None
    node_port: int = 0


class ServiceSpec(ApiStruct, frozen=True, kw_only=True):
    """`clusterIP: None` makes a headless Service."""

    ports: tuple[ServicePort, ...] = ()
    selector: Mapping[str, str] = {}
    cluster_ip: str = msgspec.field(default="", name="clusterIP")
    cluster_ips: tuple[str, ...] = msgspec.field(default=(), name="clusterIPs")
    type: str = ""
    external_ips: tuple[str, ...] = msgspec.field(default=(), name="externalIPs")
    session_affinity: str = ""
    load_balancer_ip: str = msgspec.field(default="", name="loadBalancerIP")
    external_name: str = ""
    external_traffic_policy: str = ""
    internal_traffic_policy: str | None = None
    publish_not_ready_addresses: bool = False
    ip_families: tuple[str, ...] = msgspec.field(default=(), name="ipFamilies")
    ip_family_policy: str | None = msgspec.field(default=None, name="ipFamilyPolicy")
    allocate_load_balancer_node_ports: bool | None = None


class LoadBalancerIngress(ApiStruct, frozen=True, kw_only=True):
    ip: str = ""
    hostname: str = ""


class LoadBalancerStatus(ApiStruct, frozen=True, kw_only=True):
    ingress: tuple[LoadBalancerIngress, ...] = ()


class ServiceStatus(ApiStruct, frozen=True, kw_only=True):
    load_balancer: LoadBalancerStatus | None = None


class Service(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Service")
    metadata: ObjectMeta = ObjectMeta()
    spec: ServiceSpec
    status: ServiceStatus | None = None


class EndpointAddress(ApiStruct, frozen=True, kw_only=True):
    ip: str
    hostname: str = ""
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(ApiStruct, frozen=True, kw_only=True):
    name: str = ""
    port: int
    protocol: str = ""
    app_protocol: str | None = None


class EndpointSubset(ApiStruct, frozen=True, kw_only=True):
    addresses: tuple[EndpointAddress, ...] = ()
    not_ready_addresses: tuple[EndpointAddress, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


class Endpoints(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Endpoints")
    metadata: ObjectMeta = ObjectMeta()
    subsets: tuple[EndpointSubset, ...] = ()


# -- ConfigMap and Event --------------------------------------------------------------------


class ConfigMap(ApiStruct, frozen=True, kw_only=True):
    """`binaryData` values are base64 text, as on the wire."""

    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "ConfigMap")
    metadata: ObjectMeta = ObjectMeta()
    immutable: bool | None = None
    data: Mapping[str, str] = {}
    binary_data: Mapping[str, str] = {}


class EventSource(ApiStruct, frozen=True, kw_only=True):
    component: str = ""
    host: str = ""


class Event(ApiStruct, frozen=True, kw_only=True):
    """A `core/v1` Event; `type` is Normal or Warning."""

    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "Event")
    metadata: ObjectMeta = ObjectMeta()
    involved_object: ObjectReference
    reason: str = ""
    message: str = ""
    source: EventSource | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    count: int = 0
    type: str = ""
    event_time: str | None = None
    action: str = ""
    related: ObjectReference | None = None
    reporting_component: str = ""
    reporting_instance: str = ""


# -- PersistentVolume and PersistentVolumeClaim ---------------------------------------------


class NFSVolumeSource(ApiStruct, frozen=True, kw_only=True):
    server: str
    path: str
    read_only: bool = False


class LocalVolumeSource(ApiStruct, frozen=True, kw_only=True):
    path: str
    fs_type: str | None = None


class PersistentVolumeSpec(ApiStruct, frozen=True, kw_only=True):
    """`claimRef` binds the volume; `persistentVolumeReclaimPolicy` is Retain, Delete or Recycle."""

    capacity: Mapping[str, str] = {}
    host_path: HostPathVolumeSource | None = None
    nfs: NFSVolumeSource | None = None
    local: LocalVolumeSource | None = None
    access_modes: tuple[str, ...] = ()
    claim_ref: ObjectReference | None = None
    persistent_volume_reclaim_policy: str = ""
    storage_class_name: str = ""
    mount_options: tuple[str, ...] = ()
    volume_mode: str | None = None


class PersistentVolumeStatus(ApiStruct, frozen=True, kw_only=True):
    """Phase: Pending, Available, Bound, Released or Failed."""

    phase: str = ""
    message: str = ""
    reason: str = ""
    last_phase_transition_time: str | None = None


class PersistentVolume(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "PersistentVolume")
    metadata: ObjectMeta = ObjectMeta()
    spec: PersistentVolumeSpec
    status: PersistentVolumeStatus | None = None


class PersistentVolumeClaimSpec(ApiStruct, frozen=True, kw_only=True):
    """`storageClassName` is a pointer upstream: None asks for the default class, "" for none."""

    access_modes: tuple[str, ...] = ()
    selector: LabelSelector | None = None
    resources: ResourceRequirements | None = None
    volume_name: str = ""
    storage_class_name: str | None = None
    volume_mode: str | None = None


class PersistentVolumeClaimStatus(ApiStruct, frozen=True, kw_only=True):
    """Phase: Pending, Bound or Lost."""

    phase: str = ""
    access_modes: tuple[str, ...] = ()
    capacity: Mapping[str, str] = {}


class PersistentVolumeClaim(ApiStruct, frozen=True, kw_only=True):
    api_version: str = msgspec.field(default_factory=lambda: "v1")
    kind: str = msgspec.field(default_factory=lambda: "PersistentVolumeClaim")
    metadata: ObjectMeta = ObjectMeta()
    spec: PersistentVolumeClaimSpec
    status: PersistentVolumeClaimStatus | None = None
