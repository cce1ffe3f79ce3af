"""The kinds table: what kubectl's discovery knows about each kind cpemu serves.

`KINDS` is a constant built once at import from immutable tuples. `KINDS.lookup(name)` accepts,
case-insensitively, every name kubectl accepts for a resource: the kind (`Deployment`), the
plural (`deployments`), the singular (`deployment`), the short names (`deploy`), and the
group-qualified forms (`deployments.apps`, `deployments.v1.apps`, `deployment.apps`).
`KINDS.for_api_version("apps/v1", "Deployment")` is the exact, case-sensitive match a manifest
needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cp.api.apps import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from cp.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Service,
)
from cp.api.core_pod import Pod
from cp.api.dns import DNSRecordSet
from cp.api.meta import ApiStruct
from cp.api.storage import StorageClass

__all__ = ["KINDS", "KindInfo", "KindTable"]


@dataclass(frozen=True, slots=True)
class KindInfo:
    """One resource as discovery describes it; `cls` is the Struct that holds its objects."""

    kind: str
    group: str
    version: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool
    cls: type[ApiStruct]
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """`v1` for the core group, else `group/version` (`apps/v1`)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def names(self) -> tuple[str, ...]:
        """Every name `lookup` accepts for this kind, lower-cased."""
        base = (self.kind.lower(), self.plural, self.singular, *self.short_names)
        if not self.group:
            return base
        qualified = (self.plural, self.singular, self.kind.lower())
        return (
            *base,
            *(f"{name}.{self.group}" for name in qualified),
            *(f"{name}.{self.version}.{self.group}" for name in qualified),
        )


class KindTable:
    """An immutable lookup over a tuple of `KindInfo`; names must not collide."""

    __slots__ = ("_by_api", "_by_name", "_entries")

    def __init__(self, entries: tuple[KindInfo, ...]) -> None:
        by_name: dict[str, KindInfo] = {}
        by_api: dict[tuple[str, str], KindInfo] = {}
        for entry in entries:
            for name in entry.names():
                other = by_name.setdefault(name, entry)
                if other is not entry:
                    raise ValueError(f"name {name!r} is claimed by {other.kind} and {entry.kind}")
            by_api[(entry.api_version, entry.kind)] = entry
        self._entries = entries
        self._by_name: Mapping[str, KindInfo] = MappingProxyType(by_name)
        self._by_api: Mapping[tuple[str, str], KindInfo] = MappingProxyType(by_api)

    def lookup(self, name: str) -> KindInfo | None:
        """The kind called `name` by kubectl (kind, plural, singular, short name), or None."""
        return self._by_name.get(name.strip().lower())

    def for_api_version(self, api_version: str, kind: str) -> KindInfo | None:
        """The kind a manifest's `apiVersion` and `kind` name (exact match), or None."""
        return self._by_api.get((api_version, kind))

    def __iter__(self) -> Iterator[KindInfo]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


KINDS = KindTable(
    (
        KindInfo(
            kind="ConfigMap",
            group="",
            version="v1",
            plural="configmaps",
            singular="configmap",
            short_names=("cm",),
            namespaced=True,
            cls=ConfigMap,
        ),
        KindInfo(
            kind="Endpoints",
            group="",
            version="v1",
            plural="endpoints",
            singular="endpoints",
            short_names=("ep",),
            namespaced=True,
            cls=Endpoints,
        ),
        KindInfo(
            kind="Event",
            group="",
            version="v1",
            plural="events",
            singular="event",
            short_names=("ev",),
            namespaced=True,
            cls=Event,
        ),
        KindInfo(
            kind="Namespace",
            group="",
            version="v1",
            plural="namespaces",
            singular="namespace",
            short_names=("ns",),
            namespaced=False,
            cls=Namespace,
        ),
        KindInfo(
            kind="Node",
            group="",
            version="v1",
            plural="nodes",
            singular="node",
            short_names=("no",),
            namespaced=False,
            cls=Node,
        ),
        KindInfo(
            kind="PersistentVolume",
            group="",
            version="v1",
            plural="persistentvolumes",
            singular="persistentvolume",
            short_names=("pv",),
            namespaced=False,
            cls=PersistentVolume,
        ),
        KindInfo(
            kind="PersistentVolumeClaim",
            group="",
            version="v1",
            plural="persistentvolumeclaims",
            singular="persistentvolumeclaim",
            short_names=("pvc",),
            namespaced=True,
            cls=PersistentVolumeClaim,
        ),
        KindInfo(
            kind="Pod",
            group="",
            version="v1",
            plural="pods",
            singular="pod",
            short_names=("po",),
            namespaced=True,
            cls=Pod,
            categories=("all",),
        ),
        KindInfo(
            kind="Service",
            group="",
            version="v1",
            plural="services",
            singular="service",
            short_names=("svc",),
            namespaced=True,
            cls=Service,
            categories=("all",),
        ),
        KindInfo(
            kind="ControllerRevision",
            group="apps",
            version="v1",
            plural="controllerrevisions",
            singular="controllerrevision",
            short_names=(),
            namespaced=True,
            cls=ControllerRevision,
        ),
        KindInfo(
            kind="DaemonSet",
            group="apps",
            version="v1",
            plural="daemonsets",
            singular="daemonset",
            short_names=("ds",),
            namespaced=True,
            cls=DaemonSet,
            categories=("all",),
        ),
        KindInfo(
            kind="Deployment",
            group="apps",
            version="v1",
            plural="deployments",
            singular="deployment",
            short_names=("deploy",),
            namespaced=True,
            cls=Deployment,
            categories=("all",),
        ),
        KindInfo(
            kind="ReplicaSet",
            group="apps",
            version="v1",
            plural="replicasets",
            singular="replicaset",
            short_names=("rs",),
            namespaced=True,
            cls=ReplicaSet,
            categories=("all",),
        ),
        KindInfo(
            kind="StatefulSet",
            group="apps",
            version="v1",
            plural="statefulsets",
            singular="statefulset",
            short_names=("sts",),
            namespaced=True,
            cls=StatefulSet,
            categories=("all",),
        ),
        KindInfo(
            kind="StorageClass",
            group="storage.k8s.io",
            version="v1",
            plural="storageclasses",
            singular="storageclass",
            short_names=("sc",),
            namespaced=False,
            cls=StorageClass,
        ),
        KindInfo(
            kind="DNSRecordSet",
            group="dns.cpemu.io",
            version="v1",
            plural="dnsrecordsets",
            singular="dnsrecordset",
            short_names=("dnsrs",),
            namespaced=True,
            cls=DNSRecordSet,
        ),
    )
)
