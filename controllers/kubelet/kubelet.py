"""The kubelet simulator: one controller serving every node, acting as `kubelet/<node>`.

    kubelet = Kubelet(client, informers, clock=clock, activity=activity, ids=ids, profile=path)
    manager.add(kubelet.controller)              # name "kubelet"

Nothing is executed: a pod's life is a pure function of its spec, the simulation profile
(`profile.py`), the seed and the time it was admitted (`status.py`, `timeline.py`). A reconcile
of one pod (key `namespace/name`) compares the status that function gives for now with the
stored one, writes it when it differs (one `update_status`, compare-and-swap on the cached
resourceVersion) and asks to be reconciled again when the next change is due
(`Result(requeue_after=...)`): time passes only through the injected clock's timers.

Per pod, in the manner of `pkg/kubelet/pod_workers.go` (`UpdatePod`, `SyncPod`,
`SyncTerminatingPod`) and `pkg/kubelet/status/status_manager.go`:

- admission (first reconcile of a bound pod whose node exists): the pod IP is the lowest free
  host address of the node's `spec.podCIDR` (released when the pod is gone or replaced under
  the same name), hostIP the node's InternalIP, startTime now. A pod that already has a
  startTime and podIP (a restarted simulator) keeps them: its timeline resumes.
- a pod with `metadata.deletionTimestamp`: the containers stop `stopSeconds` (profile) after
  the delete, or are killed at the end of the grace period if that comes first; the terminal
  status is written, then the pod is deleted with `grace_period_seconds=0` and a uid
  precondition (status manager `canBeDeleted` / `DeletePod`). A pod that never started is
  deleted at once.
- terminal pods (Succeeded / Failed) are left alone; their address is released.

Writes: typically two per pod (admitted with its IP and waiting containers; running and, without
a readiness probe, ready), one more per readiness change, restart or pull attempt, and two to
delete it. Warning events (`events.py`: ErrImagePull, ImagePullBackOff, CrashLoopBackOff,
FailedCreatePodSandBox) go through one `EventRecorder` per node (component `kubelet`, host the
node), deduplicated as client-go does. Per-pod work is O(its containers): pods are indexed by
node here, from informer events; no reconcile scans the cluster.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Final

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.kubelet.events import sandbox_failure, status_events
from controllers.kubelet.ipam import AddressPool
from controllers.kubelet.profile import Profile, load_profile
from controllers.kubelet.status import (
    PodNetwork,
    PodPlan,
    plan_pod,
    pod_at,
    pod_status,
    stopped,
)
from cp.api.core import Node
from cp.api.core_pod import Pod, PodStatus
from cp.api.errors import Conflict, NotFound
from cp.api.meta import ApiStruct
from cp.api.times import parse_rfc3339
from cp.client import Client, acting_as, current_cause
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, SharedInformerFactory, meta_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds
from cp.runtime.logging import QuietLogger
from cp.workqueue import WorkQueue

__all__ = ["KUBELET_NAME", "POD_ADDRESS_EXHAUSTED", "Kubelet", "host_ip_of", "kubelet_actor"]

#: The controller's name; each write is attributed to `kubelet/<node>` instead.
KUBELET_NAME: Final = "kubelet"
_TERMINAL: Final = ("Succeeded", "Failed")
#: Log event: a node's podCIDR has no free address; the pod waits for one.
POD_ADDRESS_EXHAUSTED: Final = "pod_address_exhausted"
_log = QuietLogger("controllers.kubelet")


def kubelet_actor(node: str) -> str:
    return f"kubelet/{node}"


def host_ip_of(node: Node) -> str:
    """The node's InternalIP (first), else its first address, else ""."""
    addresses = node.status.addresses if node.status is not None else ()
    for address in addresses:
        if address.type == "InternalIP":
            return address.address
    return addresses[0].address if addresses else ""


@dataclass(slots=True)
class _Admitted:
    """What the simulator holds for a pod it admitted."""

    uid: str
    node: str
    t0: float
    pod_ip: str
    generation: int
    plan: PodPlan
    deleted: bool = False


class Kubelet:
    """The `Reconciler` of the kubelet simulator, its handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        profile: Profile | str | os.PathLike[str] | None = None,
        workers: int = 5,
    ) -> None:
        self._client = client
        self._clock = clock
        self._seed = ids.seed
        if profile is None:
            profile = Profile.default()
        elif not isinstance(profile, Profile):
            profile = load_profile(profile)
        self._profile = profile
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=KUBELET_NAME)
        self._controller = Controller(
            KUBELET_NAME, self, queue, clock=clock, ids=ids, workers=workers
        )
        self._pods = informers.informer_for("Pod")
        self._nodes = informers.informer_for("Node")
        self._by_node: dict[str, dict[Request, None]] = {}
        self._node_of: dict[Request, str] = {}
        self._admitted: dict[Request, _Admitted] = {}
        self._pools: dict[str, AddressPool] = {}
        self._starved: dict[str, dict[Request, None]] = {}  # waiting for a free address
        self._written: dict[Request, str] = {}  # resourceVersion of our last status write
        self._recorders: dict[str, EventRecorder] = {}
        self._pods.add_handler(
            Handlers(
                on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted
            )
        )
        self._nodes.add_handler(
            Handlers(on_add=self._node_changed, on_update=lambda _, n: self._node_changed(n))
        )

    @property
    def controller(self) -> Controller:
        return self._controller

    @property
    def profile(self) -> Profile:
        return self._profile

    def pods_on(self, node: str) -> list[Request]:
        """The keys of the pods bound to `node`, in the order they were seen."""
        return list(self._by_node.get(node, ()))

    # -- event handlers -----------------------------------------------------------------------

    def _index(self, req: Request, node: str) -> None:
        before = self._node_of.get(req)
        if before == node:
            return
        if before is not None:
            self._by_node.get(before, {}).pop(req, None)
        if node:
            self._node_of[req] = node
            self._by_node.setdefault(node, {})[req] = None
        else:
            self._node_of.pop(req, None)

    def _pod_added(self, obj: ApiStruct) -> None:
        if isinstance(obj, Pod) and obj.spec.node_name:
            req = Request(obj.metadata.namespace, obj.metadata.name)
            self._index(req, obj.spec.node_name)
            self._controller.enqueue(req, cause=revision_of(meta_of(obj)))

    def _pod_updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(new, Pod) or not new.spec.node_name:
            return
        req = Request(new.metadata.namespace, new.metadata.name)
        self._index(req, new.spec.node_name)
        if self._written.get(req) == new.metadata.resource_version:
            return  # our own status write coming back
        self._controller.enqueue(req, cause=revision_of(meta_of(new)))

    def _pod_deleted(self, deleted: Deleted) -> None:
        obj = deleted.obj
        req = Request(meta_of(obj).namespace, meta_of(obj).name)
        if req in self._node_of or req in self._admitted:
            self._controller.enqueue(req, cause=revision_of(meta_of(obj)))

    def _node_changed(self, node: ApiStruct) -> None:
        name = meta_of(node).name
        for req in self._by_node.get(name, {}):
            if req not in self._admitted:
                self._controller.enqueue(req, cause=revision_of(meta_of(node)))

    def _recorder(self, node: str) -> EventRecorder:
        """The node's event recorder (source component `kubelet`, host the node)."""
        recorder = self._recorders.get(node)
        if recorder is None:
            recorder = EventRecorder(self._client, "kubelet", clock=self._clock, host=node)
            self._recorders[node] = recorder
        return recorder

    # -- bookkeeping --------------------------------------------------------------------------

    def _pool(self, node: Node) -> AddressPool | None:
        name = node.metadata.name
        cidr = node.spec.pod_cidr if node.spec is not None else ""
        pool = self._pools.get(name)
        if pool is None or pool.cidr != cidr:
            if not cidr:
                return None
            try:
                pool = AddressPool(cidr)
            except ValueError:
                return None
            self._pools[name] = pool
        return pool

    def _release(self, req: Request) -> None:
        """Forget an admitted pod and free its address (waking pods that wait for one)."""
        admitted = self._admitted.pop(req, None)
        self._written.pop(req, None)
        if admitted is None:
            return
        pool = self._pools.get(admitted.node)
        if pool is not None and admitted.pod_ip:
            pool.release(admitted.pod_ip)
            starved = self._starved.pop(admitted.node, {})
            for waiting in starved:
                self._controller.enqueue(waiting, cause=current_cause())

    def _admit(self, req: Request, pod: Pod, node: Node) -> _Admitted | None:
        """Admit `pod`: its address and start time (kept from its status when it has them)."""
        pool = self._pool(node)
        status = pod.status
        ip = status.pod_ip if status is not None else ""
        if pool is None:
            ip = ""
        elif not (ip and pool.reserve(ip)):
            allocated = pool.allocate()
            if allocated is None:
                self._starved.setdefault(node.metadata.name, {})[req] = None
                _log.warning(POD_ADDRESS_EXHAUSTED, node=node.metadata.name, pod=str(req))
                return None
            ip = allocated
        start = status.start_time if status is not None else None
        t0 = parse_rfc3339(start) if start else self._clock.now()
        admitted = _Admitted(
            uid=pod.metadata.uid,
            node=node.metadata.name,
            t0=t0,
            pod_ip=ip,
            generation=pod.metadata.generation,
            plan=plan_pod(pod, self._profile, seed=self._seed),
        )
        self._admitted[req] = admitted
        return admitted

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        cached = self._pods.indexer.get(req.namespace, req.name)
        admitted = self._admitted.get(req)
        pod = cached if isinstance(cached, Pod) else None
        if admitted is not None and (pod is None or pod.metadata.uid != admitted.uid):
            self._release(req)
            admitted = None
        if pod is None:
            self._index(req, "")
            return Result()
        node_name = pod.spec.node_name
        node = self._nodes.indexer.get("", node_name) if node_name else None
        if not isinstance(node, Node):
            return Result()  # unbound, or its node is unknown: a node event enqueues it
        phase = pod.status.phase if pod.status is not None else ""
        if pod.metadata.deletion_timestamp is not None:
            started = pod.status is not None and pod.status.start_time
            if admitted is None and started and phase not in _TERMINAL:
                admitted = self._admit(req, pod, node)  # a restarted simulator: stop it properly
            return await self._terminate(req, pod, admitted)
        if phase in _TERMINAL:
            self._release(req)
            return Result()
        if admitted is None:
            admitted = self._admit(req, pod, node)
            if admitted is None:  # no free address: retried when one is released
                pool = self._pools.get(node_name)
                with acting_as(kubelet_actor(node_name), current_cause()):
                    await self._recorder(node_name).event(
                        pod, *sandbox_failure(pool.cidr if pool is not None else "")
                    )
                return Result()
        if admitted.generation != pod.metadata.generation:
            admitted.plan = plan_pod(pod, self._profile, seed=self._seed)
            admitted.generation = pod.metadata.generation
        now = self._clock.now()
        view = pod_at(admitted.plan, admitted.t0, now)
        net = PodNetwork(host_ip=host_ip_of(node), pod_ip=admitted.pod_ip)
        status = pod_status(pod, view, net, t0=admitted.t0, now=now, seed=self._seed)
        await self._write_status(req, pod, status, admitted.node)
        if view.next_change is None:
            return Result()
        return Result(requeue_after=max(0.0, view.next_change - now))

    async def _write_status(self, req: Request, pod: Pod, status: PodStatus, node: str) -> bool:
        """Write `status` unless it is the stored one, then its events; False when the pod is
        gone."""
        if status == pod.status:
            return True
        with acting_as(kubelet_actor(node), current_cause()):
            try:
                written = await self._client.update_status(replace(pod, status=status))
            except NotFound:
                return False
            self._written[req] = written.metadata.resource_version
            for type_, reason, message in status_events(pod, pod.status, status):
                await self._recorder(node).event(written, type_, reason, message)
        return True

    async def _terminate(self, req: Request, pod: Pod, admitted: _Admitted | None) -> Result:
        """Stop the containers, report it, then delete the pod for good (grace 0, uid)."""
        meta = pod.metadata
        node = pod.spec.node_name
        if admitted is not None and admitted.deleted:
            return Result()
        phase = pod.status.phase if pod.status is not None else ""
        if admitted is not None and phase not in _TERMINAL:
            grace = meta.deletion_grace_period_seconds
            if grace is None:
                grace = pod.spec.termination_grace_period_seconds or 0
            deadline = parse_rfc3339(str(meta.deletion_timestamp))
            begin = max(deadline - grace, admitted.t0)
            plan = admitted.plan
            at = begin + min(plan.stop_seconds, float(grace))
            now = self._clock.now()
            if now < at:
                return Result(requeue_after=at - now)
            view = stopped(pod_at(plan, admitted.t0, at), at, killed=plan.stop_seconds > grace)
            nodes = self._nodes.indexer.get("", node)
            host = host_ip_of(nodes) if isinstance(nodes, Node) else ""
            net = PodNetwork(host_ip=host, pod_ip=admitted.pod_ip)
            status = pod_status(pod, view, net, t0=admitted.t0, now=at, seed=self._seed)
            if not await self._write_status(req, pod, status, node):
                self._release(req)
                return Result()
        # NotFound: gone already; Conflict: another pod of that name (the uid precondition)
        with (
            acting_as(kubelet_actor(node), current_cause()),
            contextlib.suppress(NotFound, Conflict),
        ):
            await self._client.delete(
                "Pod", meta.name, meta.namespace, grace_period_seconds=0, uid=meta.uid
            )
        if admitted is not None:
            admitted.deleted = True
        return Result()
