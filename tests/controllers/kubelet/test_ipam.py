"""Per-node address pools: lowest free address, reuse after release, never a duplicate."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from controllers.kubelet import AddressPool


def test_lowest_free_host_address_first() -> None:
    pool = AddressPool("10.244.1.0/24")
    assert [pool.allocate() for _ in range(3)] == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
    pool.release("10.244.1.3")
    pool.release("10.244.1.2")
    assert pool.allocate() == "10.244.1.2"
    assert pool.allocate() == "10.244.1.3"
    assert pool.allocate() == "10.244.1.5"
    assert len(pool) == 4


def test_reserved_addresses_are_skipped() -> None:
    pool = AddressPool("10.244.0.0/24")
    assert pool.reserve("10.244.0.3")
    assert not pool.reserve("10.244.0.3")  # taken
    assert not pool.reserve("10.245.0.3")  # outside
    assert not pool.reserve("10.244.0.1")  # the gateway
    assert [pool.allocate() for _ in range(2)] == ["10.244.0.2", "10.244.0.4"]
    assert "10.244.0.3" in pool


def test_exhaustion_returns_none() -> None:
    pool = AddressPool("10.0.0.0/29")  # .2 .. .6
    got = [pool.allocate() for _ in range(5)]
    assert got == [f"10.0.0.{i}" for i in range(2, 7)]
    assert pool.allocate() is None
    pool.release("10.0.0.4")
    assert pool.allocate() == "10.0.0.4"


ops = st.lists(st.tuples(st.sampled_from(["alloc", "release", "reserve"]), st.integers(0, 40)))


@given(ops)
def test_addresses_are_never_handed_out_twice(steps: list[tuple[str, int]]) -> None:
    pool = AddressPool("10.244.7.0/26")
    held: set[str] = set()
    for op, n in steps:
        address = str(ipaddress.ip_address("10.244.7.0") + n)
        if op == "alloc":
            got = pool.allocate()
            if got is None:
                assert len(held) == 64 - 3
                continue
            assert got not in held
            free = [
                str(ipaddress.ip_address("10.244.7.0") + i)
                for i in range(2, 63)
                if str(ipaddress.ip_address("10.244.7.0") + i) not in held
            ]
            assert got == free[0]  # the lowest free one
            held.add(got)
        elif op == "release":
            pool.release(address)
            held.discard(address)
        elif pool.reserve(address):
            assert address not in held
            held.add(address)
        assert len(pool) == len(held)
