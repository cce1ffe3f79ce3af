"""The records of one Service: what CoreDNS's kubernetes plugin answers under its name.

`build_records(service, endpoints, zone)` is pure: it returns the resource record sets (sorted
by owner name, then type) that CoreDNS would answer for every name under
`<svc>.<ns>.svc.<zone>`, following the plugin's query path (`plugin/kubernetes/kubernetes.go`
`findServices`, `endpointHostname`; `plugin/backend_lookup.go` `A`, `AAAA`, `SRV`) and the
Kubernetes DNS specification (`kubernetes/dns` `docs/specification.md`, 2.3 and 2.4). The
Service's own name comes first, then the longer names, each sorted:

- ExternalName: a `CNAME` of `<svc>.<ns>.svc.<zone>` to `spec.externalName` (none when the
  external name is an IP address, as CoreDNS answers nothing then). No other name.
- A Service with a cluster IP: `A`/`AAAA` of the name = its cluster IPs, whether or not any
  endpoint is ready, as long as it has a port (CoreDNS iterates the ports); `SRV` of the name
  = one record per port, target the Service's name; `_<port>._<proto>.<name>` for each named
  port (`A` = cluster IPs, `SRV` = that port).
  A Service whose cluster IP is not allocated yet ("") has none of these (CoreDNS: NODATA).
- A headless Service (cluster IP `None`): `A`/`AAAA` of the name = the ready endpoint IPs
  (`subsets[].addresses`, deduplicated; none: the name does not exist, NXDOMAIN); `SRV` = one
  record per (ready address x port), target `<endpoint>.<name>`; `_<port>._<proto>.<name>`
  the same restricted to that named port.
- Any non-ExternalName Service (CoreDNS's "endpoint query", which is not restricted to headless
  Services): `<endpoint>.<name>` for each ready address, `<endpoint>` being the address's
  `hostname` (set by the Endpoints controller only for pods whose `subdomain` is the Service's
  name), else its IP with dashes (`10-244-1-2`); `A` = the IPs of the addresses of that name,
  `SRV` = their ports.

- `PTR` (reverse zones `in-addr.arpa`/`ip6.arpa`, served by kubeadm's Corefile), listed last:
  each cluster IP to the Service's name, each ready endpoint address to its endpoint name
  (`reverse.go` `serviceRecordForIP`; the resolver prefers a cluster IP's over endpoints' across
  Services, as CoreDNS does).

SRV weights are CoreDNS's: every answer has priority 0 and weight `floor(100 / n)` for the `n`
candidate records of the queried name (`0 50 80 ...` for two pods, `0 33 ...` for three); a
subset without ports contributes an address-only candidate (CoreDNS's port -1 sentinel) that
counts towards `n` but gives no SRV record. Duplicate (target, port) SRV records and duplicate
addresses are dropped, as CoreDNS does. Records keep the Endpoints' order (subsets, then
addresses, then ports); CoreDNS's `loadbalance` plugin would shuffle them per answer.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from cp.api.core import Endpoints, Service
from cp.api.dns import DEFAULT_ZONE, DNSRecord

__all__ = [
    "TYPE_ORDER",
    "build_records",
    "dashed_ip",
    "reverse_name",
    "service_fqdn",
    "srv_weight",
]

#: The record types a record set holds, in the order they are listed per owner name.
TYPE_ORDER: Final = ("A", "AAAA", "CNAME", "SRV", "PTR")
_NONE: Final = "None"


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One `msg.Service` of CoreDNS's `findServices`: an address, a port and its target name."""

    ip: str
    port: int  # -1: CoreDNS's sentinel for a subset without ports (address records only)
    port_name: str
    protocol: str
    target: str  # the owner name the SRV record points at (the service or endpoint name)
    endpoint: str  # the endpoint label ("" for a cluster IP)


def service_fqdn(name: str, namespace: str, zone: str = DEFAULT_ZONE) -> str:
    """`<name>.<namespace>.svc.<zone>`, lower-case, without the trailing dot."""
    return f"{name}.{namespace}.svc.{zone}".lower()


def dashed_ip(ip: str) -> str:
    """CoreDNS's `endpointHostname` for an address without a hostname: dots (IPv4) or colons
    (IPv6) replaced by dashes."""
    if "." in ip:
        return ip.replace(".", "-")
    return ip.replace(":", "-")


def srv_weight(candidates: int) -> int:
    """`plugin.SRV`'s weight for each of `candidates` records of priority 0 and no weight of
    their own: `floor(100.0 / (100 * n) * 100)` (100 for one, 50 for two, 33 for three)."""
    return math.floor(100.0 / float(100 * candidates) * 100)


def reverse_name(ip: str) -> str:
    """The PTR owner name of an address (`2.1.244.10.in-addr.arpa`, nibbles under
    `ip6.arpa`), without the trailing dot."""
    return ipaddress.ip_address(ip).reverse_pointer


def _pointers(candidates: Iterable[_Candidate]) -> list[DNSRecord]:
    """`serviceRecordForIP`'s answers, one PTR set per address: to the Service's name for a
    cluster IP, to `<endpoint>.<svc>...` for a ready endpoint address."""
    targets: dict[str, list[str]] = {}
    for c in candidates:
        found = targets.setdefault(reverse_name(c.ip), [])
        if f"{c.target}." not in found:
            found.append(f"{c.target}.")
    return [DNSRecord(name=owner, type="PTR", data=tuple(data)) for owner, data in targets.items()]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _protocol(protocol: str) -> str:
    return (protocol or "TCP").lower()


def _cluster_candidates(service: Service, base: str) -> list[_Candidate]:
    spec = service.spec
    ips = spec.cluster_ips or (spec.cluster_ip,)
    return [
        _Candidate(ip, port.port, port.name, _protocol(port.protocol), base, "")
        for port in spec.ports
        for ip in ips
        if ip and ip != _NONE
    ]


def _endpoint_candidates(endpoints: Endpoints | None, base: str) -> list[_Candidate]:
    if endpoints is None:
        return []
    found: list[_Candidate] = []
    for subset in endpoints.subsets:
        for address in subset.addresses:
            label = (address.hostname or dashed_ip(address.ip)).lower()
            target = f"{label}.{base}"
            if not subset.ports:
                found.append(_Candidate(address.ip, -1, "", "", target, label))
            found.extend(
                _Candidate(address.ip, p.port, p.name, _protocol(p.protocol), target, label)
                for p in subset.ports
            )
    return found


def _answers(owner: str, candidates: list[_Candidate]) -> list[DNSRecord]:
    """The A, AAAA and SRV record sets CoreDNS answers for a name with these candidates."""
    v4: dict[str, None] = {}  # insertion-ordered sets: first occurrence wins, O(1) membership
    v6: dict[str, None] = {}
    for c in candidates:
        (v6 if ":" in c.ip else v4)[c.ip] = None
    weight = srv_weight(len(candidates))
    srv: list[str] = []
    seen: set[tuple[str, int]] = set()
    for c in candidates:
        if c.port == -1 or (c.target, c.port) in seen:
            continue
        seen.add((c.target, c.port))
        srv.append(f"0 {weight} {c.port} {c.target}.")
    typed = (("A", v4), ("AAAA", v6), ("SRV", srv))
    return [DNSRecord(name=owner, type=kind, data=tuple(data)) for kind, data in typed if data]


def _group(
    candidates: Iterable[_Candidate], key: Callable[[_Candidate], str]
) -> dict[str, list[_Candidate]]:
    groups: dict[str, list[_Candidate]] = {}
    for c in candidates:
        label = key(c)
        if label:
            groups.setdefault(label, []).append(c)
    return groups


def build_records(
    service: Service, endpoints: Endpoints | None, zone: str = DEFAULT_ZONE
) -> tuple[DNSRecord, ...]:
    """The record sets of `service` (with its Endpoints, if any) in `zone` (see module doc)."""
    meta = service.metadata
    spec = service.spec
    base = service_fqdn(meta.name, meta.namespace, zone)
    if spec.type == "ExternalName":
        target = spec.external_name.rstrip(".")
        if not target or _is_ip(target):
            return ()
        return (DNSRecord(name=base, type="CNAME", data=(f"{target.lower()}.",)),)
    headless = spec.cluster_ip == _NONE  # CoreDNS `Headless()`; "" is a ClusterIP not set yet
    ready = _endpoint_candidates(endpoints, base)
    main = ready if headless else _cluster_candidates(service, base)
    records: list[DNSRecord] = []
    if main:
        records += _answers(base, main)
    by_port = _group(main, lambda c: f"_{c.port_name}._{c.protocol}" if c.port_name else "")
    for label, group in by_port.items():
        records += _answers(f"{label.lower()}.{base}", group)
    for label, group in _group(ready, lambda c: c.endpoint).items():
        records += _answers(f"{label}.{base}", group)
    records += _pointers(main if not headless else ())
    records += _pointers(ready)
    order = {kind: i for i, kind in enumerate(TYPE_ORDER)}
    records.sort(
        key=lambda r: (r.type == "PTR", r.name.count("."), r.name, order.get(r.type, len(order)))
    )
    return tuple(records)
