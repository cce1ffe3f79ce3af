"""`ControlPlane`: the embedding API (fixed contract 2 in DESIGN.md), a composition root.

    async with ControlPlane.open(store="memory://", clock="virtual", nodes=3, seed=0) as plane:
        objs = await plane.apply(yaml_text)            # kubectl-apply semantics
        report = await plane.settle(max_seconds=3600)  # SettleReport(converged, seconds, events)
        dep = await plane.client.get("Deployment", "myapp-deploy", namespace="default")

What `open` builds, in order: the event log (`store.open_log(url)`); one `Activity`; the clock
(`VirtualClock(activity, start=...)`, or `RealClock()` for `clock="real"`);
`SeededIds(seed, epoch=head)` (a reopened log continues its id sequence, never repeating one);
an `ApiServer` over the log wrapped in `_ActivityLog` (every write holds an activity count from
submit until it is committed, so a SQLite commit in flight keeps virtual time from jumping);
an `InProcessClient`; a `SharedInformerFactory` (its busy-probes keep the plane busy while an
informer is behind the log head); a `Manager` for the controllers. Then it registers `nodes`
Node objects (`node-1` .. `node-N`, Ready) and the default StorageClass `standard`
(provisioner `cpemu.io/hostpath`) when they do not exist yet; `nodes=0` makes a bare plane that
writes nothing of its own.

Virtual time starts at `VIRTUAL_EPOCH` (2023-11-14T22:13:20Z) on an empty log; on a log that
already has events (a SQLite state file) it resumes at the `time` of the last event, so AGE and
timers carry on across runs.

`settle` on the virtual clock is `clock.run_until_idle(horizon=now + max_seconds)`: wait for
the activity counter (and probes) to be idle, jump to the earliest timer, fire everything due
then, repeat; stop when no timer is left (`converged=True`) or the next one lies past the
horizon (`converged=False`). Time stays at the last timer fired, so settling a quiet plane ages
nothing. On the real clock it waits for activity idle, bounded by `max_seconds` of wall time.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Final, Literal, cast

import anyio
import msgspec
from msgspec.structs import replace

import store as _store
from controllers.daemonset import DaemonSetController
from controllers.deployment import DeploymentController
from controllers.dns import DNSController
from controllers.endpoints import EndpointsController
from controllers.gc import GarbageCollector
from controllers.kubelet import Kubelet, Profile, load_profile
from controllers.replicaset import ReplicaSetController
from controllers.scheduler import Scheduler
from controllers.statefulset import StatefulSetController
from controllers.volume import PersistentVolumeController, default_storage_class
from cp.api.codec import CODEC
from cp.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Node,
    NodeAddress,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    NodeSystemInfo,
    Service,
    ServicePort,
    ServiceSpec,
)
from cp.api.errors import BadRequest, NotFound
from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.patch_strategic import three_way_merge
from cp.apiserver import ApiServer
from cp.apiserver.keys import rfc3339
from cp.client.causality import acting_as, current_cause
from cp.client.inprocess import InProcessClient
from cp.clock import VIRTUAL_EPOCH
from cp.informer import SharedInformerFactory
from cp.runtime import Activity, Clock, Controller, Manager, RealClock, SeededIds, VirtualClock

__all__ = ["LAST_APPLIED", "VIRTUAL_EPOCH", "ControlPlane", "SettleReport"]

#: The annotation `kubectl apply` keeps the last applied manifest in.
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"

_JSON: Final = msgspec.json.Encoder(order="sorted")


class SettleReport(msgspec.Struct, frozen=True, gc=False):
    """What one `settle` did: whether no timer is left pending (`converged`), the virtual (or,
    on the real clock, wall) seconds that passed, and the store revisions written meanwhile."""

    converged: bool
    seconds: float
    events: int


class _ActivityLog:
    """The plane's `EventLog` for the `ApiServer`: writes hold an activity count until committed.

    The store's writer task (SQLite) commits on its own schedule; while a write is in flight
    nothing else in the plane may look idle, or the virtual clock would jump past it. Reads,
    watches and history are delegated unchanged.
    """

    __slots__ = ("_activity", "_log")

    def __init__(self, log: _store.EventLog, activity: Activity) -> None:
        self._log = log
        self._activity = activity

    @property
    def revision(self) -> int:
        return self._log.revision

    @property
    def compacted_revision(self) -> int:
        return self._log.compacted_revision

    async def create(
        self, key: str, value: bytes, *, actor: str = "user", cause: int = 0, time: float = 0.0
    ) -> int:
        with self._activity.hold():
            return await self._log.create(key, value, actor=actor, cause=cause, time=time)

    async def update(
        self,
        key: str,
        value: bytes,
        *,
        expected: int,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int:
        with self._activity.hold():
            return await self._log.update(
                key, value, expected=expected, actor=actor, cause=cause, time=time
            )

    async def delete(
        self,
        key: str,
        *,
        expected: int | None = None,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int:
        with self._activity.hold():
            return await self._log.delete(
                key, expected=expected, actor=actor, cause=cause, time=time
            )

    async def get(self, key: str, *, at: int | None = None) -> _store.KeyValue | None:
        return await self._log.get(key, at=at)

    async def range(
        self, prefix: str, *, at: int | None = None, limit: int | None = None
    ) -> _store.RangeResult:
        return await self._log.range(prefix, at=at, limit=limit)

    def watch(self, prefix: str, *, after: int) -> _store.Watch:
        return self._log.watch(prefix, after=after)

    def events(
        self, *, after: int = 0, until: int | None = None, prefix: str = ""
    ) -> AsyncIterator[_store.Event]:
        return self._log.events(after=after, until=until, prefix=prefix)

    async def compact(self, revision: int) -> None:
        await self._log.compact(revision)

    async def flush(self) -> None:
        await self._log.flush()


def _write_behind(url: str) -> str:
    """A sqlite:// URL without a `durability` option gets `durability=deferred`: writes commit
    at memory speed, in the same order as on the memory store (so the same inputs give the same
    log), and `settle` and closing flush them; `plane.log.flush()` is the barrier for anything
    else. Flushing inside `apply` would let controllers run during the disk wait and reorder the
    log against the memory store's, so it does not."""
    if not isinstance(url, str) or not url.startswith("sqlite://"):
        return url
    _, _, query = url.partition("?")
    if any(part.split("=", 1)[0] == "durability" for part in query.split("&") if part):
        return url
    return f"{url}{'&' if query else '?'}durability=deferred"


#: The `kubernetes` Service's ClusterIP (the first address of 10.96.0.0/12) and the address
#: the API server advertises behind it.
_KUBERNETES_SERVICE_IP: Final = "10.96.0.1"
_APISERVER_ADDRESS: Final = "172.18.0.1"
#: What the emulated kubelets report about themselves (`kubectl get nodes -o wide`): a kind
#: node of Kubernetes 1.32.
_KUBELET_VERSION: Final = "v1.32.0"


def _node_info(name: str) -> NodeSystemInfo:
    """The node's `status.nodeInfo`, with ids derived from its name (stable, and taking
    nothing from the plane's seeded id sequence)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return NodeSystemInfo(
        machine_id=digest[:32],
        system_uuid=str(uuid.UUID(digest[32:64])),
        boot_id=str(uuid.UUID(digest[:32])),
        kernel_version="6.1.0-cpemu",
        os_image="Debian GNU/Linux 12 (bookworm)",
        container_runtime_version="containerd://1.7.24",
        kubelet_version=_KUBELET_VERSION,
        kube_proxy_version=_KUBELET_VERSION,
        operating_system="linux",
        architecture="amd64",
    )


def _check_options(clock: str, nodes: int) -> None:
    if clock not in ("virtual", "real"):
        raise ValueError(f"clock must be 'virtual' or 'real', not {clock!r}")
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 0:
        raise ValueError(f"nodes must be an int >= 0, not {nodes!r}")


async def _resume_time(log: _store.EventLog) -> float:
    """The `time` of the log's last event, or `VIRTUAL_EPOCH` for an empty log."""
    head = log.revision
    if head == 0:
        return VIRTUAL_EPOCH
    try:
        async for event in log.events(after=head - 1, until=head):
            return max(VIRTUAL_EPOCH, event.time)
    except _store.Compacted:
        pass
    return VIRTUAL_EPOCH


def _manifest_json(raw: Mapping[str, object]) -> tuple[dict[str, object], str]:
    """(the manifest's JSON builtins without the last-applied annotation, its compact JSON)."""
    manifest = dict(raw)
    metadata = manifest.get("metadata")
    if isinstance(metadata, Mapping):
        metadata = dict(metadata)
        manifest["metadata"] = metadata
        annotations = metadata.get("annotations")
        if isinstance(annotations, Mapping) and LAST_APPLIED in annotations:
            annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
            if annotations:
                metadata["annotations"] = annotations
            else:
                del metadata["annotations"]
    return manifest, _JSON.encode(manifest).decode()


def _builtins(obj: ApiStruct) -> dict[str, object]:
    raw = msgspec.to_builtins(obj)
    if not isinstance(raw, dict):
        raise BadRequest(f"{type(obj).__name__} is not an object")
    return raw


def _meta(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise BadRequest(f"{type(obj).__name__} has no metadata")
    return meta


class ControlPlane:
    """An in-process control plane: event log, API server, client, informers, controllers.

    Make one with `ControlPlane.open(...)` (an async context manager); see the module doc.
    """

    def __init__(
        self,
        *,
        log: _store.EventLog,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        server: ApiServer,
        client: InProcessClient,
        informers: SharedInformerFactory,
        manager: Manager,
        nodes: int,
        profile: str | None,
    ) -> None:
        self._log = log
        self._clock = clock
        self._activity = activity
        self._ids = ids
        self._server = server
        self._client = client
        self._informers = informers
        self._manager = manager
        self._nodes = nodes
        self._profile = profile

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        store: str = "memory://",
        clock: Literal["virtual", "real"] = "virtual",
        nodes: int = 3,
        profile: str | None = None,
        seed: int = 0,
    ) -> AsyncIterator[ControlPlane]:
        """Open the store at `store`, build the plane, run it for the `async with` block."""
        _check_options(clock, nodes)
        async with (
            _store.open_log(_write_behind(store)) as log,
            cls.on_log(log, clock=clock, nodes=nodes, profile=profile, seed=seed) as plane,
        ):
            yield plane

    @classmethod
    @asynccontextmanager
    async def on_log(
        cls,
        log: _store.EventLog,
        clock: Literal["virtual", "real"] = "virtual",
        nodes: int = 3,
        profile: str | None = None,
        seed: int = 0,
    ) -> AsyncIterator[ControlPlane]:
        """Run the plane over `log`, already open and owned by the caller (who closes it, and
        may run several planes on it one after the other, as the `cpemu` command does, one per
        invocation). The virtual clock resumes at the time of the log's last event."""
        _check_options(clock, nodes)
        activity = Activity()
        the_clock: Clock
        if clock == "virtual":
            the_clock = VirtualClock(activity, start=await _resume_time(log))
        else:
            the_clock = RealClock()
        # a reopened log continues the id sequence after its head: never a uid twice
        ids = SeededIds(seed, epoch=log.revision)
        server = ApiServer(_ActivityLog(log, activity), clock_now=the_clock.now, ids=ids.uid)
        plane = cls(
            log=log,
            clock=the_clock,
            activity=activity,
            ids=ids,
            server=server,
            client=InProcessClient(server),
            informers=SharedInformerFactory(server, activity, head=lambda: log.revision),
            manager=Manager(),
            nodes=nodes,
            profile=profile,
        )
        # -- controllers ------------------------------------------------------------------
        # The composition root registers the shipped controllers here, each built on the
        # plane's client, informers, clock, activity and ids.
        # The collector watches every kind the server serves, as upstream's does: the
        # server adds the `orphan`/`foregroundDeletion` finalizers for any kind.
        collector = GarbageCollector(
            plane.client,
            plane.informers,
            tuple(info.kind for info in KINDS),
            clock=the_clock,
            activity=activity,
            ids=ids,
        )
        plane._manager.add(collector.controller)
        client, informers = plane.client, plane.informers
        simulation = load_profile(profile) if profile is not None else Profile.default()
        for workload in (
            Scheduler(client, informers, clock=the_clock, activity=activity, ids=ids),
            Kubelet(
                client,
                informers,
                clock=the_clock,
                activity=activity,
                ids=ids,
                profile=simulation,
            ),
            ReplicaSetController(client, informers, clock=the_clock, activity=activity, ids=ids),
            DeploymentController(client, informers, clock=the_clock, activity=activity, ids=ids),
            EndpointsController(client, informers, clock=the_clock, activity=activity, ids=ids),
            StatefulSetController(client, informers, clock=the_clock, activity=activity, ids=ids),
            PersistentVolumeController(
                client,
                informers,
                clock=the_clock,
                activity=activity,
                ids=ids,
                served_provisioners=simulation.storage.provisioners,
            ),
            DNSController(client, informers, clock=the_clock, activity=activity, ids=ids),
            DaemonSetController(client, informers, clock=the_clock, activity=activity, ids=ids),
        ):
            plane._manager.add(workload.controller)
        async with plane._informers, plane._manager:
            await plane._register_nodes()
            await plane._register_default_storage_class()
            await plane._register_kubernetes_service()
            yield plane

    # -- parts ---------------------------------------------------------------------------------

    @property
    def log(self) -> _store.EventLog:
        """The store's event log (fixed contract 1); values are the encoded objects."""
        return self._log

    @property
    def client(self) -> InProcessClient:
        return self._client

    @property
    def server(self) -> ApiServer:
        return self._server

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def activity(self) -> Activity:
        return self._activity

    @property
    def ids(self) -> SeededIds:
        return self._ids

    @property
    def informers(self) -> SharedInformerFactory:
        return self._informers

    @property
    def manager(self) -> Manager:
        return self._manager

    @property
    def nodes(self) -> int:
        """How many emulated nodes the plane registers (`node-1` .. `node-N`)."""
        return self._nodes

    @property
    def profile(self) -> str | None:
        """The kubelet simulator's profile as given to `open` (a YAML file's path or the YAML
        text; None: the built-in defaults). See `controllers.kubelet.profile`."""
        return self._profile

    def add_controller(self, controller: Controller) -> None:
        """Run `controller` in the plane's manager (started at once: the plane is running)."""
        self._manager.add(controller)

    # -- apply -----------------------------------------------------------------------------------

    async def apply(
        self, manifests: str | ApiStruct | Iterable[ApiStruct]
    ) -> tuple[ApiStruct, ...]:
        """`kubectl apply` each object of `manifests` (YAML/JSON text, or objects), in order.

        Absent: created with the `kubectl.kubernetes.io/last-applied-configuration` annotation
        (the manifest's compact JSON, keys sorted, without that annotation). Present: the
        three-way strategic merge patch of (last applied, manifest, live object) is sent with
        `patch_type="strategic"`, so fields others set and the manifest never mentioned stay;
        an empty patch writes nothing. Writes are the user's (actor "user"), with the cause
        of the caller's context (0 unless set with `acting_as`).
        Returns the stored objects.
        """
        documents: tuple[tuple[ApiStruct, Mapping[str, object]], ...]
        if isinstance(manifests, str):
            documents = CODEC.load_documents(manifests, source="<apply>")
        elif isinstance(manifests, ApiStruct):
            documents = ((manifests, _builtins(manifests)),)
        else:
            documents = tuple((obj, _builtins(obj)) for obj in manifests)
        # the user's, keeping the cause the caller set (`cpemu` names its command record)
        with acting_as("user", cause=current_cause()):
            return tuple([await self._apply_one(obj, raw) for obj, raw in documents])

    async def _apply_one(self, obj: ApiStruct, raw: Mapping[str, object]) -> ApiStruct:
        meta = _meta(obj)
        kind = getattr(obj, "kind", type(obj).__name__)
        if not meta.name:
            raise BadRequest(f"{kind}: apply needs metadata.name (generateName is not supported)")
        namespace = meta.namespace or None
        modified, last_applied = _manifest_json(raw)
        try:
            current = await self._client.get(kind, meta.name, namespace=namespace)
        except NotFound:
            annotations = {**meta.annotations, LAST_APPLIED: last_applied}
            return await self._client.create(
                replace(obj, metadata=replace(meta, annotations=annotations))
            )
        metadata = dict(cast(Mapping[str, object], modified.get("metadata") or {}))
        manifest_annotations = cast(Mapping[str, object], metadata.get("annotations") or {})
        metadata["annotations"] = {**manifest_annotations, LAST_APPLIED: last_applied}
        modified["metadata"] = metadata
        previous = _meta(current).annotations.get(LAST_APPLIED)
        original: object = None
        if previous is not None:
            try:
                original = msgspec.json.decode(previous)
            except msgspec.DecodeError:
                original = None
        patch = three_way_merge(original, modified, msgspec.to_builtins(current), kind)
        if not patch:
            return current
        assert isinstance(patch, Mapping)
        return await self._client.patch(
            kind, meta.name, patch, patch_type="strategic", namespace=namespace
        )

    # -- settle ----------------------------------------------------------------------------------

    async def settle(self, max_seconds: float = 3600.0) -> SettleReport:
        """Run until nothing has work and no timer is due within `max_seconds` (see module doc)."""
        if math.isnan(max_seconds) or max_seconds < 0:
            raise ValueError(f"max_seconds must be >= 0, not {max_seconds!r}")
        start_revision = self._log.revision
        start = self._clock.now()
        if isinstance(self._clock, VirtualClock):
            report = await self._clock.run_until_idle(horizon=start + max_seconds)
            converged = report.converged
        else:
            with anyio.move_on_after(max_seconds) as scope:
                await self._activity.wait_idle()
            converged = not scope.cancelled_caught
        await self._log.flush()  # what the controllers wrote is durable when settle returns
        return SettleReport(
            converged=converged,
            seconds=self._clock.now() - start,
            events=self._log.revision - start_revision,
        )

    # -- cluster objects ---------------------------------------------------------------------------

    async def _register_default_storage_class(self) -> None:
        """Create the default StorageClass `standard` (cpemu.io/hostpath) unless one exists."""
        if self._nodes == 0:
            return  # a bare plane (nodes=0) writes nothing of its own
        standard = default_storage_class()
        try:
            await self._client.get("StorageClass", standard.metadata.name)
        except NotFound:
            with acting_as("addon/default-storage-class"):
                await self._client.create(standard)

    async def _register_kubernetes_service(self) -> None:
        """The `default/kubernetes` Service and its Endpoints, as the API server's bootstrap
        controller keeps them (upstream `pkg/controlplane/controller/kubernetesservice`):
        ClusterIP the first address of the range, port `https` 443 -> 6443, no selector, and
        the API server's address (kind's control-plane node, 172.18.0.1 here: the emulated
        nodes start at .2) as the one endpoint. Unless they exist; not on a bare plane."""
        if self._nodes == 0:
            return
        try:
            await self._client.get("Service", "kubernetes", namespace="default")
            return
        except NotFound:
            pass
        meta = ObjectMeta(
            name="kubernetes",
            namespace="default",
            labels={"component": "apiserver", "provider": "kubernetes"},
        )
        port = ServicePort(name="https", protocol="TCP", port=443, target_port=6443)
        service = Service(
            metadata=meta,
            spec=ServiceSpec(ports=(port,), cluster_ip=_KUBERNETES_SERVICE_IP, type="ClusterIP"),
        )
        endpoints = Endpoints(
            metadata=replace(meta, labels={"endpointslice.kubernetes.io/skip-mirror": "true"}),
            subsets=(
                EndpointSubset(
                    addresses=(EndpointAddress(ip=_APISERVER_ADDRESS),),
                    ports=(EndpointPort(name="https", port=6443, protocol="TCP"),),
                ),
            ),
        )
        with acting_as("apiserver/bootstrap"):
            await self._client.create(service)
            await self._client.create(endpoints)

    async def _register_nodes(self) -> None:
        """Create the Ready nodes `node-1` .. `node-N` that are not in the store yet."""
        for i in range(1, self._nodes + 1):
            name = f"node-{i}"
            try:
                await self._client.get("Node", name)
                continue
            except NotFound:
                pass
            now = rfc3339(self._clock.now())
            cidr = f"10.{244 + (i - 1) // 256}.{(i - 1) % 256}.0/24"  # 10.244.0.0/16 first
            ready = NodeCondition(
                type="Ready",
                status="True",
                last_heartbeat_time=now,
                last_transition_time=now,
                reason="KubeletReady",
                message="kubelet is posting ready status",
            )
            address = f"172.18.{(i + 1) // 256}.{(i + 1) % 256}"  # as kind's docker network
            labels = {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            }
            node = Node(
                metadata=ObjectMeta(name=name, labels=labels),
                spec=NodeSpec(pod_cidr=cidr, pod_cidrs=(cidr,)),
                status=NodeStatus(
                    capacity={"cpu": "4", "memory": "8Gi", "pods": "110"},
                    allocatable={"cpu": "4", "memory": "8Gi", "pods": "110"},
                    conditions=(ready,),
                    addresses=(
                        NodeAddress(type="InternalIP", address=address),
                        NodeAddress(type="Hostname", address=name),
                    ),
                    node_info=_node_info(name),
                ),
            )
            with acting_as(f"kubelet/{name}"):
                await self._client.create(node)
