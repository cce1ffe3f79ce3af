"""The cluster resolver: answers names as CoreDNS's kubernetes plugin does, from DNSRecordSets.

    resolver = Resolver.from_informers(plane.informers)         # live, from the caches
    resolver = Resolver.from_objects(objects_read_at_revision)  # replay: a past revision
    answer = resolver.resolve("myapp-sts-0.myapp-svc-headless", "A", namespace="default")
    print("\\n".join(format_host(answer)))
    # myapp-sts-0.myapp-svc-headless.default.svc.cluster.local has address 10.244.1.2

Sources: CoreDNS `plugin/kubernetes/README.md`, `parse.go` (`parseRequest`), `kubernetes.go`
(`Records`, `findPods`, `findServices`), `handler.go` (NXDOMAIN vs NODATA),
`plugin/backend_lookup.go` (`A`, `SRV`); `kubernetes/dns` `docs/specification.md`; resolv.conf(5)
and bind9's `host` for the search path and the output lines.

`resolve(name, qtype, namespace)` is a query from a pod of `namespace` (dnsPolicy ClusterFirst):
its resolv.conf is `search <ns>.svc.<zone> svc.<zone> <zone>` with `options ndots:5`, so a
name with fewer than 5 dots is tried with each search suffix in order and then as given; one
with 5 or more dots (or ending in a dot: absolute) is tried as given first (and then, unless
absolute, with the suffixes). The first candidate that is not NXDOMAIN answers (bind's `host`
stops there, even on an empty NOERROR answer); when every candidate is NXDOMAIN the answer is
NXDOMAIN for the name as typed (`Host mtdb-0.mydb not found: 3(NXDOMAIN)`).

One fully qualified name is answered as the plugin does (`_lookup`):

- outside the zone: NXDOMAIN (upstream forwarding is not emulated);
- the zone, `svc.<zone>`, `pod.<zone>`: NOERROR without records (NODATA); any other second
  label than `svc`/`pod`: NXDOMAIN;
- `<ns>.svc|pod.<zone>`: NODATA when the namespace exists, else NXDOMAIN; a name in a namespace
  that does not exist is NXDOMAIN. A namespace exists if a Namespace object of that name is
  known, it is one of the four a cluster always has (`default`, `kube-system`, `kube-public`,
  `kube-node-lease`), or a DNSRecordSet lives in it (a Service there implies the namespace);
- `<svc>.<ns>.svc.<zone>` and the longer names under it (`<endpoint>.<svc>...`,
  `_<port>._<proto>.<svc>...`; two extra labels are a port and protocol even without
  underscores, as in `parseRequest`; more than two: NXDOMAIN): the record set of that name and
  type from the Service's DNSRecordSet (see `controllers.dns.records`); the name absent from it
  (or no DNSRecordSet): NXDOMAIN; present with other types only: NODATA. An A/AAAA query of
  a CNAME (ExternalName) answers the CNAME, followed inside the zone (CoreDNS follows it to
  in-cluster targets; targets outside the cluster are not resolved here);
- `<a-b-c-d>.<ns>.pod.<zone>` (`pods insecure`, kubeadm's Corefile, the default here): the IP
  spelled by the label (dashes for dots; a label with other than three single dashes is an
  IPv6 address with dashes for colons), whether or not a pod has it, once the namespace
  exists; a label that is no IP: NXDOMAIN. `pods="disabled"` (the plugin's own default) makes
  every pod name NXDOMAIN;
- `<reversed IP>.in-addr.arpa` / `.ip6.arpa` PTR (kubeadm's Corefile serves both reverse
  zones): the Service whose cluster IP it is, else every ready endpoint with that address
  (`reverse.go`); any other type or an unknown address: NXDOMAIN.

Names are case-insensitive; answers carry the owner name as the query spelled it.
Not emulated: upstream forwarding, wildcard queries, `endpoint_pod_names`, multicluster,
`pods verified`, the `loadbalance` plugin's shuffling (answers keep the Endpoints' order).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from cp.api.core import Namespace
from cp.api.dns import DEFAULT_TTL, DEFAULT_ZONE, DNSRecord, DNSRecordSet
from cp.api.meta import ApiStruct
from cp.informer import Lister, SharedInformerFactory

__all__ = [
    "BUILTIN_NAMESPACES",
    "NDOTS",
    "NOERROR",
    "NXDOMAIN",
    "QTYPES",
    "Answer",
    "ListerSource",
    "Record",
    "RecordSource",
    "Resolver",
    "SnapshotSource",
    "format_host",
    "host_lines",
]

NOERROR: Final = "NOERROR"
NXDOMAIN: Final = "NXDOMAIN"
#: The query types answered (others raise ValueError).
QTYPES: Final = ("A", "AAAA", "CNAME", "PTR", "SRV")
#: A pod's resolv.conf `options ndots:5` (kubelet's ClusterFirst policy).
NDOTS: Final = 5
#: The namespaces every cluster has, even when no Namespace object was recorded for them.
BUILTIN_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
_MAX_CNAME_CHAIN: Final = 8  # CoreDNS stops following after 8 CNAMEs

PodMode = Literal["insecure", "disabled"]


@dataclass(frozen=True, slots=True)
class Record:
    """One answer record: owner `name` (no trailing dot), `type`, `ttl` and the rdata `data`
    in presentation form (`10.244.1.2`, `0 50 80 web-0.web.default.svc.cluster.local.`)."""

    name: str
    type: str
    ttl: int
    data: str

    @property
    def address(self) -> str:
        """The address of an A/AAAA record ("" otherwise)."""
        return self.data if self.type in ("A", "AAAA") else ""

    @property
    def target(self) -> str:
        """The target (with its trailing dot) of a SRV, CNAME or PTR record ("" otherwise)."""
        if self.type == "SRV":
            return self.data.split()[3]
        return self.data if self.type in ("CNAME", "PTR") else ""

    @property
    def srv(self) -> tuple[int, int, int, str]:
        """(priority, weight, port, target) of a SRV record; ValueError for other types."""
        if self.type != "SRV":
            raise ValueError(f"a {self.type} record has no SRV fields")
        priority, weight, port, target = self.data.split()
        return int(priority), int(weight), int(port), target


@dataclass(frozen=True, slots=True)
class Answer:
    """What one query got: `rcode` NOERROR or NXDOMAIN; `name` is the candidate that answered
    (the query as typed, without a trailing dot, for NXDOMAIN); `records` is empty for NODATA;
    `tried` lists the fully qualified names asked, in order."""

    query: str
    qtype: str
    namespace: str
    rcode: str
    name: str
    records: tuple[Record, ...]
    tried: tuple[str, ...]

    @property
    def nxdomain(self) -> bool:
        return self.rcode == NXDOMAIN

    @property
    def addresses(self) -> tuple[str, ...]:
        """The A/AAAA addresses of the answer, in order."""
        return tuple(r.address for r in self.records if r.address)


class RecordSource(Protocol):
    """Where a resolver reads the records: the DNSRecordSet of a Service, and which namespaces
    exist."""

    def record_set(self, namespace: str, name: str) -> DNSRecordSet | None: ...

    def record_sets(self) -> Iterable[DNSRecordSet]:
        """Every record set, by namespace then name (reverse lookups scan them)."""
        ...

    def namespace_exists(self, namespace: str) -> bool: ...


class SnapshotSource:
    """A fixed set of objects (e.g. listed at a past revision): DNSRecordSets and Namespaces
    are used, anything else is ignored."""

    __slots__ = ("_namespaces", "_sets")

    def __init__(self, objects: Iterable[ApiStruct]) -> None:
        self._sets: dict[tuple[str, str], DNSRecordSet] = {}
        self._namespaces: set[str] = set(BUILTIN_NAMESPACES)
        for obj in objects:
            if isinstance(obj, DNSRecordSet):
                meta = obj.metadata
                self._sets[(meta.namespace, meta.name)] = obj
                self._namespaces.add(meta.namespace)
            elif isinstance(obj, Namespace):
                self._namespaces.add(obj.metadata.name)

    def record_set(self, namespace: str, name: str) -> DNSRecordSet | None:
        return self._sets.get((namespace, name))

    def record_sets(self) -> Iterable[DNSRecordSet]:
        return [self._sets[key] for key in sorted(self._sets)]

    def namespace_exists(self, namespace: str) -> bool:
        return namespace in self._namespaces


class ListerSource:
    """Live records: the informer caches of DNSRecordSets and (optionally) Namespaces."""

    __slots__ = ("_namespaces", "_records")

    def __init__(
        self, records: Lister[DNSRecordSet], namespaces: Lister[Namespace] | None = None
    ) -> None:
        self._records = records
        self._namespaces = namespaces

    def record_set(self, namespace: str, name: str) -> DNSRecordSet | None:
        return self._records.get(namespace, name)

    def record_sets(self) -> Iterable[DNSRecordSet]:
        return sorted(self._records.list(), key=lambda r: (r.metadata.namespace, r.metadata.name))

    def namespace_exists(self, namespace: str) -> bool:
        if namespace in BUILTIN_NAMESPACES:
            return True
        if self._namespaces is not None and self._namespaces.get("", namespace) is not None:
            return True
        return bool(self._records.list(namespace))


_Result = tuple[str, tuple[tuple[str, str, int, str], ...]]  # rcode, (owner, type, ttl, data)


def _pod_ip(label: str) -> str | None:
    """`findPods`: `a-b-c-d` is IPv4; anything else with dashes for colons is IPv6."""
    if label.count("-") == 3 and "--" not in label:
        text = label.replace("-", ".")
    else:
        text = label.replace("-", ":")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class Resolver:
    """Answers queries from a `RecordSource` (see the module doc)."""

    __slots__ = ("_indexes", "_ndots", "_pods", "_source", "_zone")

    def __init__(
        self,
        source: RecordSource,
        *,
        zone: str = DEFAULT_ZONE,
        pods: PodMode = "insecure",
        ndots: int = NDOTS,
    ) -> None:
        if pods not in ("insecure", "disabled"):
            raise ValueError(f"pods must be 'insecure' or 'disabled', not {pods!r}")
        self._source = source
        self._zone = zone.strip(".").lower()
        self._pods = pods
        self._ndots = ndots
        # each record set's records by owner name, rebuilt when the set object changes
        self._indexes: dict[tuple[str, str], tuple[DNSRecordSet, dict[str, list[DNSRecord]]]] = {}

    @classmethod
    def from_objects(cls, objects: Iterable[ApiStruct], *, zone: str = DEFAULT_ZONE) -> Resolver:
        """A resolver over fixed objects (DNSRecordSets and Namespaces; others are ignored)."""
        return cls(SnapshotSource(objects), zone=zone)

    @classmethod
    def from_informers(
        cls, informers: SharedInformerFactory, *, zone: str = DEFAULT_ZONE
    ) -> Resolver:
        """A live resolver over the factory's DNSRecordSet and Namespace caches (made and, on
        a running factory, started if they do not exist yet)."""
        records = informers.informer_for("DNSRecordSet").lister(DNSRecordSet)
        namespaces = informers.informer_for("Namespace").lister(Namespace)
        return cls(ListerSource(records, namespaces), zone=zone)

    @property
    def zone(self) -> str:
        return self._zone

    @property
    def source(self) -> RecordSource:
        return self._source

    def search_path(self, namespace: str) -> tuple[str, ...]:
        """The `search` line of a pod's resolv.conf in `namespace`."""
        zone = self._zone
        return (f"{namespace}.svc.{zone}", f"svc.{zone}", zone)

    def candidates(self, name: str, namespace: str = "default") -> tuple[str, ...]:
        """The fully qualified names (no trailing dot) a pod's resolver tries, in order."""
        if name.endswith("."):
            return (name[:-1],)
        expanded = tuple(f"{name}.{suffix}" for suffix in self.search_path(namespace))
        if name.count(".") >= self._ndots:
            return (name, *expanded)
        return (*expanded, name)

    def resolve(self, name: str, qtype: str = "A", namespace: str = "default") -> Answer:
        """Resolve `name` for a pod of `namespace` (search path, then the first answer that is
        not NXDOMAIN). ValueError for an empty name or a type not in `QTYPES`."""
        qtype = qtype.upper()
        if qtype not in QTYPES:
            raise ValueError(f"unsupported query type {qtype!r} (one of {', '.join(QTYPES)})")
        if not name.strip(".") or ".." in name:
            raise ValueError(f"{name!r} is not a domain name")
        tried = self.candidates(name, namespace)
        for i, candidate in enumerate(tried):
            rcode, found = self._lookup(candidate, qtype)
            if rcode != NXDOMAIN:
                records = tuple(Record(*row) for row in found)
                return Answer(name, qtype, namespace, rcode, candidate, records, tried[: i + 1])
        return Answer(name, qtype, namespace, NXDOMAIN, name.rstrip("."), (), tried)

    def lookup(self, fqdn: str, qtype: str = "A") -> Answer:
        """One fully qualified name, no search path."""
        return self.resolve(fqdn if fqdn.endswith(".") else f"{fqdn}.", qtype)

    # -- one name -----------------------------------------------------------------------------

    def _lookup(self, fqdn: str, qtype: str, chain: int = 0) -> _Result:
        lowered = fqdn.lower()
        if lowered.endswith((".in-addr.arpa", ".ip6.arpa")):
            return self._reverse(fqdn, lowered, qtype)
        zone = self._zone
        if lowered == zone:
            return NOERROR, ()
        if not lowered.endswith(f".{zone}"):
            return NXDOMAIN, ()
        labels = lowered[: -len(zone) - 1].split(".")
        kind = labels[-1]
        if kind not in ("svc", "pod"):
            return NXDOMAIN, ()
        if len(labels) == 1:
            return NOERROR, ()
        if not self._source.namespace_exists(labels[-2]):
            return NXDOMAIN, ()
        if len(labels) == 2:
            return NOERROR, ()
        if len(labels) > 5:
            return NXDOMAIN, ()
        if kind == "pod":
            return self._pod(fqdn, labels, qtype)
        record_set = self._source.record_set(labels[-2], labels[-3])
        if record_set is None:
            return NXDOMAIN, ()
        if len(labels) == 5:  # `_port._proto`: parseRequest strips one leading underscore
            labels[:2] = [f"_{label.removeprefix('_')}" for label in labels[:2]]
        owner = f"{'.'.join(labels)}.{zone}"
        found = self._by_name(record_set).get(owner, ())
        if not found:
            return NXDOMAIN, ()
        ttl = record_set.ttl or DEFAULT_TTL
        wanted = [r for r in found if r.type == qtype]
        if not wanted and qtype in ("A", "AAAA"):
            wanted = [r for r in found if r.type == "CNAME"]
        rows = tuple((fqdn, r.type, ttl, data) for r in wanted for data in r.data)
        if rows and rows[0][1] == "CNAME" and qtype != "CNAME":
            rows += self._follow(rows[0][3], qtype, chain)
        return NOERROR, rows

    def _by_name(self, record_set: DNSRecordSet) -> dict[str, list[DNSRecord]]:
        """The set's records by owner name: a query costs O(its answer), not O(the set)."""
        key = (record_set.metadata.namespace, record_set.metadata.name)
        cached = self._indexes.get(key)
        if cached is not None and cached[0] is record_set:
            return cached[1]
        index: dict[str, list[DNSRecord]] = {}
        for record in record_set.records:
            index.setdefault(record.name, []).append(record)
        self._indexes[key] = (record_set, index)
        return index

    def _follow(self, target: str, qtype: str, chain: int) -> tuple[tuple[str, str, int, str], ...]:
        """The records of an in-zone CNAME target (CoreDNS adds them when there are some)."""
        name = target.rstrip(".")
        if chain >= _MAX_CNAME_CHAIN or not name.lower().endswith(f".{self._zone}"):
            return ()
        rcode, rows = self._lookup(name, qtype, chain + 1)
        return rows if rcode == NOERROR else ()

    def _reverse(self, fqdn: str, lowered: str, qtype: str) -> _Result:
        """`Reverse`/`serviceRecordForIP`: a Service whose cluster IP it is (the first, by
        namespace and name), else every ready endpoint address with that IP. Any other type
        than PTR, or no such address: NXDOMAIN (kubeadm's Corefile falls through upstream)."""
        if qtype != "PTR":
            return NXDOMAIN, ()
        endpoint_targets: list[tuple[str, int]] = []
        for record_set in self._source.record_sets():
            meta = record_set.metadata
            base = f"{meta.name}.{meta.namespace}.svc.{self._zone}."
            ttl = record_set.ttl or DEFAULT_TTL
            for record in record_set.records:
                if record.type != "PTR" or record.name != lowered:
                    continue
                if base in record.data:
                    return NOERROR, ((fqdn, "PTR", ttl, base),)
                endpoint_targets += [(target, ttl) for target in record.data]
        if not endpoint_targets:
            return NXDOMAIN, ()
        return NOERROR, tuple((fqdn, "PTR", ttl, target) for target, ttl in endpoint_targets)

    def _pod(self, fqdn: str, labels: list[str], qtype: str) -> _Result:
        if self._pods == "disabled":
            return NXDOMAIN, ()
        ip = _pod_ip(labels[-3])
        if ip is None:
            return NXDOMAIN, ()
        six = ":" in ip
        if (qtype == "A" and not six) or (qtype == "AAAA" and six):
            return NOERROR, ((fqdn, qtype, DEFAULT_TTL, ip),)
        if qtype == "SRV":  # CoreDNS names the address after the pod label, port 0
            target = f"{'.'.join(labels[-3:])}.{self._zone}."
            return NOERROR, ((fqdn, "SRV", DEFAULT_TTL, f"0 100 0 {target}"),)
        return NOERROR, ()


# -- `host` ---------------------------------------------------------------------------------

_HOST_FORMS: Final[dict[str, Callable[[Record], str]]] = {
    "A": lambda r: f"{r.name} has address {r.data}",
    "AAAA": lambda r: f"{r.name} has IPv6 address {r.data}",
    "CNAME": lambda r: f"{r.name} is an alias for {r.data}",
    "PTR": lambda r: f"{r.name} domain name pointer {r.data}",
    "SRV": lambda r: f"{r.name} has SRV record {r.data}",
}


def format_host(answer: Answer) -> tuple[str, ...]:
    """The lines `host -t <qtype> <name>` prints for `answer`: one per record, `Host <name> not
    found: 3(NXDOMAIN)`, or `<fqdn> has no <type> record` for an empty answer."""
    if answer.nxdomain:
        return (f"Host {answer.query} not found: 3(NXDOMAIN)",)
    if not answer.records:
        return (f"{answer.name} has no {answer.qtype} record",)
    return tuple(_HOST_FORMS[r.type](r) for r in answer.records)


def host_lines(
    resolver: Resolver, name: str, qtype: str | None = None, namespace: str = "default"
) -> tuple[str, ...]:
    """What `host [-t qtype] name` prints in a pod of `namespace`. An IP address is looked up
    as a PTR of its reverse name, whatever the type (`host 10.244.1.2`). Without a type, `host`
    asks A, then AAAA (and MX, which the cluster zone never has) and prints only the records
    found (a repeated alias line once); NXDOMAIN of the A query is the only line then."""
    try:
        reverse = ipaddress.ip_address(name).reverse_pointer
    except ValueError:
        pass
    else:
        return format_host(resolver.resolve(f"{reverse}.", "PTR", namespace))
    if qtype is not None:
        return format_host(resolver.resolve(name, qtype, namespace))
    first = resolver.resolve(name, "A", namespace)
    if first.nxdomain:
        return format_host(first)
    lines: list[str] = []
    for answer in (first, resolver.resolve(name, "AAAA", namespace)):
        for line in format_host(answer) if answer.records else ():
            if line not in lines:
                lines.append(line)
    return tuple(lines)
