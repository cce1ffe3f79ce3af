"""Service ClusterIP allocation, as the API server's Service registry does it at create.

Follows upstream `pkg/registry/core/service/storage/alloc.go` (`allocateCreate`,
`initIPFamilyFields`, `allocClusterIPs`, `allocIPs`), `pkg/registry/core/service/storage/
storage.go` (`normalizeClusterIPs`, `patchAllocatedValues`), `pkg/registry/core/service/
ipallocator/bitmap.go` (`Range`: the network address and the IPv4 broadcast are never
handed out, `calculateRangeOffset`) and `pkg/registry/core/service/allocator/bitmap.go`
(`randomScanStrategyWithOffset`), and the update rule of `pkg/apis/core/validation`
(`validateServiceClusterIPsUpdate`: "may not change once set").

    allocator = ClusterIPAllocator()                 # 10.96.0.0/12, single-stack IPv4
    allocator.rebuild(stored_services)               # on start: the state is the stored objects
    svc = allocator.allocate(svc)                    # create: after admit, before the write
    allocator.release(svc)                           # the create's write failed / object removed
    svc = allocator.prepare_update(current, svc)     # update: after admit, before the write
    allocator.commit(stored_or_current)              # after the update's write (or its failure)

The server's hooks take any object and touch Services only (`on_create`, `on_update`,
`on_written`, `on_removed`, `rebuild_from`), so `ApiServer` calls them without a kind test.

Contract: pure and synchronous (no I/O, no await), so the server may call it between its
admission and its store write without a race inside one event loop. Every allocated address is
held under the Service's `namespace/name`; an address is held by at most one key (never a
duplicate); `release` and `commit` only free addresses that key holds.

Allocation order (a documented difference in mechanism, not in result): upstream picks a random
offset with `math/rand`; here the random start is a hash of (seed, namespace, name, uid, family)
so a run is reproducible and a Service's address does not depend on allocation history unless
it collides. As upstream's `randomScanStrategyWithOffset`, the dynamic scan first covers the
upper band `[offset, max)` from that start, wrapping, then the lower band `[0, offset)`; the
lower band (for 10.96.0.0/12 the first 256 addresses, 10.96.0.1 .. 10.96.1.0) is kept for
static requests such as the `kubernetes` Service's 10.96.0.1.

Worked example: in 10.96.0.0/12 the usable offsets are 0 .. 1048573 (10.96.0.1 ..
10.111.255.254); offset 0 is 10.96.0.1, the band offset is min(max(16, 2**20 / 16), 256) = 256.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final, TypeVar, cast

import msgspec
from msgspec.structs import replace

from cp.api.core import Service, ServiceSpec
from cp.api.errors import ApiError, FieldError, FieldErrorType, Invalid
from cp.api.meta import ApiStruct
from cp.api.validation_meta import GoValue, not_supported

__all__ = [
    "CLUSTER_IP_NONE",
    "DEFAULT_SERVICE_CIDR",
    "ClusterIPAllocator",
    "RangeFull",
]

#: The default `--service-cluster-ip-range` of kubeadm and kind.
DEFAULT_SERVICE_CIDR: Final = "10.96.0.0/12"
#: `clusterIP: None`: a headless Service, which gets no address.
CLUSTER_IP_NONE: Final = "None"

_T = TypeVar("_T", bound=ApiStruct)

_EXTERNAL_NAME: Final = "ExternalName"
_IPV4: Final = "IPv4"
_IPV6: Final = "IPv6"
_SINGLE: Final = "SingleStack"
_PREFER_DUAL: Final = "PreferDualStack"
_REQUIRE_DUAL: Final = "RequireDualStack"


class RangeFull(ApiError):
    """No address left (upstream: an InternalError "failed to allocate a serviceIP: range is
    full")."""


def _go_strings(values: Sequence[str]) -> GoValue:
    """Go's `%#v` of a `[]string` (what upstream prints for a bad `clusterIPs`)."""
    if not values:
        return GoValue("[]string(nil)")
    inner = ", ".join(msgspec.json.encode(v).decode() for v in values)
    return GoValue("[]string{" + inner + "}")


def _invalid(name: str, errors: Sequence[FieldError]) -> Invalid:
    return Invalid.of("Service", "", name, errors)


def _field(path: str, value: object, detail: str) -> FieldError:
    return FieldError(FieldErrorType.INVALID, path, value, detail)


def _needs_cluster_ip(spec: ServiceSpec) -> bool:
    """Upstream `needsClusterIP`: every type but ExternalName."""
    return spec.type != _EXTERNAL_NAME


def _normalized(spec: ServiceSpec) -> ServiceSpec:
    """`normalizeClusterIPs` on create: `clusterIP` and `clusterIPs[0]` agree when one is set."""
    if spec.cluster_ip and not spec.cluster_ips:
        return replace(spec, cluster_ips=(spec.cluster_ip,))
    if spec.cluster_ips and not spec.cluster_ip:
        return replace(spec, cluster_ip=spec.cluster_ips[0])
    return spec


class ClusterIPAllocator:
    """The ClusterIP registry of one single-stack (IPv4) service range; see the module doc."""

    __slots__ = ("_band", "_base", "_by_key", "_max", "_network", "_owner", "_seed")

    def __init__(self, cidr: str = DEFAULT_SERVICE_CIDR, *, seed: int = 0) -> None:
        network = ipaddress.ip_network(cidr)
        if not isinstance(network, ipaddress.IPv4Network):
            raise ValueError(f"only an IPv4 service range is supported, not {cidr!r}")
        size = network.num_addresses
        self._network = network
        # `Range`: neither the network address nor the broadcast is ever handed out.
        self._base = int(network.network_address) + 1
        self._max = max(0, size - 2)
        # `calculateRangeOffset`: min(max(16, size / 16), 256); 0 for ranges of <= 16.
        self._band = 0 if size <= 16 else min(max(16, size // 16), 256)
        self._seed = seed
        self._owner: dict[int, str] = {}  # offset -> namespace/name
        self._by_key: dict[str, set[int]] = {}

    # -- reads --------------------------------------------------------------------------------

    @property
    def cidr(self) -> str:
        return str(self._network)

    @property
    def size(self) -> int:
        """How many addresses the range can hand out."""
        return self._max

    def used(self) -> int:
        return len(self._owner)

    def free(self) -> int:
        return self._max - len(self._owner)

    def allocated(self) -> dict[str, str]:
        """Every held address and the `namespace/name` holding it (a copy)."""
        return {self._ip(offset): key for offset, key in sorted(self._owner.items())}

    def owner_of(self, ip: str) -> str | None:
        """The `namespace/name` holding `ip`, if any."""
        offset = self._offset(ip)
        return None if offset is None else self._owner.get(offset)

    # -- lifecycle ----------------------------------------------------------------------------

    def rebuild(self, services: Iterable[Service]) -> list[str]:
        """Forget everything, then hold each stored Service's addresses (upstream's repair
        loop). Returns the problems found (an address outside the range, or held twice: the
        first Service in iteration order keeps it), for the caller to log."""
        self._owner.clear()
        self._by_key.clear()
        problems: list[str] = []
        for service in services:
            key = _key(service)
            for ip in _ips(service.spec):
                offset = self._offset(ip)
                if offset is None:
                    problems.append(
                        f"the cluster IP {ip} for service {key} is not within the "
                        f"service CIDR {self._network}"
                    )
                    continue
                holder = self._owner.get(offset)
                if holder is not None and holder != key:
                    problems.append(
                        f"the cluster IP {ip} for service {key} was assigned to "
                        f"multiple services (held by {holder})"
                    )
                    continue
                self._hold(offset, key)
        return problems

    def allocate(self, service: Service) -> Service:
        """Create: the Service with `clusterIP`, `clusterIPs`, `ipFamilies` and
        `ipFamilyPolicy` set, its address held. A requested address must be free and in the
        range (`Invalid` on `spec.clusterIPs`); `None` allocates nothing; ExternalName is left
        alone. `RangeFull` when no address is left. On any error nothing is held."""
        spec = _normalized(service.spec)
        if not _needs_cluster_ip(spec):
            return service if spec is service.spec else replace(service, spec=spec)
        spec = self._ip_families(service.metadata.name, spec, None)
        if spec.cluster_ip == CLUSTER_IP_NONE:
            return replace(service, spec=spec)
        key = _key(service)
        ip = spec.cluster_ip
        if ip:
            offset = self._check_requested(service.metadata.name, spec, ip)
        else:
            offset = self._next(key, service.metadata.uid)
            ip = self._ip(offset)
        self._hold(offset, key)
        return replace(service, spec=replace(spec, cluster_ip=ip, cluster_ips=(ip,)))

    def release(self, service: Service) -> None:
        """Free the Service's addresses that its key holds (a removed object, or a create
        whose write failed). Unknown, foreign or out-of-range addresses are ignored."""
        key = _key(service)
        for ip in _ips(service.spec):
            offset = self._offset(ip)
            if offset is not None and self._owner.get(offset) == key:
                self._drop(offset, key)

    def prepare_update(self, current: Service, new: Service) -> Service:
        """Update: `patchAllocatedValues` (an update leaving `clusterIP`/`clusterIPs` or the
        IP family fields empty keeps the current ones), then the update rules: an allocated
        address may not change (`spec.clusterIPs[0]: ... may not change once set`); a Service
        becoming ExternalName drops its addresses (freed by `commit`); one leaving
        ExternalName, or stored without any address (before allocation existed), is allocated
        as at create. Call `commit` after the write (with the stored object) or after its
        failure (with `current`)."""
        spec, old = new.spec, current.spec
        if _needs_cluster_ip(spec) and not (old.cluster_ip or old.cluster_ips):
            return self.allocate(new)  # from ExternalName, or stored before allocation existed
        if _needs_cluster_ip(old) and _needs_cluster_ip(spec):
            changes: dict[str, object] = {}
            cluster_ip = spec.cluster_ip or old.cluster_ip
            changes["cluster_ip"] = cluster_ip
            if not spec.cluster_ips and cluster_ip == old.cluster_ip:
                changes["cluster_ips"] = old.cluster_ips
            elif spec.cluster_ips == old.cluster_ips and cluster_ip != old.cluster_ip:
                # `normalizeClusterIPs` on update: a changed clusterIP leads clusterIPs.
                changes["cluster_ips"] = (cluster_ip, *spec.cluster_ips[1:])
            if not spec.ip_families and old.ip_families:
                changes["ip_families"] = old.ip_families
            if spec.ip_family_policy is None and old.ip_family_policy is not None:
                changes["ip_family_policy"] = old.ip_family_policy
            spec = _normalized(replace(spec, **changes) if changes else spec)
            if tuple(spec.cluster_ips) != tuple(old.cluster_ips) and old.cluster_ips:
                path = "spec.clusterIPs[0]"
                detail = "may not change once set"
                if not spec.cluster_ips:
                    detail = "primary clusterIP can not be unset"
                bad = _field(path, _go_strings(spec.cluster_ips), detail)
                raise _invalid(new.metadata.name, [bad])
            spec = self._ip_families(new.metadata.name, spec, old)
            return replace(new, spec=spec)
        cleared = replace(
            spec, cluster_ip="", cluster_ips=(), ip_families=(), ip_family_policy=None
        )
        return replace(new, spec=cleared)  # to ExternalName: no address

    def commit(self, service: Service) -> None:
        """Make what the Service's key holds exactly its addresses (after an update's write,
        with the stored object; after a failed write, with the current one): addresses of
        the key not in the Service are freed, free ones in it are held."""
        key = _key(service)
        wanted = {o for o in map(self._offset, _ips(service.spec)) if o is not None}
        for offset in sorted(self._by_key.get(key, set()) - wanted):
            self._drop(offset, key)
        for offset in sorted(wanted):
            if offset not in self._owner:
                self._hold(offset, key)

    # -- the server's hooks: any kind, Services only are touched -------------------------------

    def rebuild_from(self, objects: Iterable[ApiStruct]) -> list[str]:
        """`rebuild` over the Services among `objects`."""
        return self.rebuild(obj for obj in objects if isinstance(obj, Service))

    def on_create(self, obj: _T) -> _T:
        """`allocate` for a Service; any other object unchanged."""
        return cast("_T", self.allocate(obj)) if isinstance(obj, Service) else obj

    def on_update(self, current: ApiStruct, new: _T) -> _T:
        """`prepare_update` for a Service; any other object unchanged."""
        if isinstance(current, Service) and isinstance(new, Service):
            return cast("_T", self.prepare_update(current, new))
        return new

    def on_written(self, obj: ApiStruct) -> None:
        """`commit` for a Service (after an update, with the stored object or, when the write
        failed, the current one); nothing for any other object."""
        if isinstance(obj, Service):
            self.commit(obj)

    def on_removed(self, obj: ApiStruct) -> None:
        """`release` for a Service (it left the store, or its create's write failed)."""
        if isinstance(obj, Service):
            self.release(obj)

    # -- internals ----------------------------------------------------------------------------

    def _ip(self, offset: int) -> str:
        return str(ipaddress.IPv4Address(self._base + offset))

    def _offset(self, ip: str) -> int | None:
        """The offset of `ip` in the range, None when it is not a usable address of it."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if not isinstance(address, ipaddress.IPv4Address):
            return None
        offset = int(address) - self._base
        return offset if 0 <= offset < self._max else None

    def _hold(self, offset: int, key: str) -> None:
        self._owner[offset] = key
        self._by_key.setdefault(key, set()).add(offset)

    def _drop(self, offset: int, key: str) -> None:
        del self._owner[offset]
        offsets = self._by_key.get(key)
        if offsets is not None:
            offsets.discard(offset)
            if not offsets:
                del self._by_key[key]

    def _check_requested(self, name: str, spec: ServiceSpec, ip: str) -> int:
        """`Range.Allocate`: the offset of a requested address, or `Invalid`."""
        if spec.cluster_ips and spec.cluster_ips[0] != ip:
            bad = _field("spec.clusterIPs", _go_strings(spec.cluster_ips), "must match `clusterIP`")
            raise _invalid(name, [bad])
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            raise _invalid(name, [_field("spec.clusterIPs[0]", ip, detail)]) from None
        offset = self._offset(ip)
        if offset is None:
            why = (
                f"the provided IP ({ip}) is not in the valid range. "
                f"The range of valid IPs is {self._network}"
            )
        elif offset in self._owner:
            why = "provided IP is already allocated"
        else:
            return offset
        detail = f"failed to allocate IP {ip}: {why}"
        raise _invalid(name, [_field("spec.clusterIPs", _go_strings((ip,)), detail)])

    def _next(self, key: str, uid: str) -> int:
        """`randomScanStrategyWithOffset`: from a hashed start, scan the upper band, wrapping,
        then the lower band; `RangeFull` when both are full."""
        if len(self._owner) >= self._max:
            raise RangeFull("failed to allocate a serviceIP: range is full")
        digest = hashlib.sha256(f"{self._seed}/{key}/{uid}/{_IPV4}".encode()).digest()
        start = int.from_bytes(digest[:8], "big")
        for low, high in ((self._band, self._max), (0, self._band)):
            width = high - low
            if width <= 0:
                continue
            first = start % width
            for i in range(width):
                offset = low + (first + i) % width
                if offset not in self._owner:
                    return offset
        raise RangeFull("failed to allocate a serviceIP: range is full")  # pragma: no cover

    def _ip_families(self, name: str, spec: ServiceSpec, old: ServiceSpec | None) -> ServiceSpec:
        """`initIPFamilyFields` for a single-stack IPv4 cluster: the policy defaults to
        SingleStack (RequireDualStack for a headless Service without selector, which then
        lists both families, as upstream allows); only IPv4 may be asked for."""
        policy = spec.ip_family_policy
        headless_selectorless = spec.cluster_ip == CLUSTER_IP_NONE and not spec.selector
        if policy is None:
            if old is not None and old.ip_family_policy is not None:
                policy = old.ip_family_policy
            elif headless_selectorless:
                policy = _REQUIRE_DUAL
            else:
                policy = _SINGLE
        families = tuple(spec.ip_families)
        errors: list[FieldError] = []
        if policy == _SINGLE and len(families) == 2:
            errors.append(
                _field(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families "
                    "are specified",
                )
            )
        if headless_selectorless:
            if not families:
                families = (_IPV4,)
            if len(families) < 2 and policy != _SINGLE:
                families = (*families, _IPV6 if families[0] == _IPV4 else _IPV4)
        else:
            if policy == _REQUIRE_DUAL:
                errors.append(
                    _field(
                        "spec.ipFamilyPolicy",
                        policy,
                        "this cluster is not configured for dual-stack services",
                    )
                )
            for i, family in enumerate(families):
                if family != _IPV4:
                    errors.append(
                        _field(f"spec.ipFamilies[{i}]", family, "not configured on this cluster")
                    )
            if not families:
                families = (_IPV4,)
        if policy not in (_SINGLE, _PREFER_DUAL, _REQUIRE_DUAL):
            supported = (_PREFER_DUAL, _REQUIRE_DUAL, _SINGLE)
            errors.append(not_supported("spec.ipFamilyPolicy", policy, supported))
        if errors:
            raise _invalid(name, errors)
        return replace(spec, ip_families=families, ip_family_policy=policy)


def _key(service: Service) -> str:
    meta = service.metadata
    return f"{meta.namespace}/{meta.name}"


def _ips(spec: ServiceSpec) -> tuple[str, ...]:
    """The addresses a Service holds: its `clusterIPs` (or `clusterIP`), without `None`."""
    ips = tuple(spec.cluster_ips) or ((spec.cluster_ip,) if spec.cluster_ip else ())
    return tuple(ip for ip in ips if ip and ip != CLUSTER_IP_NONE)
