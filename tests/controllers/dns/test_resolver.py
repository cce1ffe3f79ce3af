"""The resolver over hand-made record sets: every name form, the pod search path, NXDOMAIN
and NODATA, SRV, CNAME, pod names, and `host`'s output lines."""

from __future__ import annotations

import pytest

from controllers.dns import NOERROR, NXDOMAIN, Resolver, format_host, host_lines
from cp.api.core import Namespace
from cp.api.meta import ObjectMeta
from tests.controllers.dns.helpers import record_set

HL = "myapp-svc-headless.default.svc.cluster.local"
WEB = "web.default.svc.cluster.local"
SRV0 = f"0 50 80 myapp-sts-0.{HL}."
SRV1 = f"0 50 80 myapp-sts-1.{HL}."

OBJECTS = (
    record_set(
        "myapp-svc-headless",
        (HL, "A", ("10.244.1.2", "10.244.2.2")),
        (HL, "SRV", (SRV0, SRV1)),
        (f"myapp-sts-0.{HL}", "A", ("10.244.1.2",)),
        (f"myapp-sts-1.{HL}", "A", ("10.244.2.2",)),
        (f"_http._tcp.{HL}", "A", ("10.244.1.2", "10.244.2.2")),
        (f"_http._tcp.{HL}", "SRV", (SRV0, SRV1)),
        ("2.1.244.10.in-addr.arpa", "PTR", (f"myapp-sts-0.{HL}.",)),
        ("2.2.244.10.in-addr.arpa", "PTR", (f"myapp-sts-1.{HL}.",)),
    ),
    record_set(
        "web",
        (WEB, "A", ("10.96.0.10",)),
        (WEB, "SRV", (f"0 100 80 {WEB}.",)),
        ("10.0.96.10.in-addr.arpa", "PTR", (f"{WEB}.",)),
        ("2.1.244.10.in-addr.arpa", "PTR", (f"10-244-1-2.{WEB}.",)),
    ),
    # an endpoint of another Service with the web Service's cluster IP: the cluster IP wins
    record_set("aaa", ("10.0.96.10.in-addr.arpa", "PTR", ("x.aaa.default.svc.cluster.local.",))),
    record_set("empty"),
    record_set("ext", ("ext.default.svc.cluster.local", "CNAME", ("example.com.",))),
    record_set("alias", ("alias.default.svc.cluster.local", "CNAME", (f"{WEB}.",))),
    record_set(
        "mydb",
        ("mydb.default.svc.cluster.local", "A", ("10.244.1.7",)),
        ("mydb-0.mydb.default.svc.cluster.local", "A", ("10.244.1.7",)),
    ),
    record_set("db", ("db.other.svc.cluster.local", "A", ("10.96.5.5",)), namespace="other"),
    Namespace(metadata=ObjectMeta(name="team")),
)


@pytest.fixture
def resolver() -> Resolver:
    return Resolver.from_objects(OBJECTS)


def test_headless_service_name_from_its_namespace_is_every_ready_ip(resolver: Resolver) -> None:
    answer = resolver.resolve("myapp-svc-headless")
    assert answer.rcode == NOERROR
    assert answer.name == HL
    assert answer.addresses == ("10.244.1.2", "10.244.2.2")
    assert answer.tried == (HL,)
    assert format_host(answer) == (
        f"{HL} has address 10.244.1.2",
        f"{HL} has address 10.244.2.2",
    )


def test_pod_hostname_under_the_headless_service(resolver: Resolver) -> None:
    answer = resolver.resolve("myapp-sts-0.myapp-svc-headless")
    assert answer.addresses == ("10.244.1.2",)
    assert format_host(answer) == (f"myapp-sts-0.{HL} has address 10.244.1.2",)


def test_search_path_order_and_other_namespaces(resolver: Resolver) -> None:
    assert resolver.candidates("web", "other") == (
        "web.other.svc.cluster.local",
        "web.svc.cluster.local",
        "web.cluster.local",
        "web",
    )
    assert resolver.resolve("web", namespace="other").nxdomain
    answer = resolver.resolve("web.default", namespace="other")
    assert answer.name == WEB
    assert answer.tried == ("web.default.other.svc.cluster.local", WEB)
    assert resolver.resolve("db", namespace="other").addresses == ("10.96.5.5",)
    assert resolver.resolve("myapp-sts-0.myapp-svc-headless", namespace="other").nxdomain


def test_typo_is_nxdomain_with_hosts_line(resolver: Resolver) -> None:
    answer = resolver.resolve("mtdb-0.mydb")
    assert answer.rcode == NXDOMAIN
    assert answer.records == ()
    assert len(answer.tried) == 4
    assert format_host(answer) == ("Host mtdb-0.mydb not found: 3(NXDOMAIN)",)
    assert host_lines(resolver, "mtdb-0.mydb") == ("Host mtdb-0.mydb not found: 3(NXDOMAIN)",)
    assert resolver.resolve("mydb-0.mydb").addresses == ("10.244.1.7",)


def test_fqdn_forms(resolver: Resolver) -> None:
    absolute = resolver.resolve(f"{WEB}.")
    assert (absolute.name, absolute.tried) == (WEB, (WEB,))
    four_dots = resolver.resolve(WEB)  # 4 dots < ndots:5: the search list first
    assert four_dots.addresses == ("10.96.0.10",)
    assert len(four_dots.tried) == 4
    six_dots = resolver.resolve(f"_http._tcp.{HL}", "SRV")  # as given first
    assert six_dots.tried == (f"_http._tcp.{HL}",)
    assert resolver.lookup(WEB).addresses == ("10.96.0.10",)


def test_srv_records_and_hosts_lines(resolver: Resolver) -> None:
    answer = resolver.resolve("_http._tcp.myapp-svc-headless", "SRV")
    assert [r.srv for r in answer.records] == [
        (0, 50, 80, f"myapp-sts-0.{HL}."),
        (0, 50, 80, f"myapp-sts-1.{HL}."),
    ]
    assert host_lines(resolver, "_http._tcp.myapp-svc-headless", "SRV") == (
        f"_http._tcp.{HL} has SRV record {SRV0}",
        f"_http._tcp.{HL} has SRV record {SRV1}",
    )
    no_underscore = resolver.resolve(f"http.tcp.{HL}.", "srv")
    assert [r.data for r in no_underscore.records] == [SRV0, SRV1]
    assert resolver.resolve("_https._tcp.myapp-svc-headless", "SRV").nxdomain


def test_nodata_is_not_nxdomain(resolver: Resolver) -> None:
    answer = resolver.resolve("web", "AAAA")
    assert (answer.rcode, answer.records) == (NOERROR, ())
    assert format_host(answer) == (f"{WEB} has no AAAA record",)
    assert host_lines(resolver, "ext", "SRV") == (
        "ext.default.svc.cluster.local has no SRV record",
    )
    for name in ("default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."):
        assert resolver.resolve(name).rcode == NOERROR, name
    assert resolver.resolve("team.svc.cluster.local.").rcode == NOERROR  # a Namespace object
    assert resolver.resolve("empty").nxdomain  # a Service without records (no ready pods)


def test_nxdomain_forms(resolver: Resolver) -> None:
    for name in (
        "nope.svc.cluster.local.",
        "web.nope.svc.cluster.local.",
        "x.default.cluster.local.",
        "a.b.c.web.default.svc.cluster.local.",
        "nope-0.myapp-svc-headless.default.svc.cluster.local.",
        "example.com.",
    ):
        assert resolver.resolve(name).nxdomain, name


def test_cname_answers(resolver: Resolver) -> None:
    assert host_lines(resolver, "ext") == (
        "ext.default.svc.cluster.local is an alias for example.com.",
    )
    chased = resolver.resolve("alias")
    assert [(r.type, r.name, r.data) for r in chased.records] == [
        ("CNAME", "alias.default.svc.cluster.local", f"{WEB}."),
        ("A", WEB, "10.96.0.10"),
    ]
    assert resolver.resolve("ext", "CNAME").records[0].target == "example.com."


def test_pod_names_in_insecure_mode(resolver: Resolver) -> None:
    answer = resolver.resolve("10-244-1-2.default.pod.cluster.local.")
    assert answer.addresses == ("10.244.1.2",)
    assert format_host(answer) == ("10-244-1-2.default.pod.cluster.local has address 10.244.1.2",)
    assert resolver.resolve("10-244-1-2.default.pod").addresses == ("10.244.1.2",)
    assert resolver.resolve("fd00--1.default.pod.cluster.local.", "AAAA").addresses == ("fd00::1",)
    assert resolver.resolve("10-244-1-2.default.pod.cluster.local.", "AAAA").records == ()
    assert resolver.resolve("10-244-1-2.nope.pod.cluster.local.").nxdomain
    assert resolver.resolve("web-0.default.pod.cluster.local.").nxdomain
    disabled = Resolver(resolver.source, pods="disabled")
    assert disabled.resolve("10-244-1-2.default.pod.cluster.local.").nxdomain


def test_case_insensitive_and_echoes_the_query_case(resolver: Resolver) -> None:
    answer = resolver.resolve("MyApp-Svc-Headless")
    assert answer.name == "MyApp-Svc-Headless.default.svc.cluster.local"
    assert answer.addresses == ("10.244.1.2", "10.244.2.2")


def test_host_without_type_prints_found_records_only(resolver: Resolver) -> None:
    assert host_lines(resolver, "web") == (f"{WEB} has address 10.96.0.10",)
    assert host_lines(resolver, "default.svc.cluster.local.") == ()


def test_bad_queries_raise(resolver: Resolver) -> None:
    with pytest.raises(ValueError, match="unsupported query type"):
        resolver.resolve("web", "MX")
    with pytest.raises(ValueError, match="not a domain name"):
        resolver.resolve("")
    with pytest.raises(ValueError, match="pods must be"):
        Resolver(resolver.source, pods="verified")  # type: ignore[arg-type]


def test_reverse_lookups(resolver: Resolver) -> None:
    assert host_lines(resolver, "10.96.0.10") == (
        f"10.0.96.10.in-addr.arpa domain name pointer {WEB}.",
    )
    assert host_lines(resolver, "10.244.1.2", "A") == (
        f"2.1.244.10.in-addr.arpa domain name pointer myapp-sts-0.{HL}.",
        f"2.1.244.10.in-addr.arpa domain name pointer 10-244-1-2.{WEB}.",
    )
    assert host_lines(resolver, "10.1.1.1") == (
        "Host 1.1.1.10.in-addr.arpa. not found: 3(NXDOMAIN)",
    )
    assert resolver.resolve("2.1.244.10.in-addr.arpa.", "A").nxdomain
    assert resolver.resolve("2.2.244.10.in-addr.arpa", "PTR").records[0].target == (
        f"myapp-sts-1.{HL}."
    )
