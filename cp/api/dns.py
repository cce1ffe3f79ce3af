"""The cpemu kind `DNSRecordSet` (`dns.cpemu.io/v1`): the cluster DNS records of one Service.

The DNS controller (`controllers.dns`) keeps one `DNSRecordSet` per Service, with the Service's
name and namespace, holding every record CoreDNS's kubernetes plugin would answer for a name
under `<service>.<namespace>.svc.<zone>`. The records are stored as the answers themselves
(resource record sets in zone-file presentation form), so reading the objects at a past
revision tells exactly what each name resolved to then; `controllers.dns.resolver` answers
queries from them.

    apiVersion: dns.cpemu.io/v1
    kind: DNSRecordSet
    metadata: {name: myapp-svc-headless, namespace: default}
    records:
    - name: myapp-svc-headless.default.svc.cluster.local
      type: A
      data: [10.244.1.2, 10.244.2.2]
    - name: _http._tcp.myapp-svc-headless.default.svc.cluster.local
      type: SRV
      data: ["0 50 80 myapp-sts-0.myapp-svc-headless.default.svc.cluster.local.", ...]

A record set's `name` is the owner name, a lower-case fully qualified name without the
trailing dot; `type` is `A`, `AAAA`, `SRV` or `CNAME`; `data` is the rdata of each record in
presentation form, in answer order: an address (`A`/`AAAA`), `priority weight port target.`
(`SRV`) or `target.` (`CNAME`). `zone` is the cluster domain and `ttl` the records' TTL
(CoreDNS's default 5 s). The kind has no spec/status split: like Endpoints it is written
whole by its controller.
"""

from __future__ import annotations

import msgspec

from cp.api.meta import ApiStruct, ObjectMeta

__all__ = ["DEFAULT_TTL", "DEFAULT_ZONE", "DNSRecord", "DNSRecordSet"]

#: The cluster domain (`--cluster-domain` of the kubelet, the CoreDNS kubernetes zone).
DEFAULT_ZONE = "cluster.local"
#: CoreDNS's kubernetes plugin default TTL, in seconds.
DEFAULT_TTL = 5


class DNSRecord(ApiStruct, frozen=True, kw_only=True):
    """One resource record set: owner `name`, `type` and each record's rdata (`data`)."""

    name: str
    type: str
    data: tuple[str, ...] = ()


class DNSRecordSet(ApiStruct, frozen=True, kw_only=True):
    """The DNS records of the Service of the same name and namespace (see the module doc)."""

    api_version: str = msgspec.field(default_factory=lambda: "dns.cpemu.io/v1")
    kind: str = msgspec.field(default_factory=lambda: "DNSRecordSet")
    metadata: ObjectMeta = ObjectMeta()
    zone: str = DEFAULT_ZONE
    ttl: int = DEFAULT_TTL
    records: tuple[DNSRecord, ...] = ()
