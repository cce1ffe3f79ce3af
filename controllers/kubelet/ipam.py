"""Per-node pod addresses: the lowest free host address of the node's podCIDR, as host-local IPAM.

    pool = AddressPool("10.244.0.0/24")
    pool.allocate()   # '10.244.0.2' (.1 is the bridge gateway, as with the bridge/host-local CNI)
    pool.reserve("10.244.0.7")        # an address a pod already has (a restarted simulator)
    pool.release("10.244.0.2")

Guarantees: an address is never handed out twice while allocated; `allocate` returns the
lowest free address (`.2`, `.3`, ...; never the network, gateway or broadcast address) in
O(log n) amortised, or None when the range is exhausted (the kubelet then reports the
sandbox failure, as a real node whose CNI range is full).
"""

from __future__ import annotations

import heapq
import ipaddress

__all__ = ["AddressPool"]


class AddressPool:
    """Free and allocated host addresses of one CIDR (see the module doc)."""

    __slots__ = ("_base", "_free", "_next", "_size", "_used", "cidr")

    def __init__(self, cidr: str) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        self.cidr = str(net)
        self._base = int(net.network_address)
        # host offsets 2 .. size-1: .0 is the network, .1 the gateway, the last the broadcast
        self._size = net.num_addresses - (1 if net.version == 4 else 0)
        self._next = 2  # the lowest offset never handed out
        self._free: list[int] = []  # released offsets below _next (may hold reserved ones)
        self._used: set[int] = set()

    def __len__(self) -> int:
        return len(self._used)

    def __contains__(self, address: object) -> bool:
        offset = self._offset(address) if isinstance(address, str) else None
        return offset is not None and offset in self._used

    def _offset(self, address: str) -> int | None:
        try:
            offset = int(ipaddress.ip_address(address)) - self._base
        except ValueError:
            return None
        return offset if 2 <= offset < self._size else None

    def _address(self, offset: int) -> str:
        return str(ipaddress.ip_address(self._base + offset))

    def allocate(self) -> str | None:
        """The lowest free address, now allocated; None when none is left."""
        while self._free:
            offset = heapq.heappop(self._free)
            if offset not in self._used:
                self._used.add(offset)
                return self._address(offset)
        while self._next < self._size:
            offset = self._next
            self._next += 1
            if offset not in self._used:
                self._used.add(offset)
                return self._address(offset)
        return None

    def reserve(self, address: str) -> bool:
        """Mark `address` allocated (False when it is outside the range or already taken)."""
        offset = self._offset(address)
        if offset is None or offset in self._used:
            return False
        self._used.add(offset)
        return True

    def release(self, address: str) -> None:
        """Free `address` (nothing when it is not allocated)."""
        offset = self._offset(address)
        if offset is None or offset not in self._used:
            return
        self._used.discard(offset)
        if offset < self._next:
            heapq.heappush(self._free, offset)
