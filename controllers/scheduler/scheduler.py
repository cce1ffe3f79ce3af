"""The scheduler (`pkg/scheduler/schedule_one.go`), level-based: binds pending pods to nodes.

    scheduler = Scheduler(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(scheduler.controller)      # actor "controller/scheduler"

One reconcile looks at one pod (key `namespace/name`). A pod is pending when it has no
`spec.nodeName`, is not being deleted, and asks for the default scheduler (`schedulerName` ""
or `default-scheduler`). For a pending pod (`scheduleOne`):

- the nodes are filtered and the least-loaded fitting one picked (`filters.py`); the load of a
  node is the number of non-terminated pods bound to it, kept here from informer events and
  counted the moment a pod is bound (the scheduler cache's "assumed" pods), so one worker
  picking pod after pod spreads them without waiting for the informer;
- bound (`bind`): the `PodScheduled` condition is set True by `update_status`, then the pod is
  updated with `spec.nodeName` (each a compare-and-swap; a Conflict is retried with backoff).
  Upstream's Binding subresource does both in one write; the Client has no binding verb, so
  this is two, condition first so that they never race with the kubelet's status writes.
  Event `Normal Scheduled "Successfully assigned default/web-1 to node-1"`;
- no node fits: `PodScheduled` False with reason `Unschedulable` and the fit error as message
  (written when it changes), event `Warning FailedScheduling <message>`; the pod is retried when
  a node is added, changed or removed, or a bound pod goes away, but not before its back-off
  (1 s after the first failed attempt, doubling to 10 s) is over: upstream's unschedulable
  queue moves pods back on those events through the back-off queue. Its 5-minute periodic flush
  is not emulated (no periodic work).

Volumes (issue 5): `_volume_reason` is the hook for the VolumeBinding plugin; it binds nothing
and blocks nothing yet.
"""

from __future__ import annotations

from typing import Final

from msgspec.structs import replace

from controllers.scheduler.filters import fit_error, pick_node
from cp.api.core import Node
from cp.api.core_pod import Pod, PodCondition, PodStatus
from cp.api.errors import NotFound
from cp.api.meta import ApiStruct
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


def _revision(obj: ApiStruct) -> int:
    text = meta_of(obj).resource_version
    return int(text) if text.isdigit() else 0


def _phase(pod: Pod) -> str:
    return pod.status.phase if pod.status is not None else ""


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
        self._bound: dict[Request, str] = {}  # non-terminated pods bound to a node
        self._load: dict[str, int] = {}
        # unschedulable pods: (failed attempts, clock time of the last one)
        self._unschedulable: dict[Request, tuple[int, float]] = {}
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

    @property
    def controller(self) -> Controller:
        return self._controller

    def load(self) -> dict[str, int]:
        """Non-terminated pods bound to each node (as this scheduler counts them)."""
        return {name: count for name, count in sorted(self._load.items()) if count}

    # -- load accounting ----------------------------------------------------------------------

    def _account(self, req: Request, node: str, cause: int = 0) -> None:
        """Count `req` on `node` ("" for none), uncounting it where it was (which retries the
        unschedulable pods, `cause` being the revision that freed the room)."""
        before = self._bound.get(req, "")
        if before == node:
            return
        if before:
            self._load[before] -= 1
            del self._bound[req]
            self._retry_unschedulable(cause)  # room on `before` (NodeResourcesFit)
        if node:
            self._load[node] = self._load.get(node, 0) + 1
            self._bound[req] = node

    # -- event handlers -----------------------------------------------------------------------

    @staticmethod
    def _pending(pod: Pod) -> bool:
        return (
            not pod.spec.node_name
            and pod.metadata.deletion_timestamp is None
            and pod.spec.scheduler_name in ("", DEFAULT_SCHEDULER_NAME)
        )

    def _observe(self, pod: Pod) -> Request:
        req = Request(pod.metadata.namespace, pod.metadata.name)
        active = pod.spec.node_name and _phase(pod) not in _TERMINAL
        self._account(req, pod.spec.node_name if active else "", _revision(pod))
        return req

    def _pod_added(self, obj: ApiStruct) -> None:
        if isinstance(obj, Pod):
            req = self._observe(obj)
            if self._pending(obj):
                self._controller.enqueue(req, cause=_revision(obj))

    def _pod_updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(new, Pod) or not isinstance(old, Pod):
            return
        req = self._observe(new)
        if not self._pending(new):
            self._unschedulable.pop(req, None)
        elif old.spec != new.spec or old.metadata.uid != new.metadata.uid:
            self._controller.enqueue(req, cause=_revision(new))

    def _pod_gone(self, deleted: Deleted) -> None:
        meta = meta_of(deleted.obj)
        req = Request(meta.namespace, meta.name)
        self._unschedulable.pop(req, None)
        self._account(req, "", _revision(deleted.obj))

    def _node_updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, Node) or not isinstance(new, Node):
            return
        before = (old.spec, old.metadata.labels, old.status and old.status.conditions)
        after = (new.spec, new.metadata.labels, new.status and new.status.conditions)
        if before != after:
            self._node_event(new)

    def _node_event(self, node: ApiStruct) -> None:
        """A node came, went or changed: rebuild the node list, retry unschedulable pods."""
        self._node_names = None
        self._retry_unschedulable(_revision(node))

    def _retry_unschedulable(self, cause: int) -> None:
        """Move the unschedulable pods back: at once when their back-off is over, else when it
        ends (upstream `movePodsToActiveOrBackoffQueue`)."""
        now = self._clock.now()
        for req, (attempts, last) in self._unschedulable.items():
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

    def _volume_reason(self, pod: Pod) -> str | None:
        """Hook for issue 5 (VolumeBinding): a reason to wait while the pod's
        PersistentVolumeClaims are unbound (`pod has unbound immediate PersistentVolumeClaims`).
        None: volumes never block scheduling yet."""
        return None

    async def reconcile(self, req: Request) -> Result:
        cached = self._pods.indexer.get(req.namespace, req.name)
        if not isinstance(cached, Pod) or not self._pending(cached):
            self._unschedulable.pop(req, None)
            return Result()
        pod = cached
        nodes = self._nodes_sorted()
        blocked = self._volume_reason(pod)
        if blocked is not None:
            await self._unschedulable_pod(req, pod, blocked)
            return Result()
        node, reasons = pick_node(pod, nodes, self._load)
        if node is None:
            await self._unschedulable_pod(req, pod, fit_error(len(nodes), reasons))
            return Result()
        await self._bind(req, pod, node.metadata.name)
        return Result()

    async def _bind(self, req: Request, pod: Pod, node: str) -> None:
        """PodScheduled True, then spec.nodeName (each a CAS); count the pod on `node` at once.

        The condition goes first: until the pod is bound no kubelet writes its status, so the
        two writes never race with the kubelet's first status write."""
        now = rfc3339(self._clock.now())
        scheduled = PodCondition(type="PodScheduled", status="True", last_transition_time=now)
        try:
            if not _same_condition(pod.status, scheduled):
                pod = await self._client.update_status(
                    replace(pod, status=with_condition(pod.status, scheduled))
                )
            bound = await self._client.update(replace(pod, spec=replace(pod.spec, node_name=node)))
        except NotFound:
            return
        self._unschedulable.pop(req, None)
        self._account(req, node)
        namespace = pod.metadata.namespace
        message = f"Successfully assigned {namespace}/{pod.metadata.name} to {node}"
        await self._recorder.event(bound, "Normal", "Scheduled", message)

    async def _unschedulable_pod(self, req: Request, pod: Pod, message: str) -> None:
        """PodScheduled False (Unschedulable) when it changes; FailedScheduling each attempt."""
        attempts = self._unschedulable.get(req, (0, 0.0))[0] + 1
        self._unschedulable[req] = (attempts, self._clock.now())
        now = rfc3339(self._clock.now())
        condition = PodCondition(
            type="PodScheduled",
            status="False",
            last_probe_time=None,
            last_transition_time=now,
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
