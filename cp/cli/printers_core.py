"""kubectl's tables for core (`v1`) kinds other than Pod, and for StorageClass: Service,
Endpoints, ConfigMap, Node, Namespace, Event, PersistentVolume, PersistentVolumeClaim.

Transcribed from `pkg/printers/internalversion/printers.go` (kubernetes 1.32). The apiserver
builds every row with `Wide: true` and kubectl hides priority-1 columns, so wide-only formatting
(the 16-byte load-balancer clip) never applies to what kubectl shows. Fields the apiserver always
defaults (`spec.type`, port `protocol`) fall back to those defaults when unset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cp.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Service,
)
from cp.api.storage import StorageClass
from cp.api.times import parse_rfc3339
from cp.cli.printers_common import Column, KindPrinter, age, format_labels, quantity

__all__ = ["CORE_PRINTERS"]

_NAME = Column("Name", is_name=True)
_AGE = Column("Age")
_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"
_DEFAULT_CLASS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


# -- Service and Endpoints ------------------------------------------------------------------


def _external_ip(svc: Service) -> str:
    """`getServiceExternalIP` with wide=true (the apiserver's view)."""
    spec = svc.spec
    kind = spec.type or "ClusterIP"
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(spec.external_ips) if spec.external_ips else "<none>"
    if kind == "LoadBalancer":
        ingress = svc.status.load_balancer if svc.status else None
        found = sorted({i.ip or i.hostname for i in (ingress.ingress if ingress else ())} - {""})
        if spec.external_ips:
            return ",".join([*found, *spec.external_ips])
        return ",".join(found) if found else "<pending>"
    if kind == "ExternalName":
        return spec.external_name
    return "<unknown>"


def _ports(svc: Service) -> str:
    """`makePortString`: `80/TCP`, `80:30080/TCP` for a node port."""
    pieces = []
    for port in svc.spec.ports:
        protocol = port.protocol or "TCP"
        if port.node_port > 0:
            pieces.append(f"{port.port}:{port.node_port}/{protocol}")
        else:
            pieces.append(f"{port.port}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service(svc: Service, now: float) -> tuple[str, ...]:
    spec = svc.spec
    cluster_ips = spec.cluster_ips or ((spec.cluster_ip,) if spec.cluster_ip else ())
    return (
        svc.metadata.name,
        spec.type or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(svc),
        _ports(svc),
        age(svc.metadata.creation_timestamp, now),
        format_labels(spec.selector),
    )


def _host_port(ip: str, port: int) -> str:
    """Go's `net.JoinHostPort`: brackets around an IPv6 address."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: Endpoints, limit: int = 3) -> str:
    """`formatEndpoints`: the first three `ip:port`, then ` + N more...`; `<none>` without
    subsets. Not-ready addresses are not shown."""
    if not endpoints.subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for subset in endpoints.subsets:
        if not subset.ports:  # a headless Service without ports
            count += len(subset.addresses)
            for address in subset.addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(address.ip)
            continue
        for port in subset.ports:
            count += len(subset.addresses)
            for address in subset.addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(_host_port(address.ip, port.port))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _endpoints(obj: Endpoints, now: float) -> tuple[str, ...]:
    return (obj.metadata.name, format_endpoints(obj), age(obj.metadata.creation_timestamp, now))


# -- ConfigMap, Namespace, Node, Event ------------------------------------------------------


def _config_map(obj: ConfigMap, now: float) -> tuple[str, ...]:
    count = len(obj.data) + len(obj.binary_data)
    return (obj.metadata.name, str(count), age(obj.metadata.creation_timestamp, now))


def _namespace(obj: Namespace, now: float) -> tuple[str, ...]:
    phase = obj.status.phase if obj.status else ""
    return (obj.metadata.name, phase, age(obj.metadata.creation_timestamp, now))


def _node_roles(labels: Mapping[str, str]) -> str:
    """`findNodeRoles`: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values."""
    roles = set()
    for key, value in labels.items():
        if key.startswith("node-role.kubernetes.io/"):
            if role := key.removeprefix("node-role.kubernetes.io/"):
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(obj: Node, kind: str) -> str:
    for address in obj.status.addresses if obj.status else ():
        if address.type == kind:
            return address.address
    return "<none>"


def _node(obj: Node, now: float) -> tuple[str, ...]:
    conditions = obj.status.conditions if obj.status else ()
    ready = {c.type: c for c in conditions}.get("Ready")  # the last Ready condition wins
    states = ["Unknown" if ready is None else "Ready" if ready.status == "True" else "NotReady"]
    if obj.spec is not None and obj.spec.unschedulable:
        states.append("SchedulingDisabled")
    info = obj.status.node_info if obj.status else None
    return (
        obj.metadata.name,
        ",".join(states),
        _node_roles(obj.metadata.labels),
        age(obj.metadata.creation_timestamp, now),
        info.kubelet_version if info else "",
        _node_address(obj, "InternalIP"),
        _node_address(obj, "ExternalIP"),
        (info.os_image if info else "") or "<unknown>",
        (info.kernel_version if info else "") or "<unknown>",
        (info.container_runtime_version if info else "") or "<unknown>",
    )


def _event_source(obj: Event) -> str:
    """`formatEventSource`: component (or reportingController), then `, host` if any."""
    source = obj.source
    component = (source.component if source else "") or obj.reporting_component
    host = (source.host if source else "") or obj.reporting_instance
    return f"{component}, {host}" if host else component


def _event(obj: Event, now: float) -> tuple[str, ...]:
    first = age(obj.first_timestamp or obj.event_time, now)
    last = age(obj.last_timestamp, now) if obj.last_timestamp else first
    involved = obj.involved_object
    target = involved.kind.lower()
    if involved.name:
        target = f"{target}/{involved.name}"
    return (
        last,
        obj.type,
        obj.reason,
        target,
        involved.field_path,
        _event_source(obj),
        obj.message.strip(),
        first,
        str(obj.count or 1),
        obj.metadata.name,
    )


def event_sort_key(obj: Event) -> float:
    """When an event was last seen (seconds), for callers that order events as `kubectl events`
    does; events never seen sort first."""
    stamp = obj.last_timestamp or obj.first_timestamp or obj.event_time
    return parse_rfc3339(stamp) if stamp else float("-inf")


# -- PersistentVolume, PersistentVolumeClaim, StorageClass ----------------------------------


def access_modes(modes: Sequence[str]) -> str:
    """`GetAccessModesAsString`: always in the order RWO,ROX,RWX,RWOP."""
    names = (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    )
    return ",".join(short for mode, short in names if mode in modes)


def _persistent_volume(obj: PersistentVolume, now: float) -> tuple[str, ...]:
    spec = obj.spec
    claim = f"{spec.claim_ref.namespace}/{spec.claim_ref.name}" if spec.claim_ref else ""
    phase = obj.status.phase if obj.status else ""
    if obj.metadata.deletion_timestamp is not None:
        phase = "Terminating"
    klass = obj.metadata.annotations.get(_BETA_STORAGE_CLASS, spec.storage_class_name)
    return (
        obj.metadata.name,
        quantity(spec.capacity.get("storage")),
        access_modes(spec.access_modes),
        spec.persistent_volume_reclaim_policy,
        phase,
        claim,
        klass,
        "<unset>",  # volumeAttributesClassName: not modelled by cpemu
        obj.status.reason if obj.status else "",
        age(obj.metadata.creation_timestamp, now),
        spec.volume_mode or "<unset>",
    )


def _persistent_volume_claim(obj: PersistentVolumeClaim, now: float) -> tuple[str, ...]:
    spec, status = obj.spec, obj.status
    phase = status.phase if status else ""
    if obj.metadata.deletion_timestamp is not None:
        phase = "Terminating"
    capacity = modes = ""
    if spec.volume_name:
        modes = access_modes(status.access_modes if status else ())
        capacity = quantity((status.capacity if status else {}).get("storage"))
    klass = obj.metadata.annotations.get(_BETA_STORAGE_CLASS, spec.storage_class_name or "")
    return (
        obj.metadata.name,
        phase,
        spec.volume_name,
        capacity,
        modes,
        klass,
        "<unset>",  # volumeAttributesClassName: not modelled by cpemu
        age(obj.metadata.creation_timestamp, now),
        spec.volume_mode or "<unset>",
    )


def _storage_class(obj: StorageClass, now: float) -> tuple[str, ...]:
    name = obj.metadata.name
    if any(obj.metadata.annotations.get(key) == "true" for key in _DEFAULT_CLASS):
        name += " (default)"
    return (
        name,
        obj.provisioner,
        obj.reclaim_policy or "Delete",
        obj.volume_binding_mode or "Immediate",
        "true" if obj.allow_volume_expansion else "false",  # Go's fmt.Sprint(bool)
        age(obj.metadata.creation_timestamp, now),
    )


CORE_PRINTERS: dict[str, KindPrinter] = {
    "Service": KindPrinter(
        (
            _NAME,
            Column("Type"),
            Column("Cluster-IP"),
            Column("External-IP"),
            Column("Port(s)"),
            _AGE,
            Column("Selector", wide=True),
        ),
        _service,
    ),
    "Endpoints": KindPrinter((_NAME, Column("Endpoints"), _AGE), _endpoints),
    "ConfigMap": KindPrinter((_NAME, Column("Data"), _AGE), _config_map),
    "Namespace": KindPrinter((_NAME, Column("Status"), _AGE), _namespace),
    "Node": KindPrinter(
        (
            _NAME,
            Column("Status"),
            Column("Roles"),
            _AGE,
            Column("Version"),
            Column("Internal-IP", wide=True),
            Column("External-IP", wide=True),
            Column("OS-Image", wide=True),
            Column("Kernel-Version", wide=True),
            Column("Container-Runtime", wide=True),
        ),
        _node,
    ),
    "Event": KindPrinter(
        (
            Column("Last Seen"),
            Column("Type"),
            Column("Reason"),
            Column("Object"),
            Column("Subobject", wide=True),
            Column("Source", wide=True),
            Column("Message"),
            Column("First Seen", wide=True),
            Column("Count", wide=True),
            Column("Name", wide=True, is_name=True),
        ),
        _event,
    ),
    "PersistentVolume": KindPrinter(
        (
            _NAME,
            Column("Capacity"),
            Column("Access Modes"),
            Column("Reclaim Policy"),
            Column("Status"),
            Column("Claim"),
            Column("StorageClass"),
            Column("VolumeAttributesClass"),
            Column("Reason"),
            _AGE,
            Column("VolumeMode", wide=True),
        ),
        _persistent_volume,
    ),
    "PersistentVolumeClaim": KindPrinter(
        (
            _NAME,
            Column("Status"),
            Column("Volume"),
            Column("Capacity"),
            Column("Access Modes"),
            Column("StorageClass"),
            Column("VolumeAttributesClass"),
            _AGE,
            Column("VolumeMode", wide=True),
        ),
        _persistent_volume_claim,
    ),
    "StorageClass": KindPrinter(
        (
            _NAME,
            Column("Provisioner"),
            Column("ReclaimPolicy"),
            Column("VolumeBindingMode"),
            Column("AllowVolumeExpansion"),
            _AGE,
        ),
        _storage_class,
    ),
}
