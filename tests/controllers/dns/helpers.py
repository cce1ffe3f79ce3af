"""Builders for the DNS tests: Services, Endpoints and record sets made by hand."""

from __future__ import annotations

from collections.abc import Iterable

from cp.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Service,
    ServicePort,
    ServiceSpec,
)
from cp.api.dns import DNSRecord, DNSRecordSet
from cp.api.meta import ObjectMeta

HTTP = ServicePort(name="http", port=80, target_port=8080, protocol="TCP")


def service(
    name: str = "web",
    *,
    namespace: str = "default",
    cluster_ip: str = "10.96.0.10",
    ports: tuple[ServicePort, ...] = (HTTP,),
    type: str = "ClusterIP",
    external_name: str = "",
    resource_version: str = "",
) -> Service:
    return Service(
        metadata=ObjectMeta(
            name=name, namespace=namespace, uid=f"{name}-uid", resource_version=resource_version
        ),
        spec=ServiceSpec(
            ports=ports,
            selector={"app": name},
            cluster_ip=cluster_ip,
            cluster_ips=(cluster_ip,) if cluster_ip and cluster_ip != "None" else (),
            type=type,
            external_name=external_name,
        ),
    )


def headless(name: str = "web", **kw: object) -> Service:
    return service(name, cluster_ip="None", **kw)  # type: ignore[arg-type]


def address(ip: str, hostname: str = "") -> EndpointAddress:
    return EndpointAddress(ip=ip, hostname=hostname, node_name="node-1")


def endpoints(
    name: str = "web",
    ready: Iterable[EndpointAddress] = (),
    *,
    not_ready: Iterable[EndpointAddress] = (),
    ports: tuple[EndpointPort, ...] = (EndpointPort(name="http", port=8080, protocol="TCP"),),
    namespace: str = "default",
    resource_version: str = "",
) -> Endpoints:
    subset = EndpointSubset(
        addresses=tuple(ready), not_ready_addresses=tuple(not_ready), ports=ports
    )
    return Endpoints(
        metadata=ObjectMeta(name=name, namespace=namespace, resource_version=resource_version),
        subsets=(subset,) if subset.addresses or subset.not_ready_addresses else (),
    )


def record_set(
    name: str, *records: tuple[str, str, tuple[str, ...]], namespace: str = "default"
) -> DNSRecordSet:
    return DNSRecordSet(
        metadata=ObjectMeta(name=name, namespace=namespace),
        records=tuple(DNSRecord(name=n, type=t, data=d) for n, t, d in records),
    )
