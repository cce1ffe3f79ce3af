"""The pure part of the Endpoints sync: `FindPort`, `RepackSubsets` (examples and invariants),
`truncateEndpoints` and the last-change-trigger-time tracker."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from controllers.common.times import format_time, parse_time
from controllers.endpoints import (
    MAX_CAPACITY,
    TriggerTimeTracker,
    build_subsets,
    find_port,
    repack_subsets,
    truncate,
)
from cp.api.core import EndpointAddress, EndpointPort, EndpointSubset, ServicePort
from cp.api.core_pod import Container, ContainerPort
from cp.api.meta import ObjectReference
from tests.controllers.common.helpers import NOW
from tests.controllers.endpoints.harness import pod, service


def addr(n: int) -> EndpointAddress:
    return EndpointAddress(
        ip=f"10.244.0.{n}",
        target_ref=ObjectReference(kind="Pod", namespace="default", name=f"p{n}", uid=f"u{n}"),
    )


def port(n: int) -> EndpointPort:
    return EndpointPort(name=f"p{n}", port=8000 + n, protocol="TCP")


def test_find_port_by_number_name_protocol_and_sidecar() -> None:
    p = pod("a", ports=(ContainerPort(name="dns", container_port=53, protocol="UDP"),))
    assert find_port(p, ServicePort(port=80, target_port=8080)) == 8080
    assert find_port(p, ServicePort(port=80, target_port=None)) == 80
    assert find_port(p, ServicePort(port=53, target_port="dns", protocol="UDP")) == 53
    assert find_port(p, ServicePort(port=53, target_port="dns", protocol="TCP")) is None
    assert p.spec is not None
    sidecar = Container(
        name="proxy",
        image="envoy",
        restart_policy="Always",
        ports=(ContainerPort(name="admin", container_port=9901, protocol="TCP"),),
    )
    init = replace(sidecar, name="init", restart_policy=None)
    with_sidecar = replace(p, spec=replace(p.spec, init_containers=(init, sidecar)))
    assert find_port(with_sidecar, ServicePort(port=1, target_port="admin", protocol="TCP")) == 9901
    only_init = replace(p, spec=replace(p.spec, init_containers=(replace(init, name="i2"),)))
    assert find_port(only_init, ServicePort(port=1, target_port="admin", protocol="TCP")) is None


def test_repack_groups_by_port_set_and_not_ready_wins() -> None:
    raw = [
        EndpointSubset(addresses=(addr(2),), ports=(port(1),)),
        EndpointSubset(addresses=(addr(1),), ports=(port(1),)),
        EndpointSubset(addresses=(addr(1),), ports=(port(2),)),
        EndpointSubset(addresses=(addr(2),), ports=(port(2),)),
        EndpointSubset(addresses=(addr(3),), ports=(port(1),)),
        EndpointSubset(not_ready_addresses=(addr(3),), ports=(port(1),)),
    ]
    # Port 1 is offered by {1, 2 ready; 3 not ready}, port 2 by {1, 2 ready}: two subsets.
    assert repack_subsets(raw) == (
        EndpointSubset(addresses=(addr(1), addr(2)), ports=(port(2),)),
        EndpointSubset(
            addresses=(addr(1), addr(2)), not_ready_addresses=(addr(3),), ports=(port(1),)
        ),
    )
    same = [EndpointSubset(addresses=(addr(1), addr(2)), ports=(port(2), port(1)))]
    assert repack_subsets(same) == (
        EndpointSubset(addresses=(addr(1), addr(2)), ports=(port(1), port(2))),
    )


def test_repack_keeps_port_less_addresses() -> None:
    raw = [EndpointSubset(addresses=(addr(1),)), EndpointSubset(not_ready_addresses=(addr(2),))]
    assert repack_subsets(raw) == (
        EndpointSubset(addresses=(addr(1),), not_ready_addresses=(addr(2),)),
    )


_pairs = st.lists(st.tuples(st.integers(1, 6), st.integers(0, 3), st.booleans()), max_size=30)


@settings(max_examples=150, deadline=None)
@given(pairs=_pairs, seed=st.randoms(use_true_random=False))
def test_repack_invariants(pairs: list[tuple[int, int, bool]], seed: object) -> None:
    """Every (address, port) survives with not-ready winning; the result is idempotent,
    independent of the input order, and no (address, port) appears twice."""
    raw = [
        EndpointSubset(
            addresses=(addr(a),) if ready else (),
            not_ready_addresses=() if ready else (addr(a),),
            ports=(port(p),) if p else (),
        )
        for a, p, ready in pairs
    ]
    packed = repack_subsets(raw)
    expected: dict[tuple[int, int], bool] = {}
    for a, p, ready in pairs:
        expected[(a, p)] = expected.get((a, p), True) and ready
    got: dict[tuple[int, int], bool] = {}
    for subset in packed:
        for ep in subset.ports or (EndpointPort(port=8000),):
            for address, ready in [(x, True) for x in subset.addresses] + [
                (x, False) for x in subset.not_ready_addresses
            ]:
                key = (int(address.ip.rsplit(".", 1)[1]), ep.port - 8000)
                assert key not in got
                got[key] = ready
    # A port-less entry of an address that also has ports is absorbed only when no port
    # group covers it; compare the ported pairs exactly.
    assert {k: v for k, v in got.items() if k[1]} == {k: v for k, v in expected.items() if k[1]}
    assert repack_subsets(packed) == packed
    shuffled = list(raw)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    assert repack_subsets(shuffled) == packed


def test_truncate_prefers_ready_addresses() -> None:
    ready = tuple(addr(i % 250) for i in range(900))
    not_ready = tuple(addr(i % 250) for i in range(300))
    subsets = (EndpointSubset(addresses=ready, not_ready_addresses=not_ready, ports=(port(1),)),)
    cut, over = truncate(subsets)
    assert over
    assert len(cut[0].addresses) == 900
    assert len(cut[0].not_ready_addresses) == MAX_CAPACITY - 900
    many = (
        EndpointSubset(addresses=ready, ports=(port(1),)),
        EndpointSubset(addresses=ready, not_ready_addresses=not_ready, ports=(port(2),)),
    )
    cut, over = truncate(many)
    assert over
    assert [len(s.addresses) for s in cut] == [500, 500]
    assert all(s.not_ready_addresses == () for s in cut)
    small = (EndpointSubset(addresses=ready[:10], ports=(port(1),)),)
    assert truncate(small) == (small, False)


def test_build_subsets_skips_other_families_and_terminal_pods() -> None:
    svc = service()
    v6 = replace(svc, spec=replace(svc.spec, ip_families=("IPv6",)))
    pods = [pod("a", "10.244.1.2", ready=True), pod("b", "10.244.1.3", phase="Failed")]
    assert len(build_subsets(svc, pods)) == 1
    assert build_subsets(v6, pods) == ()


def test_trigger_time_tracker() -> None:
    tracker = TriggerTimeTracker()
    svc = service(created=NOW - 100)
    a = pod("a", ready=True, ready_since=NOW)
    assert tracker.compute(svc, [a], parse_time) == NOW - 100  # first sync: creation
    assert tracker.compute(svc, [a], parse_time) is None  # nothing moved
    b = pod("b", ready=False, ready_since=NOW + 5)
    a2 = pod("a", ready=False, ready_since=NOW + 9)
    assert tracker.compute(svc, [a2, b], parse_time) == NOW + 5  # the earliest that moved
    assert tracker.compute(svc, [a2], parse_time) is None  # a pod leaving is no trigger
    tracker.forget("default/web")
    assert tracker.compute(svc, [a2], parse_time) == NOW - 100
    assert format_time(NOW) == "2023-11-14T22:13:20Z"
