"""Cluster DNS: the DNS controller, its records and the resolver (a cpemu addition).

    dnc = DNSController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dnc.controller)          # name "dns", actor "controller/dns"
    resolver = Resolver.from_informers(informers)
    print("\\n".join(host_lines(resolver, "myapp-svc-headless")))

- `records.py`: the pure part, the record sets CoreDNS's kubernetes plugin answers for one
  Service and its Endpoints;
- `controller.py`: keeps one `DNSRecordSet` (`dns.cpemu.io/v1`) per Service equal to them;
- `resolver.py`: answers queries from the record sets (search path, NXDOMAIN/NODATA, pod
  names) and formats them as the `host` command prints them.
"""

from controllers.dns.controller import DEFAULT_WORKERS, DNS_NAME, DNSController
from controllers.dns.records import (
    TYPE_ORDER,
    build_records,
    dashed_ip,
    reverse_name,
    service_fqdn,
    srv_weight,
)
from controllers.dns.resolver import (
    BUILTIN_NAMESPACES,
    NDOTS,
    NOERROR,
    NXDOMAIN,
    QTYPES,
    Answer,
    ListerSource,
    Record,
    RecordSource,
    Resolver,
    SnapshotSource,
    format_host,
    host_lines,
)

__all__ = [
    "BUILTIN_NAMESPACES",
    "DEFAULT_WORKERS",
    "DNS_NAME",
    "NDOTS",
    "NOERROR",
    "NXDOMAIN",
    "QTYPES",
    "TYPE_ORDER",
    "Answer",
    "DNSController",
    "ListerSource",
    "Record",
    "RecordSource",
    "Resolver",
    "SnapshotSource",
    "build_records",
    "dashed_ip",
    "format_host",
    "host_lines",
    "reverse_name",
    "service_fqdn",
    "srv_weight",
]
