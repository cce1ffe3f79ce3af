"""The DNS half of `bench.stateful`: the query mix over a StatefulSet's names, the answer
check and the answers/s measurement (see `bench/stateful.py` for the whole benchmark)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Final

from controllers.dns import Answer, Resolver
from cp.api.dns import DEFAULT_ZONE, DNSRecordSet
from cp.api.meta import ApiStruct
from cp.plane import ControlPlane

NAMESPACE: Final = "default"
NAME: Final = "web"  # the StatefulSet and its headless Service
PORT_NAME: Final = "http"
PORT: Final = 80
QUERIES: Final = 10_000
ROUNDS: Final = 3

#: The query forms of the DNS mix and their shares of it (see the module doc).
FORMS: Final = (
    ("pod_short", 0.4),
    ("pod_fqdn", 0.3),
    ("service", 0.1),
    ("srv", 0.1),
    ("nxdomain", 0.1),
)


def fqdn(name: str) -> str:
    return f"{name}.{NAMESPACE}.svc.{DEFAULT_ZONE}"


def pod_fqdn(ordinal: int) -> str:
    return fqdn(f"{NAME}-{ordinal}.{NAME}")


@dataclass(frozen=True)
class Query:
    form: str
    name: str
    qtype: str
    ordinal: int  # the pod (pod_* forms), else -1


def queries(replicas: int, total: int = QUERIES) -> list[Query]:
    """The mix (see the module doc): each form's share of `total`, interleaved evenly."""
    by_form: dict[str, list[Query]] = {}
    for form, share in FORMS:
        count = round(total * share)
        made: list[Query] = []
        for j in range(count):
            i = j % replicas
            if form == "pod_short":
                made.append(Query(form, f"{NAME}-{i}.{NAME}", "A", i))
            elif form == "pod_fqdn":
                made.append(Query(form, pod_fqdn(i), "A", i))
            elif form == "service":
                made.append(Query(form, fqdn(NAME), "A", -1))
            elif form == "srv":
                made.append(Query(form, f"_{PORT_NAME}._tcp.{NAME}", "SRV", -1))
            elif j % 2 == 0:
                made.append(Query(form, f"{NAME}-{replicas + j}.{NAME}", "A", -1))
            else:
                made.append(Query(form, fqdn(f"nosuch-{j}"), "A", -1))
        by_form[form] = made
    # interleave: sort by the position each query would have if its form were spread evenly
    ranked = [
        ((j + 0.5) / len(made), n, q)
        for n, made in enumerate(by_form.values())
        for j, q in enumerate(made)
    ]
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [q for _pos, _n, q in ranked]


def _wrong(answer: Answer, query: Query, ips: dict[int, str]) -> str:
    """Why `answer` is not the right one for `query` ("" when it is)."""
    form = query.form
    if form == "nxdomain":
        return "" if answer.nxdomain else f"{answer.rcode} {answer.records[:2]}, not NXDOMAIN"
    if answer.nxdomain:
        return "NXDOMAIN"
    if form in ("pod_short", "pod_fqdn"):
        ip = ips.get(query.ordinal)
        want = () if ip is None else (ip,)
        got = answer.addresses
        name_ok = answer.name == pod_fqdn(query.ordinal)
        return "" if got == want and name_ok else f"{answer.name} {got}, not {want}"
    if form == "service":
        got = answer.addresses
        want_set = set(ips.values())
        if len(got) == len(want_set) and set(got) == want_set:
            return ""
        return f"{len(got)} addresses ({len(set(got) & want_set)} right), not {len(want_set)}"
    targets: list[tuple[int, str]] = []
    for record in answer.records:
        if record.type != "SRV":
            return f"a {record.type} record in an SRV answer"
        _prio, _weight, port, target = record.srv
        targets.append((port, target))
    want_targets = {(PORT, f"{pod_fqdn(i)}.") for i in ips}
    if len(targets) == len(want_targets) and set(targets) == want_targets:
        return ""
    return f"{len(targets)} SRV records ({len(set(targets) & want_targets)} right)"


def _check_answers(
    resolver: Resolver, mix: Sequence[Query], ips: dict[int, str]
) -> tuple[int, list[str]]:
    """(wrong answers, the first few described) for every query of the mix."""
    wrong = 0
    first: list[str] = []
    resolve = resolver.resolve
    for q in mix:
        why = _wrong(resolve(q.name, q.qtype, NAMESPACE), q, ips)
        if why:
            wrong += 1
            if len(first) < 5:
                first.append(f"{q.qtype} {q.name}: {why}")
    return wrong, first


def _rate(resolver: Resolver, batch: Sequence[tuple[str, str]]) -> float:
    """Answers per second of one pass over `batch` ((name, qtype) pairs)."""
    resolve = resolver.resolve
    gc.collect()
    t0 = perf_counter()
    for name, qtype in batch:
        resolve(name, qtype, NAMESPACE)
    return len(batch) / (perf_counter() - t0)


def measure_dns(resolver: Resolver, mix: Sequence[Query], ips: dict[int, str]) -> dict[str, Any]:
    """Correctness over the mix, then answers/s of the mix and of each form (3 rounds each)."""
    wrong, first = _check_answers(resolver, mix, ips)
    batches: dict[str, list[tuple[str, str]]] = {"mix": [(q.name, q.qtype) for q in mix]}
    for form, _share in FORMS:
        batches[form] = [(q.name, q.qtype) for q in mix if q.form == form]
    rates = {
        name: [_rate(resolver, batch) for _round in range(ROUNDS)]
        for name, batch in batches.items()
    }
    return {
        "queries": {name: len(batch) for name, batch in batches.items()},
        "wrong": wrong,
        "first_wrong": first,
        "answers_per_s": rates,
    }


async def _snapshot_resolver(plane: ControlPlane) -> tuple[Resolver, float, int]:
    """`Resolver.from_objects` over the DNSRecordSets and Namespaces listed at the head
    revision: (resolver, seconds to list and build, revision)."""
    revision = plane.log.revision
    t0 = perf_counter()
    objects: list[ApiStruct] = []
    for kind in ("DNSRecordSet", "Namespace"):
        listed, _rev = await plane.server.list(kind, None, at=revision)
        objects += listed
    resolver = Resolver.from_objects(objects)
    return resolver, perf_counter() - t0, revision


def _records(plane: ControlPlane) -> int:
    lister = plane.informers.informer_for("DNSRecordSet").lister(DNSRecordSet)
    found = lister.get(NAMESPACE, NAME)
    return 0 if found is None else len(found.records)
