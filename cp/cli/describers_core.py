"""`kubectl describe` for the core and storage kinds other than Pod: Service, Endpoints,
PersistentVolumeClaim, PersistentVolume, Node (short), ConfigMap, StorageClass, Namespace.

Follows kubectl 1.32 `staging/src/k8s.io/kubectl/pkg/describe/describe.go`: `describeService`
(with `formatEndpoints` over the Service's Endpoints, as 1.32 does), `describeEndpoints`,
`describePersistentVolumeClaim` / `printPersistentVolumeClaim`, `describePersistentVolume`,
`describeNode` (without the Lease and the node-local ResourceSlices), `ConfigMapDescriber`,
`describeStorageClass`, `describeNamespace`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from cp.api.core import (
    ConfigMap,
    Endpoints,
    Namespace,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Service,
)
from cp.api.core_pod import Pod
from cp.api.quantity import Quantity, QuantityError
from cp.api.storage import StorageClass
from cp.cli.describers import (
    PrefixWriter,
    Related,
    annotations_multiline,
    describe_events,
    go_list,
    labels_multiline,
    name_namespace_labels_annotations,
    rfc1123z,
    since,
)
from cp.cli.printers_common import format_labels, quantity
from cp.cli.printers_core import access_modes

__all__ = [
    "describe_config_map",
    "describe_endpoints",
    "describe_namespace",
    "describe_node",
    "describe_persistent_volume",
    "describe_persistent_volume_claim",
    "describe_service",
    "describe_storage_class",
    "format_endpoints",
]

_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def _host_port(ip: str, port: int) -> str:
    """Go's `net.JoinHostPort`."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: Endpoints | None, port_name: str) -> str:
    """`formatEndpoints(endpoints, sets.New(portName))`: the ready `ip:port` of the ports
    named `port_name`, three at most then ` + N more...`; `<none>` without subsets."""
    if endpoints is None or not endpoints.subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for subset in endpoints.subsets:
        if not subset.ports:  # a headless Service without ports
            pairs: list[tuple[str, int | None]] = [(a.ip, None) for a in subset.addresses]
        else:
            pairs = [
                (address.ip, port.port)
                for port in subset.ports
                if port.name == port_name
                for address in subset.addresses
            ]
        for ip, number in pairs:
            if len(shown) == 3:
                more = True
            if not more:
                shown.append(ip if number is None else _host_port(ip, number))
            count += 1
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if more else text


def describe_service(svc: Service, related: Related) -> str:
    """`describeService`."""
    meta, spec = svc.metadata, svc.spec
    w = PrefixWriter()
    name_namespace_labels_annotations(w, meta)
    w.write(0, f"Selector:\t{format_labels(spec.selector)}\n")
    w.write(0, f"Type:\t{spec.type}\n")
    if spec.ip_family_policy is not None:
        w.write(0, f"IP Family Policy:\t{spec.ip_family_policy}\n")
    w.write(0, f"IP Families:\t{','.join(spec.ip_families) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.cluster_ip}\n")
    w.write(0, f"IPs:\t{','.join(spec.cluster_ips) or '<none>'}\n")
    if spec.external_ips:
        w.write(0, f"External IPs:\t{','.join(spec.external_ips)}\n")
    if spec.load_balancer_ip:
        w.write(0, f"Desired LoadBalancer IP:\t{spec.load_balancer_ip}\n")
    if spec.external_name:
        w.write(0, f"External Name:\t{spec.external_name}\n")
    ingress = svc.status.load_balancer.ingress if svc.status and svc.status.load_balancer else ()
    if ingress:
        text = ", ".join(entry.ip or entry.hostname for entry in ingress)
        w.write(0, f"LoadBalancer Ingress:\t{text}\n")
    for port in spec.ports:
        name = port.name or "<unset>"
        w.write(0, f"Port:\t{name}\t{port.port}/{port.protocol}\n")
        target = port.target_port if port.target_port is not None else 0
        w.write(0, f"TargetPort:\t{target}/{port.protocol}\n")
        if port.app_protocol is not None:
            w.write(0, f"AppProtocol:\t{port.app_protocol}\n")
        if port.node_port:
            w.write(0, f"NodePort:\t{name}\t{port.node_port}/{port.protocol}\n")
        w.write(0, f"Endpoints:\t{format_endpoints(related.endpoints, port.name)}\n")
    w.write(0, f"Session Affinity:\t{spec.session_affinity}\n")
    if spec.external_traffic_policy:
        w.write(0, f"External Traffic Policy:\t{spec.external_traffic_policy}\n")
    if spec.internal_traffic_policy is not None:
        w.write(0, f"Internal Traffic Policy:\t{spec.internal_traffic_policy}\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_endpoints(ep: Endpoints, related: Related) -> str:
    """`describeEndpoints`."""
    meta = ep.metadata
    w = PrefixWriter()
    name_namespace_labels_annotations(w, meta)
    w.write(0, "Subsets:\n")
    for subset in ep.subsets:
        ready = ",".join(address.ip for address in subset.addresses) or "<none>"
        w.write(1, f"Addresses:\t{ready}\n")
        not_ready = ",".join(address.ip for address in subset.not_ready_addresses) or "<none>"
        w.write(1, f"NotReadyAddresses:\t{not_ready}\n")
        if subset.ports:
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for port in subset.ports:
                w.write(2, f"{port.name or '<unset>'}\t{port.port}\t{port.protocol}\n")
        w.write(0, "\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def _claim_users(pvc: PersistentVolumeClaim, pods: Sequence[Pod]) -> list[str]:
    """`getPodsForPVC`: pods with a volume from the claim, then pods owning the claim."""
    users = [
        pod
        for pod in pods
        for volume in pod.spec.volumes
        if volume.persistent_volume_claim is not None
        and volume.persistent_volume_claim.claim_name == pvc.metadata.name
    ]
    seen = {pod.metadata.uid for pod in users}
    for owner in pvc.metadata.owner_references:
        if owner.kind != "Pod" or owner.uid in seen:
            continue
        for pod in pods:
            if pod.metadata.uid == owner.uid:
                users.append(pod)
                seen.add(owner.uid)
                break
    return sorted(pod.metadata.name for pod in users)


def describe_persistent_volume_claim(pvc: PersistentVolumeClaim, related: Related) -> str:
    """`describePersistentVolumeClaim`."""
    meta, spec = pvc.metadata, pvc.spec
    status = pvc.status
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    storage_class = meta.annotations.get(_BETA_CLASS, spec.storage_class_name or "")
    w.write(0, f"StorageClass:\t{storage_class}\n")
    if meta.deletion_timestamp:
        w.write(0, f"Status:\tTerminating (lasts {since(meta.deletion_timestamp, related.now)})\n")
    else:
        w.write(0, f"Status:\t{status.phase if status else ''}\n")
    w.write(0, f"Volume:\t{spec.volume_name}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    w.write(0, f"Finalizers:\t{go_list(meta.finalizers)}\n")
    capacity = modes = ""
    if spec.volume_name:
        modes = access_modes(status.access_modes if status else ())
        capacity = quantity((status.capacity if status else {}).get("storage"))
    w.write(0, f"Capacity:\t{capacity}\n")
    w.write(0, f"Access Modes:\t{modes}\n")
    if spec.volume_mode is not None:
        w.write(0, f"VolumeMode:\t{spec.volume_mode}\n")
    users = _claim_users(pvc, related.pods)
    w.write(0, "Used By:\t")
    if not users:
        w.line("<none>")
    for index, name in enumerate(users):
        w.write(0, f"\t{name}\n" if index else f"{name}\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_persistent_volume(pv: PersistentVolume, related: Related) -> str:
    """`describePersistentVolume`."""
    meta, spec = pv.metadata, pv.spec
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    w.write(0, f"Finalizers:\t{go_list(meta.finalizers)}\n")
    w.write(0, f"StorageClass:\t{meta.annotations.get(_BETA_CLASS, spec.storage_class_name)}\n")
    if meta.deletion_timestamp:
        w.write(0, f"Status:\tTerminating (lasts {since(meta.deletion_timestamp, related.now)})\n")
    else:
        w.write(0, f"Status:\t{pv.status.phase if pv.status else ''}\n")
    claim = spec.claim_ref
    w.write(0, f"Claim:\t{f'{claim.namespace}/{claim.name}' if claim else ''}\n")
    w.write(0, f"Reclaim Policy:\t{spec.persistent_volume_reclaim_policy}\n")
    w.write(0, f"Access Modes:\t{access_modes(spec.access_modes)}\n")
    if spec.volume_mode is not None:
        w.write(0, f"VolumeMode:\t{spec.volume_mode}\n")
    w.write(0, f"Capacity:\t{quantity(spec.capacity.get('storage'))}\n")
    w.write(0, "Node Affinity:\t")
    w.line("<none>")
    w.write(0, f"Message:\t{pv.status.message if pv.status else ''}\n")
    w.write(0, "Source:\n")
    if spec.host_path is not None:
        w.write(
            2,
            "Type:\tHostPath (bare host directory volume)\n"
            f"    Path:\t{spec.host_path.path}\n"
            f"    HostPathType:\t{spec.host_path.type or '<none>'}\n",
        )
    elif spec.nfs is not None:
        w.write(
            2,
            "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"
            f"    Server:\t{spec.nfs.server}\n"
            f"    Path:\t{spec.nfs.path}\n"
            f"    ReadOnly:\t{'true' if spec.nfs.read_only else 'false'}\n",
        )
    elif spec.local is not None:
        w.write(
            2,
            "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n"
            f"    Path:\t{spec.local.path}\n",
        )
    else:
        w.write(1, "<unknown>\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


# -- Node -------------------------------------------------------------------------------------


def _total(pod: Pod, which: str) -> dict[str, Quantity]:
    """`resourcehelper.PodRequests/PodLimits` without overhead and pod-level resources: the
    containers' sum, raised to any single init container's value."""
    total: dict[str, Quantity] = {}
    for container in pod.spec.containers:
        values = getattr(container.resources, which) if container.resources else {}
        for name, text in values.items():
            try:
                value = Quantity.parse(text)
            except QuantityError:
                continue
            total[name] = total[name] + value if name in total else value
    for container in pod.spec.init_containers:
        values = getattr(container.resources, which) if container.resources else {}
        for name, text in values.items():
            try:
                value = Quantity.parse(text)
            except QuantityError:
                continue
            if name not in total or value > total[name]:
                total[name] = value
    return total


def _fraction(value: Quantity | None, of: Quantity | None, *, milli: bool) -> int:
    if value is None or of is None:
        return 0
    whole = of.milli_value() if milli else of.value()
    if whole == 0:
        return 0
    return int((value.milli_value() if milli else value.value()) / whole * 100)


def _node_pods(w: PrefixWriter, node: Node, pods: Sequence[Pod], now: float) -> None:
    """`describeNodeResource`: cpu and memory of the non-terminated pods on the node."""
    status = node.status
    allocatable = (status.allocatable or status.capacity) if status else {}
    alloc = {name: Quantity.parse(text) for name, text in allocatable.items()}
    zero = Quantity.parse("0")
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    sums: dict[str, dict[str, Quantity]] = {"requests": {}, "limits": {}}
    for pod in pods:
        totals = {which: _total(pod, which) for which in ("requests", "limits")}
        for which, values in totals.items():
            for name, value in values.items():
                bucket = sums[which]
                bucket[name] = bucket[name] + value if name in bucket else value
        cells = []
        for name, milli in (("cpu", True), ("memory", False)):
            for which in ("requests", "limits"):
                value = totals[which].get(name, zero)
                cells.append(f"{value} ({_fraction(value, alloc.get(name), milli=milli)}%)")
        meta = pod.metadata
        age = since(meta.creation_timestamp, now)
        w.write(1, f"{meta.namespace}\t{meta.name}\t\t{cells[0]}\t{cells[1]}\t{cells[2]}\t")
        w.write(0, f"{cells[3]}\t{age}\n")
    w.write(
        0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n"
    )
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    for name, milli in (("cpu", True), ("memory", False), ("ephemeral-storage", False)):
        request = sums["requests"].get(name, zero)
        limit = sums["limits"].get(name, zero)
        w.write(
            1,
            f"{name}\t{request} ({_fraction(request, alloc.get(name), milli=milli)}%)\t"
            f"{limit} ({_fraction(limit, alloc.get(name), milli=milli)}%)\n",
        )


def _resource_list(w: PrefixWriter, title: str, values: Mapping[str, str]) -> None:
    if values:
        w.write(0, f"{title}:\n")
        for name in sorted(values):
            w.write(0, f"  {name}:\t{quantity(values[name])}\n")


def _node_status(w: PrefixWriter, node: Node) -> None:
    """`describeNode`'s Conditions, Addresses, Capacity, Allocatable and System Info."""
    status = node.status
    conditions = status.conditions if status else ()
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\t")
        w.write(0, "Reason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(
                1,
                f"{c.type} \t{c.status} \t{rfc1123z(c.last_heartbeat_time)} \t"
                f"{rfc1123z(c.last_transition_time)} \t{c.reason} \t{c.message}\n",
            )
    w.write(0, "Addresses:\n")
    for address in status.addresses if status else ():
        w.write(1, f"{address.type}:\t{address.address}\n")
    _resource_list(w, "Capacity", status.capacity if status else {})
    _resource_list(w, "Allocatable", status.allocatable if status else {})
    info = status.node_info if status else None
    w.write(0, "System Info:\n")
    for title, value in (
        ("Machine ID", info.machine_id if info else ""),
        ("System UUID", info.system_uuid if info else ""),
        ("Boot ID", info.boot_id if info else ""),
        ("Kernel Version", info.kernel_version if info else ""),
        ("OS Image", info.os_image if info else ""),
        ("Operating System", info.operating_system if info else ""),
        ("Architecture", info.architecture if info else ""),
        ("Container Runtime Version", info.container_runtime_version if info else ""),
        ("Kubelet Version", info.kubelet_version if info else ""),
    ):
        w.write(0, f"  {title}:\t{value}\n")


def describe_node(node: Node, related: Related) -> str:
    """`describeNode`, short: no Lease and no ResourceSlices (cpemu serves neither)."""
    meta, spec = node.metadata, node.spec
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    roles = set()
    for key, value in meta.labels.items():  # `findNodeRoles`
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.removeprefix("node-role.kubernetes.io/"))
        elif key == "kubernetes.io/role":
            roles.add(value)
    roles.discard("")
    w.write(0, f"Roles:\t{','.join(sorted(roles)) or '<none>'}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    taints = sorted(spec.taints if spec else (), key=lambda t: f"{t.effect},{t.key}")
    w.write(0, "Taints:\t")
    if not taints:
        w.line("<none>")
    for index, taint in enumerate(taints):
        value = f"={taint.value}" if taint.value else ""
        if index:
            w.write(0, "\t")
        w.write(0, f"{taint.key}{value}:{taint.effect}\n")
    w.write(0, f"Unschedulable:\t{'true' if spec and spec.unschedulable else 'false'}\n")
    _node_status(w, node)
    if spec is not None and spec.pod_cidr:
        w.write(0, f"PodCIDR:\t{spec.pod_cidr}\n")
    if spec is not None and spec.pod_cidrs:
        w.write(0, f"PodCIDRs:\t{','.join(spec.pod_cidrs)}\n")
    if spec is not None and spec.provider_id:
        w.write(0, f"ProviderID:\t{spec.provider_id}\n")
    on_node = [
        pod
        for pod in related.pods
        if pod.spec.node_name == meta.name
        and (pod.status.phase if pod.status else "") not in ("Succeeded", "Failed")
    ]
    _node_pods(w, node, on_node, related.now)
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


# -- ConfigMap, StorageClass, Namespace -------------------------------------------------------


def describe_config_map(cm: ConfigMap, related: Related) -> str:
    """`ConfigMapDescriber`: each key, a `----` rule and the value; binary data by size."""
    meta = cm.metadata
    w = PrefixWriter()
    name_namespace_labels_annotations(w, meta)
    w.write(0, "\nData\n====\n")
    for key in sorted(cm.data):
        w.write(0, f"{key}:\n----\n")
        w.write(0, f"{cm.data[key]}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    for key in sorted(cm.binary_data):
        size = len(base64.b64decode(cm.binary_data[key]))
        w.write(0, f"{key}: {size} bytes\n")
    w.write(0, "\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_storage_class(sc: StorageClass, related: Related) -> str:
    """`describeStorageClass` (its Annotations line is `FormatLabels`, all of them)."""
    meta = sc.metadata
    default = (
        meta.annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
        or meta.annotations.get("storageclass.beta.kubernetes.io/is-default-class") == "true"
    )
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"IsDefaultClass:\t{'Yes' if default else 'No'}\n")
    w.write(0, f"Annotations:\t{format_labels(meta.annotations)}\n")
    w.write(0, f"Provisioner:\t{sc.provisioner}\n")
    w.write(0, f"Parameters:\t{format_labels(sc.parameters)}\n")
    expansion = sc.allow_volume_expansion
    w.write(
        0,
        "AllowVolumeExpansion:\t"
        f"{'<unset>' if expansion is None else 'True' if expansion else 'False'}\n",
    )
    if not sc.mount_options:
        w.write(0, "MountOptions:\t<none>\n")
    else:
        w.write(0, "MountOptions:\n")
        for option in sc.mount_options:
            w.write(1, f"{option}\n")
    if sc.reclaim_policy is not None:
        w.write(0, f"ReclaimPolicy:\t{sc.reclaim_policy}\n")
    if sc.volume_binding_mode is not None:
        w.write(0, f"VolumeBindingMode:\t{sc.volume_binding_mode}\n")
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


def describe_namespace(ns: Namespace, related: Related) -> str:
    """`describeNamespace`: cpemu has no ResourceQuota or LimitRange, so both read empty."""
    meta = ns.metadata
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.name}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)
    w.write(0, f"Status:\t{ns.status.phase if ns.status else ''}\n")
    w.write(0, "\n")
    w.write(0, "No resource quota.\n")
    w.write(0, "\n")
    w.write(0, "No LimitRange resource.\n")
    return w.text()
