"""What an Endpoints object holds: the pure part of the Endpoints controller's sync.

Follows upstream `pkg/controller/endpoint/endpoints_controller.go` (`syncService`'s loop,
`podToEndpointAddressForService`, `addEndpointSubset`, `endpointPortFromServicePort`,
`truncateEndpoints`, `capacityAnnotationSetCorrectly`), `pkg/controller/util/endpointslice`
(`ShouldPodBeInEndpoints`, `ShouldSetHostname`), `pkg/api/v1/pod/util.go` (`FindPort`) and
`pkg/api/v1/endpoints/util.go` (`RepackSubsets`, `SortSubsets`, `LessEndpointAddress`).

    subsets = build_subsets(service, pods)    # repacked and sorted
    truncated, over = truncate(subsets)       # at most MAX_CAPACITY addresses

Contract: pure functions of frozen objects; the same input gives the same output (tuples in a
total order), so "nothing changed" is plain equality of the result with the stored subsets.

Difference from upstream: `SortSubsets` orders ports and subsets by an md5 of Go's `spew` dump
(deterministic but meaningless); here ports sort by (name, port, protocol) and subsets by their
first addresses, then ports. Addresses sort as upstream: by IP (string order), then pod uid.

Worked example: Service port `http` (targetPort `web`) and pods a (10.244.1.5, Ready, container
port `web`: 8080) and b (10.244.2.7, not Ready, same port) give one subset:
addresses [10.244.1.5], notReadyAddresses [10.244.2.7], ports [{name: http, port: 8080, TCP}].
A pod without a port named `web` contributes to no subset for that port.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from controllers.common.pods import POD_FAILED, POD_SUCCEEDED, is_pod_ready
from cp.api.core import EndpointAddress, EndpointPort, EndpointSubset, Service, ServicePort
from cp.api.core_pod import Pod
from cp.api.meta import ObjectReference

__all__ = [
    "MAX_CAPACITY",
    "build_subsets",
    "capacity_annotation_set_correctly",
    "count_addresses",
    "find_port",
    "is_service_ip_set",
    "pod_address",
    "repack_subsets",
    "should_pod_be_in_endpoints",
    "should_set_hostname",
    "truncate",
]

#: `maxCapacity`: addresses kept in one Endpoints object.
MAX_CAPACITY: Final = 1000
_NONE: Final = "None"
_NO_PORT: Final = EndpointPort(port=-1)  # RepackSubsets' sentinel for "no ports"

_AddrKey = tuple[str, str]  # (ip, target uid)


def is_service_ip_set(service: Service) -> bool:
    """`helper.IsServiceIPSet`: a clusterIP other than "" and "None"."""
    return service.spec.cluster_ip not in ("", _NONE)


def should_pod_be_in_endpoints(pod: Pod, include_terminating: bool) -> bool:
    """`ShouldPodBeInEndpoints`: not terminal (Succeeded/Failed), has an IP, and not
    terminating unless `include_terminating` (the Service's publishNotReadyAddresses)."""
    status = pod.status
    if status is None or status.phase in (POD_SUCCEEDED, POD_FAILED):
        return False
    if not status.pod_ip and not status.pod_ips:
        return False
    return include_terminating or pod.metadata.deletion_timestamp is None


def should_set_hostname(pod: Pod, service: Service) -> bool:
    """`ShouldSetHostname`: the pod has a hostname, its subdomain is the Service's name, and
    both live in the same namespace."""
    spec = pod.spec
    return (
        spec is not None
        and bool(spec.hostname)
        and spec.subdomain == service.metadata.name
        and pod.metadata.namespace == service.metadata.namespace
    )


def find_port(pod: Pod, port: ServicePort) -> int | None:
    """`FindPort`: a numeric targetPort as is; a named one is the containerPort of that name
    and the Service port's protocol in the pod's containers (then its sidecars: init
    containers with restartPolicy Always). None when the pod has no such port."""
    target = port.target_port
    if target is None:
        return port.port
    if isinstance(target, int):
        return target
    spec = pod.spec
    if spec is None:
        return None
    protocol = port.protocol or "TCP"
    sidecars = (c for c in spec.init_containers if c.restart_policy == "Always")
    for container in (*spec.containers, *sidecars):
        for cport in container.ports:
            if cport.name == target and (cport.protocol or "TCP") == protocol:
                return cport.container_port
    return None


def _family(service: Service) -> str:
    if service.spec.ip_families:
        return service.spec.ip_families[0]
    return "IPv6" if ":" in service.spec.cluster_ip else "IPv4"


def pod_address(service: Service, pod: Pod) -> EndpointAddress | None:
    """`podToEndpointAddressForService`: the pod IP of the Service's family (its first
    `ipFamilies`, else the family of its clusterIP, else IPv4), `nodeName` and `targetRef`;
    `hostname` when `should_set_hostname`. None when the pod has no IP of that family."""
    status = pod.status
    if status is None:
        return None
    want_v6 = _family(service) == "IPv6"
    ips = [p.ip for p in status.pod_ips] or ([status.pod_ip] if status.pod_ip else [])
    ip = next((candidate for candidate in ips if (":" in candidate) == want_v6), "")
    if not ip:
        return None
    meta = pod.metadata
    spec = pod.spec
    return EndpointAddress(
        ip=ip,
        hostname=spec.hostname if spec is not None and should_set_hostname(pod, service) else "",
        node_name=spec.node_name if spec is not None else "",
        target_ref=ObjectReference(
            kind="Pod", namespace=meta.namespace, name=meta.name, uid=meta.uid
        ),
    )


def build_subsets(service: Service, pods: Iterable[Pod]) -> tuple[EndpointSubset, ...]:
    """The loop of `syncService` then `RepackSubsets`: one subset per (pod, port) found, a
    ready pod (or any, with publishNotReadyAddresses) in `addresses`, the others in
    `notReadyAddresses`; a headless Service without ports gets port-less subsets."""
    spec = service.spec
    tolerate = spec.publish_not_ready_addresses
    raw: list[EndpointSubset] = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, tolerate):
            continue
        address = pod_address(service, pod)
        if address is None:
            continue
        ready = tolerate or is_pod_ready(pod)
        if not spec.ports:
            if spec.cluster_ip == _NONE:
                raw.append(_subset(address, (), ready))
            continue
        for sport in spec.ports:
            number = find_port(pod, sport)
            if number is None:
                continue
            eport = EndpointPort(
                name=sport.name,
                port=number,
                protocol=sport.protocol,
                app_protocol=sport.app_protocol,
            )
            raw.append(_subset(address, (eport,), ready))
    return repack_subsets(raw)


def _subset(
    address: EndpointAddress, ports: tuple[EndpointPort, ...], ready: bool
) -> EndpointSubset:
    if ready:
        return EndpointSubset(addresses=(address,), ports=ports)
    return EndpointSubset(not_ready_addresses=(address,), ports=ports)


def _addr_key(address: EndpointAddress) -> _AddrKey:
    ref = address.target_ref
    return (address.ip, ref.uid if ref is not None else "")


def _port_key(port: EndpointPort) -> tuple[str, int, str, str]:
    return (port.name, port.port, port.protocol, port.app_protocol or "")


def repack_subsets(subsets: Sequence[EndpointSubset]) -> tuple[EndpointSubset, ...]:
    """`RepackSubsets`: group the addresses offering the same set of ports into one subset
    (an address is keyed by IP and pod uid; not-ready trumps ready for one port), then sort
    (see the module doc)."""
    all_addrs: dict[_AddrKey, EndpointAddress] = {}
    by_port: dict[EndpointPort, dict[_AddrKey, bool]] = {}

    def add(address: EndpointAddress, port: EndpointPort, ready: bool) -> None:
        key = _addr_key(address)
        all_addrs.setdefault(key, address)
        states = by_port.setdefault(port, {})
        if states.get(key, True):  # not yet seen, or seen ready: not-ready wins
            states[key] = ready

    for subset in subsets:
        for port in subset.ports or (_NO_PORT,):
            for address in subset.addresses:
                add(address, port, True)
            for address in subset.not_ready_addresses:
                add(address, port, False)
    groups: dict[frozenset[tuple[_AddrKey, bool]], list[EndpointPort]] = {}
    for port, states in by_port.items():
        ports = groups.setdefault(frozenset(states.items()), [])
        if port.port > 0:  # the sentinel only forces the group to exist
            ports.append(port)
    final = []
    for members, ports in groups.items():
        ready = sorted(key for key, is_ready in members if is_ready)
        not_ready = sorted(key for key, is_ready in members if not is_ready)
        final.append(
            EndpointSubset(
                addresses=tuple(all_addrs[key] for key in ready),
                not_ready_addresses=tuple(all_addrs[key] for key in not_ready),
                ports=tuple(sorted(ports, key=_port_key)),
            )
        )
    final.sort(key=_subset_key)
    return tuple(final)


def _subset_key(
    subset: EndpointSubset,
) -> tuple[tuple[_AddrKey, ...], tuple[_AddrKey, ...], tuple[tuple[str, int, str, str], ...]]:
    return (
        tuple(map(_addr_key, subset.addresses)),
        tuple(map(_addr_key, subset.not_ready_addresses)),
        tuple(map(_port_key, subset.ports)),
    )


def count_addresses(subsets: Iterable[EndpointSubset]) -> int:
    """Ready plus not-ready addresses over all subsets."""
    return sum(len(s.addresses) + len(s.not_ready_addresses) for s in subsets)


def capacity_annotation_set_correctly(
    annotations: Mapping[str, str] | None, subsets: Sequence[EndpointSubset], annotation: str
) -> bool:
    """`capacityAnnotationSetCorrectly`: false when over capacity (must be truncated), else
    true only when the over-capacity annotation is absent."""
    if count_addresses(subsets) > MAX_CAPACITY:
        return False
    return annotation not in (annotations or {})


def truncate(subsets: Sequence[EndpointSubset]) -> tuple[tuple[EndpointSubset, ...], bool]:
    """`truncateEndpoints`: (the subsets cut to MAX_CAPACITY addresses, whether it cut).
    Not-ready addresses go first; when the ready ones alone exceed the capacity, every
    not-ready one goes and each subset keeps a share of ready ones rounded up, in order."""
    ready = sum(len(s.addresses) for s in subsets)
    not_ready = sum(len(s.not_ready_addresses) for s in subsets)
    if ready + not_ready <= MAX_CAPACITY:
        return tuple(subsets), False
    cut_ready = ready > MAX_CAPACITY
    limit = MAX_CAPACITY if cut_ready else MAX_CAPACITY - ready
    total = ready if cut_ready else not_ready
    room = limit
    out = []
    for subset in subsets:
        size = len(subset.addresses) if cut_ready else len(subset.not_ready_addresses)
        take = min(math.ceil(size / total * limit), room)
        if cut_ready:
            kept = EndpointSubset(addresses=subset.addresses[:take], ports=subset.ports)
            room -= len(kept.addresses)
        else:
            kept = EndpointSubset(
                addresses=subset.addresses,
                not_ready_addresses=subset.not_ready_addresses[:take],
                ports=subset.ports,
            )
            room -= len(kept.not_ready_addresses)
        out.append(kept)
    return tuple(out), True
