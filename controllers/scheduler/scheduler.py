"""The scheduler (`pkg/scheduler/schedule_one.go`), level-based: binds pending pods to nodes.

    scheduler = Scheduler(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(scheduler.controller)      # actor "controller/scheduler"

One reconcile looks at one pod (key `namespace/name`). A pod is pending when it has no
`spec.nodeName`, is not being deleted, and asks for the default scheduler (`schedulerName` ""
or `default-scheduler`). For a pending pod (`scheduleOne`):

- the least-loaded fitting node is picked (`filters.py`); the load of a node is the number of
  non-terminated pods bound to it, kept in the `cache.LoadCache` from informer events and
  counted the moment a pod is bound (the scheduler cache's "assumed" pods), so one worker
  picking pod after pod spreads them without waiting for the informer. The pick costs
  O(log nodes) and a failing attempt's fit error O(its reasons) (`cache.py`): the nodes are
  filtered once per pod template (tolerations and nodeSelector) until a node event;
- bound with one write, the pods/binding subresource (`Client.bind` with the pod's uid as
  precondition, upstream's `DefaultBinder`): `spec.nodeName` and `PodScheduled` True together.
  Event `Normal Scheduled "Successfully assigned default/web-1 to node-1"`. A Conflict (bound
  meanwhile, being deleted, recreated) is retried with backoff and then finds nothing to do;
- no node fits: `PodScheduled` False with reason `Unschedulable` and the fit error as message
  (written when it changes), event `Warning FailedScheduling <message>`, and the pod is parked
  in the unschedulable set (`unschedulablePods`), before any write, so no event falls between
  the attempt and the parking. A cluster event that may make room or a fit (a node added,
  removed, or changed in what the filters read: spec, labels, allocatable, the status of its
  conditions; a bound pod gone or finished) moves every parked pod out
  (`movePodsToActiveOrBackoffQueue`): into the queue at once when its back-off (1 s after the
  first failed attempt, doubling to 10 s) is over, else when it ends. A moved pod is parked
  again only by its next failed attempt, so each event costs O(parked pods) and the set stays
  small. Upstream's 5-minute periodic flush is not emulated (no periodic work).

Per pod event the handlers do O(1) work: a bound pod's update that changes neither its node nor
whether it is terminated costs a few attribute reads.

Volumes (the VolumeBinding plugin's PreFilter): a pod whose PersistentVolumeClaims are missing,
being deleted, or unbound with an Immediate class stays Pending (`claims_bound` of
`controllers.volume`, as upstream's plugin uses the volume binder's library); a claim or class
event moves the parked pods. WaitForFirstConsumer claims do not block: the binder provisions
them once the pod is on a node.
"""

from __future__ import annotations

from typing import Final

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.scheduler.cache import LoadCache
from controllers.scheduler.filters import fit_error
from controllers.volume.util import claims_bound
from cp.api.core import Node, PersistentVolumeClaim
from cp.api.core_pod import Pod, PodCondition, PodStatus
from cp.api.errors import NotFound
from cp.api.meta import ApiStruct
from cp.api.storage import StorageClass
from cp.api.times import rfc3339
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, SharedInformerFactory, meta_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds
from cp.workqueue import WorkQueue

__all__ = [
    "DEFAULT_SCHEDULER_NAME",
    "POD_INITIAL_BACKOFF",
    "POD_MAX_BACKOFF",
    "SCHEDULER_NAME",
    "Scheduler",
    "pod_backoff",
    "with_condition",
]

#: The controller's name: its writes are recorded as `controller/scheduler`.
SCHEDULER_NAME: Final = "scheduler"
#: `spec.schedulerName` of the pods this scheduler binds, and the source of its events.
DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"
_TERMINAL: Final = ("Succeeded", "Failed")


#: Per-pod back-off of scheduling retries (`podInitialBackoffSeconds`, `podMaxBackoffSeconds`).
POD_INITIAL_BACKOFF: Final = 1.0
POD_MAX_BACKOFF: Final = 10.0


def pod_backoff(attempts: int) -> float:
    """Seconds a pod waits after its `attempts`-th failed attempt: 1, 2, 4, 8, 10, 10 ..."""
    return min(POD_INITIAL_BACKOFF * (1 << min(max(0, attempts - 1), 16)), POD_MAX_BACKOFF)


def with_condition(status: PodStatus | None, condition: PodCondition) -> PodStatus:
    """`status` with `condition` set (replacing one of its type, in place; else appended).
    Its lastTransitionTime is kept when the status (True/False) does not change."""
    status = status if status is not None else PodStatus(phase="Pending")
    out: list[PodCondition] = []
    found = False
    for old in status.conditions:
        if old.type != condition.type:
            out.append(old)
            continue
        found = True
        if old.status == condition.status:
            condition = replace(condition, last_transition_time=old.last_transition_time)
        out.append(condition)
    if not found:
        out.append(condition)
    return replace(status, conditions=tuple(out))


def _same_condition(status: PodStatus | None, condition: PodCondition) -> bool:
    """The status already has `condition` (timestamps aside)."""
    for old in status.conditions if status is not None else ():
        if old.type == condition.type:
            return (old.status, old.reason, old.message) == (
                condition.status,
                condition.reason,
                condition.message,
            )
    return False


def _target(pod: Pod) -> str:
    """The node `pod` counts on: its node while it is bound and not terminated, else ""."""
    node = pod.spec.node_name
    if node and pod.status is not None and pod.status.phase in _TERMINAL:
        return ""
    return node


def _pending(pod: Pod) -> bool:
    return (
        not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and pod.spec.scheduler_name in ("", DEFAULT_SCHEDULER_NAME)
    )


def _schedules(node: Node) -> tuple[object, ...]:
    """What the filters read of a node (upstream `nodeSchedulingPropertiesChange`): a change of
    anything else (a heartbeat, an address) retries nobody."""
    status = node.status
    conditions = tuple((c.type, c.status) for c in status.conditions) if status else ()
    allocatable = status.allocatable if status else {}
    return (node.spec, node.metadata.labels, allocatable, conditions)


class Scheduler:
    """The `Reconciler` of the scheduler, its handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 1,
    ) -> None:
        self._client = client
        self._clock = clock
        self._recorder = EventRecorder(client, DEFAULT_SCHEDULER_NAME, clock=clock)
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=SCHEDULER_NAME)
        self._controller = Controller(
            SCHEDULER_NAME, self, queue, clock=clock, ids=ids, workers=workers
        )
        self._pods = informers.informer_for("Pod")
        self._nodes = informers.informer_for("Node")
        self._claims = informers.informer_for("PersistentVolumeClaim")
        self._classes = informers.informer_for("StorageClass")
        self._cache = LoadCache()
        # pending pods that failed: (failed attempts, clock time of the last one)
        self._attempts: dict[Request, tuple[int, float]] = {}
        # the unschedulable set: failed pods not moved out since (an ordered set)
        self._parked: dict[Request, None] = {}
        self._node_names: list[str] | None = None  # sorted, rebuilt after node events
        self._pods.add_handler(
            Handlers(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_gone)
        )
        self._nodes.add_handler(
            Handlers(
                on_add=self._node_event,
                on_update=self._node_updated,
                on_delete=lambda d: self._node_event(d.obj),
            )
        )

        volumes = Handlers(
            on_add=self._volume_event,
            on_update=lambda _, new: self._volume_event(new),
            on_delete=lambda d: self._volume_event(d.obj),
        )
        self._claims.add_handler(volumes)
        self._classes.add_handler(volumes)

    @property
    def controller(self) -> Controller:
        return self._controller

    def load(self) -> dict[str, int]:
        """Non-terminated pods bound to each node (as this scheduler counts them)."""
        return {name: count for name, count in sorted(self._cache.load.items()) if count}

    def unschedulable(self) -> list[Request]:
        """The parked pods: failed, and not moved out by a cluster event since."""
        return list(self._parked)

    # -- load accounting ----------------------------------------------------------------------

    def _account(self, req: Request, node: str, cause: ApiStruct | None = None) -> None:
        """Count `req` on `node` ("" for none), uncounting it where it was: room there moves
        the parked pods (NodeResourcesFit), `cause` being the object whose event freed it."""
        if self._cache.count(req, node) and self._parked:
            self._move_parked(revision_of(meta_of(cause)) if cause is not None else 0)

    def _forget(self, req: Request) -> None:
        """`req` is no longer pending: no back-off, not parked."""
        if self._attempts:
            self._attempts.pop(req, None)
            self._parked.pop(req, None)

    # -- event handlers -----------------------------------------------------------------------

    def _pod_added(self, obj: ApiStruct) -> None:
        if not isinstance(obj, Pod):
            return
        req = Request(obj.metadata.namespace, obj.metadata.name)
        target = _target(obj)
        if target or self._cache.node_of(req):
            self._account(req, target, obj)
        if _pending(obj):
            self._controller.enqueue(req, cause=revision_of(meta_of(obj)))

    def _pod_updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(new, Pod) or not isinstance(old, Pod):
            return
        target = _target(new)
        pending = _pending(new)
        if target == _target(old) and not pending and not _pending(old):
            return  # counted where it was (the hot path: the kubelet's status writes)
        req = Request(new.metadata.namespace, new.metadata.name)
        self._account(req, target, new)
        if not pending:
            self._forget(req)
        elif old.spec != new.spec or old.metadata.uid != new.metadata.uid:
            self._parked.pop(req, None)
            self._controller.enqueue(req, cause=revision_of(meta_of(new)))

    def _pod_gone(self, deleted: Deleted) -> None:
        meta = meta_of(deleted.obj)
        req = Request(meta.namespace, meta.name)
        self._forget(req)
        self._account(req, "", deleted.obj)

    def _node_updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, Node) or not isinstance(new, Node):
            return
        if _schedules(old) != _schedules(new):
            self._node_event(new)

    def _node_event(self, node: ApiStruct) -> None:
        """A node came, went or changed: forget the fits, move the parked pods."""
        self._node_names = None
        self._cache.invalidate()
        self._move_parked(revision_of(meta_of(node)))

    def _move_parked(self, cause: int) -> None:
        """Move every parked pod out: into the queue at once when its back-off is over, else
        when it ends (upstream `movePodsToActiveOrBackoffQueue`)."""
        if not self._parked:
            return
        parked, self._parked = self._parked, {}
        now = self._clock.now()
        for req in parked:
            attempts, last = self._attempts.get(req, (0, now))
            delay = last + pod_backoff(attempts) - now
            if delay <= 0:
                self._controller.enqueue(req, cause=cause)
            else:
                self._controller.queue.add_after(req, delay)

    # -- reconcile ----------------------------------------------------------------------------

    def _nodes_sorted(self) -> list[Node]:
        if self._node_names is None:
            self._node_names = list(self._nodes.indexer.sorted_keys())
        nodes = (self._nodes.indexer.get_by_key(key) for key in self._node_names)
        return [n for n in nodes if isinstance(n, Node)]

    def _volume_event(self, obj: ApiStruct) -> None:
        """A claim or a class changed: pods parked on their volumes may fit now."""
        self._move_parked(revision_of(meta_of(obj)))

    def _volume_reason(self, pod: Pod) -> str | None:
        """Why the pod's PersistentVolumeClaims keep it Pending (`pod has unbound immediate
        PersistentVolumeClaims`, a missing or deleting claim), or None."""
        if not any(v.persistent_volume_claim is not None for v in pod.spec.volumes):
            return None
        return claims_bound(
            pod, self._claims.lister(PersistentVolumeClaim), self._classes.lister(StorageClass)
        )

    async def reconcile(self, req: Request) -> Result:
        cached = self._pods.indexer.get(req.namespace, req.name)
        if not isinstance(cached, Pod) or not _pending(cached):
            self._forget(req)
            return Result()
        pod = cached
        blocked = self._volume_reason(pod)
        if blocked is not None:  # a PreFilter failure: every node is rejected with its reason
            message = f"0/{len(self._nodes_sorted())} nodes are available: {blocked}."
            await self._unschedulable_pod(req, pod, message)
            return Result()
        node = self._cache.pick(pod, self._nodes_sorted)
        if node is None:
            count, reasons = self._cache.reasons(pod, self._nodes_sorted)
            await self._unschedulable_pod(req, pod, fit_error(count, reasons))
            return Result()
        await self._bind(req, pod, node)
        return Result()

    async def _bind(self, req: Request, pod: Pod, node: str) -> None:
        """One binding write (uid precondition); count the pod on `node` at once."""
        meta = pod.metadata
        try:
            bound = await self._client.bind(meta.name, node, meta.namespace, uid=meta.uid)
        except NotFound:
            return
        self._forget(req)
        self._account(req, node)
        message = f"Successfully assigned {meta.namespace}/{meta.name} to {node}"
        await self._recorder.event(bound, "Normal", "Scheduled", message)

    async def _unschedulable_pod(self, req: Request, pod: Pod, message: str) -> None:
        """Parked (before any write); PodScheduled False (Unschedulable) when it changes;
        FailedScheduling each attempt."""
        now = self._clock.now()
        attempts = self._attempts.get(req, (0, 0.0))[0] + 1
        self._attempts[req] = (attempts, now)
        self._parked[req] = None
        condition = PodCondition(
            type="PodScheduled",
            status="False",
            last_probe_time=None,
            last_transition_time=rfc3339(now),
            reason="Unschedulable",
            message=message,
        )
        if not _same_condition(pod.status, condition):
            try:
                await self._client.update_status(
                    replace(pod, status=with_condition(pod.status, condition))
                )
            except NotFound:
                return
        await self._recorder.event(pod, "Warning", "FailedScheduling", message)
