"""`build_records`: the record sets of ClusterIP, headless and ExternalName Services, SRV
weights, endpoint names and ports, as CoreDNS's kubernetes plugin answers them."""

from __future__ import annotations

from controllers.dns.records import (
    build_records,
    dashed_ip,
    reverse_name,
    service_fqdn,
    srv_weight,
)
from cp.api.core import EndpointPort, ServicePort
from cp.api.dns import DNSRecord
from tests.controllers.dns.helpers import address, endpoints, headless, service

BASE = "web.default.svc.cluster.local"


def table(records: tuple[DNSRecord, ...]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(r.name, r.type, r.data) for r in records]


def test_srv_weight_is_corednss_floor_of_100_over_n() -> None:
    assert [srv_weight(n) for n in (1, 2, 3, 4, 7)] == [100, 50, 33, 25, 14]


def test_names() -> None:
    assert service_fqdn("Web", "default") == BASE
    assert dashed_ip("10.244.1.2") == "10-244-1-2"
    assert dashed_ip("fd00::1") == "fd00--1"


def test_cluster_ip_service_answers_its_ip_whatever_the_endpoints() -> None:
    svc = service(ports=(ServicePort(name="http", port=80, protocol="TCP"), ServicePort(port=81)))
    assert table(build_records(svc, None)) == [
        (BASE, "A", ("10.96.0.10",)),
        (BASE, "SRV", (f"0 50 80 {BASE}.", f"0 50 81 {BASE}.")),
        (f"_http._tcp.{BASE}", "A", ("10.96.0.10",)),
        (f"_http._tcp.{BASE}", "SRV", (f"0 100 80 {BASE}.",)),
        ("10.0.96.10.in-addr.arpa", "PTR", (f"{BASE}.",)),
    ]


def test_cluster_ip_service_also_answers_endpoint_names() -> None:
    ep = endpoints(ready=[address("10.244.1.5", "web-0"), address("10.244.2.6")])
    names = {r.name: r for r in build_records(service(), ep) if r.type == "A"}
    assert names[BASE].data == ("10.96.0.10",)
    assert names[f"web-0.{BASE}"].data == ("10.244.1.5",)
    assert names[f"10-244-2-6.{BASE}"].data == ("10.244.2.6",)


def test_headless_service_answers_every_ready_address() -> None:
    ep = endpoints(
        ready=[address("10.244.1.2", "web-0"), address("10.244.2.3", "web-1")],
        not_ready=[address("10.244.3.4", "web-2")],
    )
    assert table(build_records(headless(), ep)) == [
        (BASE, "A", ("10.244.1.2", "10.244.2.3")),
        (BASE, "SRV", (f"0 50 8080 web-0.{BASE}.", f"0 50 8080 web-1.{BASE}.")),
        (f"web-0.{BASE}", "A", ("10.244.1.2",)),
        (f"web-0.{BASE}", "SRV", (f"0 100 8080 web-0.{BASE}.",)),
        (f"web-1.{BASE}", "A", ("10.244.2.3",)),
        (f"web-1.{BASE}", "SRV", (f"0 100 8080 web-1.{BASE}.",)),
        (f"_http._tcp.{BASE}", "A", ("10.244.1.2", "10.244.2.3")),
        (f"_http._tcp.{BASE}", "SRV", (f"0 50 8080 web-0.{BASE}.", f"0 50 8080 web-1.{BASE}.")),
        ("2.1.244.10.in-addr.arpa", "PTR", (f"web-0.{BASE}.",)),
        ("3.2.244.10.in-addr.arpa", "PTR", (f"web-1.{BASE}.",)),
    ]


def test_headless_without_ready_addresses_has_no_records() -> None:
    ep = endpoints(not_ready=[address("10.244.3.4", "web-2")])
    assert build_records(headless(), ep) == ()
    assert build_records(headless(), None) == ()


def test_headless_without_ports_gets_addresses_but_no_srv() -> None:
    ep = endpoints(ready=[address("10.244.1.2", "web-0")], ports=())
    assert table(build_records(headless(ports=()), ep)) == [
        (BASE, "A", ("10.244.1.2",)),
        (f"web-0.{BASE}", "A", ("10.244.1.2",)),
        ("2.1.244.10.in-addr.arpa", "PTR", (f"web-0.{BASE}.",)),
    ]


def test_two_named_ports_weights_count_every_candidate() -> None:
    ports = (
        EndpointPort(name="http", port=8080, protocol="TCP"),
        EndpointPort(name="dns", port=53, protocol="UDP"),
    )
    ep = endpoints(ready=[address("10.244.1.2", "a"), address("10.244.1.3", "b")], ports=ports)
    records = {(r.name, r.type): r.data for r in build_records(headless(), ep)}
    assert records[(BASE, "A")] == ("10.244.1.2", "10.244.1.3")  # deduplicated
    assert records[(BASE, "SRV")] == (
        f"0 25 8080 a.{BASE}.",
        f"0 25 53 a.{BASE}.",
        f"0 25 8080 b.{BASE}.",
        f"0 25 53 b.{BASE}.",
    )
    assert records[(f"_dns._udp.{BASE}", "SRV")] == (f"0 50 53 a.{BASE}.", f"0 50 53 b.{BASE}.")


def test_external_name_is_a_cname_only() -> None:
    svc = service(type="ExternalName", cluster_ip="", ports=(), external_name="Example.COM")
    ep = endpoints(ready=[address("10.244.1.2", "x")])
    assert table(build_records(svc, ep)) == [(BASE, "CNAME", ("example.com.",))]
    ip_svc = service(type="ExternalName", cluster_ip="", ports=(), external_name="1.2.3.4")
    assert build_records(ip_svc, None) == ()


def test_ipv6_addresses_are_aaaa() -> None:
    ep = endpoints(ready=[address("fd00::5")])
    records = table(build_records(headless(), ep))
    assert (BASE, "AAAA", ("fd00::5",)) in records
    assert (f"fd00--5.{BASE}", "AAAA", ("fd00::5",)) in records


def test_cluster_ip_not_allocated_yet_has_no_service_address() -> None:
    ep = endpoints(ready=[address("10.244.1.5", "web-0")])
    records = table(build_records(service(cluster_ip=""), ep))
    assert [name for name, _, _ in records] == [
        f"web-0.{BASE}",
        f"web-0.{BASE}",
        "5.1.244.10.in-addr.arpa",
    ]


def test_pointers_of_cluster_ip_and_endpoints() -> None:
    ep = endpoints(ready=[address("10.244.1.5", "web-0"), address("10.244.2.6")])
    ptr = {r.name: r.data for r in build_records(service(), ep) if r.type == "PTR"}
    assert ptr == {
        reverse_name("10.96.0.10"): (f"{BASE}.",),
        reverse_name("10.244.1.5"): (f"web-0.{BASE}.",),
        reverse_name("10.244.2.6"): (f"10-244-2-6.{BASE}.",),
    }
    assert reverse_name("fd00::1").endswith(".ip6.arpa")
