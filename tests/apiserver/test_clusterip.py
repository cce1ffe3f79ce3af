"""The ClusterIP allocator (`cp.apiserver.clusterip`), upstream `ipallocator` / `alloc.go`:
examples for the messages and fields, hypothesis for the invariants (never a duplicate,
released addresses reusable, rebuild equals state)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from cp.api.core import ConfigMap, Service, ServicePort, ServiceSpec
from cp.api.errors import Invalid
from cp.api.meta import ObjectMeta
from cp.apiserver.clusterip import ClusterIPAllocator, RangeFull
from cp.plane import ControlPlane


def svc(
    name: str,
    cluster_ip: str = "",
    *,
    namespace: str = "default",
    type: str = "ClusterIP",
    selector: dict[str, str] | None = None,
    uid: str = "",
) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace=namespace, uid=uid or f"uid-{name}"),
        spec=ServiceSpec(
            ports=(ServicePort(port=80),),
            selector={"app": name} if selector is None else selector,
            cluster_ip=cluster_ip,
            type=type,
        ),
    )


def test_dynamic_allocation_sets_the_fields_from_the_upper_band() -> None:
    alloc = ClusterIPAllocator()
    out = alloc.allocate(svc("web"))
    ip = ipaddress.ip_address(out.spec.cluster_ip)
    assert ip in ipaddress.ip_network("10.96.0.0/12")
    assert int(ip) - int(ipaddress.ip_address("10.96.0.1")) >= 256  # not in the static band
    assert out.spec.cluster_ips == (out.spec.cluster_ip,)
    assert out.spec.ip_families == ("IPv4",)
    assert out.spec.ip_family_policy == "SingleStack"
    assert alloc.owner_of(out.spec.cluster_ip) == "default/web"
    assert alloc.used() == 1
    assert alloc.size == 2**20 - 2


def test_allocation_is_reproducible_per_seed_and_identity() -> None:
    first = ClusterIPAllocator(seed=1).allocate(svc("web")).spec.cluster_ip
    assert ClusterIPAllocator(seed=1).allocate(svc("web")).spec.cluster_ip == first
    assert ClusterIPAllocator(seed=2).allocate(svc("web")).spec.cluster_ip != first


def test_requested_address_is_honoured_and_then_refused_as_upstream() -> None:
    alloc = ClusterIPAllocator()
    out = alloc.allocate(svc("kubernetes", "10.96.0.1"))
    assert out.spec.cluster_ips == ("10.96.0.1",)
    with pytest.raises(Invalid) as err:
        alloc.allocate(svc("other", "10.96.0.1"))
    assert str(err.value) == (
        'Service "other" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: '
        "failed to allocate IP 10.96.0.1: provided IP is already allocated"
    )
    assert alloc.owner_of("10.96.0.1") == "default/kubernetes"


@pytest.mark.parametrize("ip", ["10.0.0.1", "10.96.0.0", "10.111.255.255", "192.168.1.1"])
def test_out_of_range_request_is_invalid(ip: str) -> None:
    alloc = ClusterIPAllocator()
    with pytest.raises(Invalid) as err:
        alloc.allocate(svc("web", ip))
    assert str(err.value).endswith(
        f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )
    assert alloc.used() == 0


def test_malformed_request_is_invalid() -> None:
    with pytest.raises(Invalid, match=r"spec.clusterIPs\[0\]: Invalid value: \"nope\""):
        ClusterIPAllocator().allocate(svc("web", "nope"))


def test_headless_allocates_nothing() -> None:
    alloc = ClusterIPAllocator()
    out = alloc.allocate(svc("db", "None"))
    assert out.spec.cluster_ip == "None"
    assert out.spec.cluster_ips == ("None",)
    assert out.spec.ip_families == ("IPv4",)
    assert out.spec.ip_family_policy == "SingleStack"
    bare = alloc.allocate(svc("bare", "None", selector={}))  # upstream's special case
    assert bare.spec.ip_family_policy == "RequireDualStack"
    assert bare.spec.ip_families == ("IPv4", "IPv6")
    assert alloc.used() == 0


def test_external_name_is_left_alone() -> None:
    alloc = ClusterIPAllocator()
    ext = svc("ext", type="ExternalName")
    assert alloc.allocate(ext) == ext
    assert alloc.used() == 0


def test_dual_stack_and_ipv6_are_refused() -> None:
    alloc = ClusterIPAllocator()
    dual = svc("web")
    dual = replace(dual, spec=replace(dual.spec, ip_family_policy="RequireDualStack"))
    with pytest.raises(Invalid, match="not configured for dual-stack services"):
        alloc.allocate(dual)
    v6 = svc("web")
    v6 = replace(v6, spec=replace(v6.spec, ip_families=("IPv6",)))
    with pytest.raises(Invalid, match=r'spec.ipFamilies\[0\]: Invalid value: "IPv6"'):
        alloc.allocate(v6)
    assert alloc.used() == 0


def test_release_frees_only_what_the_key_holds() -> None:
    alloc = ClusterIPAllocator()
    web = alloc.allocate(svc("web", "10.96.0.10"))
    impostor = svc("other", "10.96.0.10")
    alloc.release(impostor)  # not its address: nothing happens
    assert alloc.owner_of("10.96.0.10") == "default/web"
    alloc.release(web)
    assert alloc.used() == 0
    assert alloc.allocate(svc("again", "10.96.0.10")).spec.cluster_ip == "10.96.0.10"


def test_update_keeps_the_address_and_refuses_a_change() -> None:
    alloc = ClusterIPAllocator()
    current = alloc.allocate(svc("web"))
    resent = svc("web")  # an apply without clusterIP: the allocated values are kept
    kept = alloc.prepare_update(current, resent)
    assert kept.spec.cluster_ip == current.spec.cluster_ip
    assert kept.spec.cluster_ips == current.spec.cluster_ips
    assert kept.spec.ip_family_policy == "SingleStack"
    with pytest.raises(Invalid) as err:
        alloc.prepare_update(current, svc("web", "10.96.0.99"))
    assert str(err.value) == (
        'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.99"}: '
        "may not change once set"
    )


def test_update_to_and_from_external_name() -> None:
    alloc = ClusterIPAllocator()
    current = alloc.allocate(svc("web"))
    ext = alloc.prepare_update(
        current, replace(current, spec=replace(current.spec, type="ExternalName"))
    )
    assert ext.spec.cluster_ip == ""
    assert ext.spec.cluster_ips == ()
    alloc.commit(ext)  # the write succeeded: the address is freed
    assert alloc.used() == 0
    back = alloc.prepare_update(ext, svc("web"))
    assert back.spec.cluster_ip
    assert alloc.owner_of(back.spec.cluster_ip) == "default/web"
    alloc.commit(ext)  # that write failed: the stored object (no address) wins
    assert alloc.used() == 0


def test_update_of_a_service_stored_without_address_allocates() -> None:
    alloc = ClusterIPAllocator()
    legacy = svc("web")  # stored before the server allocated: no clusterIP at all
    updated = alloc.prepare_update(legacy, svc("web"))
    assert updated.spec.cluster_ip
    assert alloc.owner_of(updated.spec.cluster_ip) == "default/web"
    alloc.commit(legacy)  # the write failed
    assert alloc.used() == 0


def test_server_hooks_ignore_other_kinds() -> None:
    alloc = ClusterIPAllocator()
    cm = ConfigMap(metadata=ObjectMeta(name="c", namespace="default"))
    assert alloc.on_create(cm) is cm
    assert alloc.on_update(cm, cm) is cm
    alloc.on_written(cm)
    alloc.on_removed(cm)
    web = alloc.on_create(svc("web"))
    assert alloc.rebuild_from([cm, web]) == []
    assert alloc.used() == 1
    alloc.on_removed(web)
    assert alloc.used() == 0


def test_small_range_fills_up() -> None:
    alloc = ClusterIPAllocator("10.0.0.0/29")  # 6 usable addresses, no static band
    ips = {alloc.allocate(svc(f"s{i}")).spec.cluster_ip for i in range(6)}
    assert ips == {f"10.0.0.{i}" for i in range(1, 7)}
    with pytest.raises(RangeFull, match="range is full"):
        alloc.allocate(svc("s6"))


def test_rebuild_reports_duplicates_and_strays() -> None:
    alloc = ClusterIPAllocator()
    a = replace(
        svc("a"), spec=replace(svc("a").spec, cluster_ip="10.96.0.5", cluster_ips=("10.96.0.5",))
    )
    b = replace(
        svc("b"), spec=replace(svc("b").spec, cluster_ip="10.96.0.5", cluster_ips=("10.96.0.5",))
    )
    c = replace(
        svc("c"), spec=replace(svc("c").spec, cluster_ip="1.2.3.4", cluster_ips=("1.2.3.4",))
    )
    problems = alloc.rebuild([a, b, c, svc("h", "None")])
    assert alloc.allocated() == {"10.96.0.5": "default/a"}
    assert len(problems) == 2
    assert "multiple services" in problems[0]


# -- invariants -------------------------------------------------------------------------------

_ops = st.lists(
    st.tuples(
        st.sampled_from(["create", "delete", "request"]),
        st.integers(0, 11),  # which Service name
        st.integers(1, 14),  # requested host in a /28 (0 and 15 are never usable)
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops=_ops)
def test_never_a_duplicate_released_reusable_rebuild_equals_state(
    ops: list[tuple[str, int, int]],
) -> None:
    alloc = ClusterIPAllocator("10.1.0.0/28")  # 14 usable: fills up, so reuse is exercised
    live: dict[str, Service] = {}
    for op, n, host in ops:
        name = f"s{n}"
        if op == "delete":
            gone = live.pop(name, None)
            if gone is not None:
                alloc.release(gone)
                assert alloc.owner_of(gone.spec.cluster_ip) is None
            continue
        if name in live:
            continue
        wanted = f"10.1.0.{host}" if op == "request" else ""
        free_before = alloc.free()
        try:
            out = alloc.allocate(svc(name, wanted))
        except Invalid:
            assert wanted
            assert alloc.owner_of(wanted) is not None
            continue
        except RangeFull:
            assert free_before == 0
            continue
        if wanted:
            assert out.spec.cluster_ip == wanted
        live[name] = out
        ips = [s.spec.cluster_ip for s in live.values()]
        assert len(ips) == len(set(ips))  # never a duplicate
        assert alloc.used() == len(live)
    state = alloc.allocated()
    assert state == {s.spec.cluster_ip: f"default/{k}" for k, s in live.items()}
    fresh = ClusterIPAllocator("10.1.0.0/28")
    assert fresh.rebuild(live.values()) == []
    assert fresh.allocated() == state
    # Everything released: the whole range is usable again.
    for service in live.values():
        alloc.release(service)
    assert alloc.used() == 0
    got = {alloc.allocate(svc(f"n{i}")).spec.cluster_ip for i in range(14)}
    assert len(got) == 14


# -- through the plane --------------------------------------------------------------------------

_SVC = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
  selector:
    app: web
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_plane_allocates_keeps_refuses_and_rebuilds_on_restart(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/state.db"
    async with ControlPlane.open(store=url, nodes=0) as plane:
        (web,) = await plane.apply(_SVC)
        assert isinstance(web, Service)
        ip = web.spec.cluster_ip
    assert ip, "the API server allocated no ClusterIP"
    async with ControlPlane.open(store=url, nodes=0) as plane:
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
        (relabelled,) = await plane.apply(_SVC.replace("name: web", "name: web\n  labels: {x: y}"))
        assert isinstance(relabelled, Service)
        assert relabelled.spec.cluster_ip == ip  # an apply without clusterIP keeps it
        other = _SVC.replace("name: web", "name: other").replace(
            "port: 80", f"port: 80\n  clusterIP: {ip}"
        )
        with pytest.raises(Invalid, match="provided IP is already allocated"):
            await plane.apply(other)
    async with ControlPlane.open(store=url, nodes=0) as plane:  # rebuilt from the store
        with pytest.raises(Invalid, match="provided IP is already allocated"):
            await plane.apply(other)
        await plane.client.delete("Service", "web")
        (taken,) = await plane.apply(other)
        assert isinstance(taken, Service)
        assert taken.spec.cluster_ip == ip  # released on delete
