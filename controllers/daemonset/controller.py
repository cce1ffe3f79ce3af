"""The DaemonSet controller: handlers, the work queue, and `syncDaemonSet`.

Follows upstream `pkg/controller/daemon/daemon_controller.go` (`DaemonSetsController`,
`addDaemonset`/`updateDaemonset`/`deleteDaemonset`, `addPod`/`updatePod`/`deletePod`,
`addNode`/`updateNode`, `addHistory`/`updateHistory`/`deleteHistory`, `getDaemonPods`,
`syncDaemonSet`, `updateDaemonSet`) and `update.go` (`controlledHistories`).

    dsc = DaemonSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dsc.controller)          # name "daemonset", actor "controller/daemonset"

One sync of `Request(namespace, name)` (`reconcile`):

1. the DaemonSet from the cache; gone -> forget its expectations, done; an empty selector ->
   Warning `SelectingAll`, done; being deleted -> done (the garbage collector takes over);
2. its pods: those it controls (`by_controller(uid)`) plus the orphans of its namespace
   matching its selector (names kept by the pod handlers), claimed (adopt / release); its
   revisions likewise (`controlledHistories`); the current revision found or created
   (`history.construct_history`), whose hash labels new pods;
3. expectations not satisfied -> only the status is written (observedGeneration kept);
4. otherwise `manage` (create / delete per node), then, if the expectations are still
   satisfied and the strategy is RollingUpdate, `rolling_update`; the history cleaned up; the
   status written with observedGeneration = generation; a write error is raised after it.

Requeues: after minReadySeconds while some counted pod is ready but not available, and when
a Failed pod waits out its backoff. Handlers enqueue with `cause=` the triggering object's
resourceVersion. A node added enqueues the DaemonSets that should run on it; a node updated
those for which (should run, should continue running) changed; a node deleted every
DaemonSet. Per event the work is O(DaemonSets), never O(pods).
"""

from __future__ import annotations

from typing import Final

from controllers.common import revision_of
from controllers.common.expectations import UIDTrackingExpectations
from controllers.common.pods import is_pod_ready
from controllers.common.refmanager import (
    ControllerRefManager,
    controller_ref_of,
    recheck_deletion_timestamp,
    resolve_controller_ref,
)
from controllers.common.selectors import SelectorCache
from controllers.daemonset.history import cleanup_history, construct_history
from controllers.daemonset.sync import (
    BURST_REPLICAS,
    EventSink,
    SyncDeps,
    calculate_status,
    manage,
    rolling_update,
    store_status,
    sync_nodes,
)
from controllers.daemonset.util import HASH_LABEL, node_should_run_daemon_pod
from cp.api.apps import ControllerRevision, DaemonSet
from cp.api.core import Node
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.api.selectors import Selector
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory, key_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds, TerminalError
from cp.workqueue import WorkQueue

__all__ = ["DS_NAME", "EVENT_SOURCE", "DaemonSetController"]

#: The controller's name: its writes are recorded as `controller/daemonset`.
DS_NAME: Final = "daemonset"
#: The component of its events (upstream's recorder source).
EVENT_SOURCE: Final = "daemonset-controller"
SELECTING_ALL_MESSAGE: Final = (
    "This daemon set is selecting all pods. A non-empty selector is required."
)


def _node_fingerprint(node: Node) -> tuple[object, ...]:
    """What `NodeShouldRunDaemonPod` reads of a node (`shouldIgnoreNodeUpdate`)."""
    conditions = node.status.conditions if node.status is not None else ()
    ready = next((c.status for c in conditions if c.type == "Ready"), None)
    return (node.metadata.labels, node.spec, ready)


class DaemonSetController:
    """The `Reconciler` of DaemonSets, its informer handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 2,
        recorder: EventSink | None = None,
        burst_replicas: int = BURST_REPLICAS,
    ) -> None:
        self._client = client
        self._clock = clock
        self.expectations = UIDTrackingExpectations(clock)
        sink: EventSink = (
            recorder if recorder is not None else EventRecorder(client, EVENT_SOURCE, clock=clock)
        )
        self._recorder = sink
        self._deps = SyncDeps(client, self.expectations, sink, clock, burst_replicas)
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=DS_NAME)
        self._controller = Controller(DS_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        ds_informer = informers.informer_for("DaemonSet")
        pod_informer = informers.informer_for("Pod")
        node_informer = informers.informer_for("Node")
        rev_informer = informers.informer_for("ControllerRevision")
        self._sets: Lister[DaemonSet] = ds_informer.lister(DaemonSet)
        self._pods: Lister[Pod] = pod_informer.lister(Pod)
        self._nodes: Lister[Node] = node_informer.lister(Node)
        self._revisions: Lister[ControllerRevision] = rev_informer.lister(ControllerRevision)
        self._selectors = SelectorCache()
        # Names of the cached pods without a controllerRef, per namespace (adoption candidates).
        self._orphans: dict[str, set[str]] = {}
        ds_informer.add_handler(
            Handlers(on_add=self._add_set, on_update=self._update_set, on_delete=self._delete_set)
        )
        pod_informer.add_handler(
            Handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)
        )
        node_informer.add_handler(
            Handlers(
                on_add=self._add_node, on_update=self._update_node, on_delete=self._delete_node
            )
        )
        rev_informer.add_handler(
            Handlers(
                on_add=self._revision_changed,
                on_update=lambda old, new: self._revision_changed(new),
                on_delete=lambda deleted: self._revision_changed(deleted.obj),
            )
        )

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    # -- helpers ------------------------------------------------------------------------------

    def _enqueue(self, ds: DaemonSet, cause: int) -> None:
        meta = ds.metadata
        self._controller.enqueue(Request(meta.namespace, meta.name), cause=cause)

    def _enqueue_after(self, ds: DaemonSet, delay: float) -> None:
        self._controller.queue.add_after(Request(ds.metadata.namespace, ds.metadata.name), delay)

    def _selector(self, ds: DaemonSet) -> Selector | None:
        """The parsed `spec.selector` (None when invalid), cached per uid and selector."""
        return self._selectors.get(ds.metadata.uid, ds.spec.selector)

    def _resolve(self, namespace: str, ref: OwnerReference) -> DaemonSet | None:
        """The cached DaemonSet a controllerRef names, if it exists with that uid."""
        return resolve_controller_ref(self._sets, "DaemonSet", namespace, ref)

    def _matching_sets(self, meta: ObjectMeta) -> list[DaemonSet]:
        """The DaemonSets of the namespace whose (non-empty) selector matches `meta`'s labels."""
        if not meta.labels:
            return []
        found = []
        for ds in self._sets.list(meta.namespace):
            selector = self._selector(ds)
            if selector is not None and not selector.is_empty() and selector.matches(meta.labels):
                found.append(ds)
        return found

    # -- DaemonSet handlers -------------------------------------------------------------------

    def _add_set(self, obj: ApiStruct) -> None:
        if isinstance(obj, DaemonSet):
            self._enqueue(obj, revision_of(obj.metadata))

    def _update_set(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(new, DaemonSet):
            return
        if isinstance(old, DaemonSet) and old.metadata.uid != new.metadata.uid:
            self._delete_set(Deleted(old))
        self._enqueue(new, revision_of(new.metadata))

    def _delete_set(self, deleted: Deleted) -> None:
        ds = deleted.obj
        if not isinstance(ds, DaemonSet):
            return
        self._selectors.forget(ds.metadata.uid)
        self._deps.backoff.drop_prefix(f"{ds.metadata.uid}/")
        self._enqueue(ds, revision_of(ds.metadata))

    # -- Pod handlers -------------------------------------------------------------------------

    def _track_orphan(self, pod: Pod, *, gone: bool = False) -> None:
        meta = pod.metadata
        names = self._orphans.get(meta.namespace)
        if not gone and controller_ref_of(meta) is None:
            if names is None:
                names = self._orphans[meta.namespace] = set()
            names.add(meta.name)
        elif names is not None:
            names.discard(meta.name)
            if not names:
                del self._orphans[meta.namespace]

    def _add_pod(self, obj: ApiStruct) -> None:
        if not isinstance(obj, Pod):
            return
        self._track_orphan(obj)
        meta = obj.metadata
        if meta.deletion_timestamp is not None:
            self._pod_deleted(obj)
            return
        ref = controller_ref_of(meta)
        if ref is not None:
            ds = self._resolve(meta.namespace, ref)
            if ds is not None:
                self.expectations.creation_observed(key_of(ds.metadata.namespace, ds.metadata.name))
                self._enqueue(ds, revision_of(meta))
            return
        for ds in self._matching_sets(meta):
            self._enqueue(ds, revision_of(meta))

    def _update_pod(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, Pod) or not isinstance(new, Pod):
            return
        self._track_orphan(new)
        before, after = old.metadata, new.metadata
        if before.resource_version == after.resource_version:
            return
        if after.deletion_timestamp is not None:
            self._pod_deleted(new)
            return
        cause = revision_of(after)
        old_ref, ref = controller_ref_of(before), controller_ref_of(after)
        if old_ref != ref and old_ref is not None:
            old_ds = self._resolve(before.namespace, old_ref)
            if old_ds is not None:
                self._enqueue(old_ds, cause)
        if ref is not None:
            ds = self._resolve(after.namespace, ref)
            if ds is None:
                return
            self._enqueue(ds, cause)
            min_ready = ds.spec.min_ready_seconds
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                self._enqueue_after(ds, min_ready + 1.0)
            return
        if before.labels != after.labels or old_ref != ref:
            for ds in self._matching_sets(after):
                self._enqueue(ds, cause)

    def _delete_pod(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, Pod):
            self._track_orphan(deleted.obj, gone=True)
            self._pod_deleted(deleted.obj)

    def _pod_deleted(self, pod: Pod) -> None:
        ref = controller_ref_of(pod.metadata)
        if ref is None:
            return
        ds = self._resolve(pod.metadata.namespace, ref)
        if ds is None:
            return
        key = key_of(ds.metadata.namespace, ds.metadata.name)
        self.expectations.deletion_observed(key, key_of(pod.metadata.namespace, pod.metadata.name))
        self._enqueue(ds, revision_of(pod.metadata))

    # -- Node and ControllerRevision handlers -------------------------------------------------

    def _add_node(self, obj: ApiStruct) -> None:
        if not isinstance(obj, Node):
            return
        for ds in self._sets.list():
            if node_should_run_daemon_pod(obj, ds)[0]:
                self._enqueue(ds, revision_of(obj.metadata))

    def _update_node(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, Node) or not isinstance(new, Node):
            return
        if _node_fingerprint(old) == _node_fingerprint(new):
            return
        for ds in self._sets.list():
            if node_should_run_daemon_pod(old, ds) != node_should_run_daemon_pod(new, ds):
                self._enqueue(ds, revision_of(new.metadata))

    def _delete_node(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, Node):
            for ds in self._sets.list():
                self._enqueue(ds, revision_of(deleted.obj.metadata))

    def _revision_changed(self, obj: ApiStruct) -> None:
        if not isinstance(obj, ControllerRevision):
            return
        meta = obj.metadata
        ref = controller_ref_of(meta)
        if ref is not None:
            ds = self._resolve(meta.namespace, ref)
            if ds is not None:
                self._enqueue(ds, revision_of(meta))
            return
        for ds in self._matching_sets(meta):
            self._enqueue(ds, revision_of(meta))

    # -- sync ---------------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """`syncDaemonSet` (see the module doc)."""
        key = key_of(req.namespace, req.name)
        ds = self._sets.get(req.namespace, req.name)
        if ds is None:
            self.expectations.delete(key)
            return Result()
        selector = self._selector(ds)
        if selector is None:
            raise TerminalError(f"DaemonSet {key} has an invalid selector")
        if selector.is_empty():
            await self._recorder.event(ds, "Warning", "SelectingAll", SELECTING_ALL_MESSAGE)
            return Result()
        if ds.metadata.deletion_timestamp is not None:
            return Result()
        adopted = await self._claim_pods(ds, selector)
        revisions = await self._claim_revisions(ds, selector)
        cur, old = await construct_history(
            self._client, ds, revisions, self._daemon_pods(ds, selector, adopted)
        )
        hash_ = cur.metadata.labels.get(HASH_LABEL, "")
        if not self.expectations.satisfied(key):
            return await self._update_status(ds, selector, adopted, hash_, update_generation=False)
        error: Exception | None = None
        requeue: float | None = None
        try:
            requeue = await self._update(ds, selector, adopted, hash_, key)
            await cleanup_history(self._client, ds, old, self._daemon_pods(ds, selector, adopted))
        except Exception as err:  # raised after the status write
            error = err
        result = await self._update_status(ds, selector, adopted, hash_, update_generation=True)
        if error is not None:
            raise error
        if requeue is not None and (result.requeue_after is None or requeue < result.requeue_after):
            return Result(requeue_after=requeue)
        return result

    async def _update(
        self, ds: DaemonSet, selector: Selector, adopted: list[Pod], hash_: str, key: str
    ) -> float | None:
        """`updateDaemonSet` minus the history cleanup: manage, then roll. Returns the failed
        pods' backoff delay, if any."""
        nodes = self._nodes.list()
        failed: list[tuple[Pod, str]] = []
        plan = manage(
            self._deps, ds, nodes, self._daemon_pods(ds, selector, adopted), hash_, failed
        )
        for pod, node in failed:
            message = (
                f"Found failed daemon pod {pod.metadata.namespace}/{pod.metadata.name} "
                f"on node {node}, will try to kill it"
            )
            await self._recorder.event(ds, "Warning", "FailedDaemonPod", message)
        await sync_nodes(self._deps, ds, plan.delete, plan.create_on, hash_)
        strategy = ds.spec.update_strategy
        rolling = strategy is None or strategy.type in ("", "RollingUpdate")
        if rolling and self.expectations.satisfied(key):
            nodes = self._nodes.list()
            pods = self._daemon_pods(ds, selector, adopted)
            delete, create_on = rolling_update(ds, nodes, pods, hash_, self._clock.now())
            await sync_nodes(self._deps, ds, delete, create_on, hash_)
        return plan.requeue_after

    async def _update_status(
        self,
        ds: DaemonSet,
        selector: Selector,
        adopted: list[Pod],
        hash_: str,
        *,
        update_generation: bool,
    ) -> Result:
        """`updateDaemonSetStatus`: write the counts; requeue after minReadySeconds while some
        counted pod is ready but not yet available."""
        now = self._clock.now()
        pods = self._daemon_pods(ds, selector, adopted)
        status = calculate_status(ds, self._nodes.list(), pods, hash_, now)
        await store_status(self._client, ds, status, update_generation)
        min_ready = ds.spec.min_ready_seconds
        if min_ready > 0 and status.number_ready != status.number_available:
            return Result(requeue_after=float(min_ready))
        return Result()

    def _daemon_pods(self, ds: DaemonSet, selector: Selector, adopted: list[Pod]) -> list[Pod]:
        """The pods `ds` controls that match its selector (from the cache), plus those adopted
        in this sync that the cache does not show yet. O(its pods)."""
        pods = [
            p
            for p in self._pods.by_controller(ds.metadata.uid)
            if selector.matches(p.metadata.labels)
        ]
        if adopted:
            seen = {p.metadata.name for p in pods}
            pods.extend(p for p in adopted if p.metadata.name not in seen)
        return pods

    async def _claim_pods(self, ds: DaemonSet, selector: Selector) -> list[Pod]:
        """`getDaemonPods`' claim over the candidates needing a write: controlled pods no longer
        matching (released) and matching orphans (adopted). Returns the adopted ones."""
        namespace = ds.metadata.namespace
        candidates = [
            p
            for p in self._pods.by_controller(ds.metadata.uid)
            if not selector.matches(p.metadata.labels)
        ]
        orphans = [
            pod
            for name in sorted(self._orphans.get(namespace, ()))
            if (pod := self._pods.get(namespace, name)) is not None
            and pod.metadata.deletion_timestamp is None
            and selector.matches(pod.metadata.labels)
        ]
        if not candidates and not orphans:
            return []
        manager = ControllerRefManager(
            self._client,
            ds,
            selector,
            can_adopt=recheck_deletion_timestamp(self._client, "DaemonSet", ds.metadata),
        )
        return await manager.claim("Pod", candidates + orphans)

    async def _claim_revisions(self, ds: DaemonSet, selector: Selector) -> list[ControllerRevision]:
        """`controlledHistories`: the revisions `ds` controls after adopting matching orphans
        and releasing those no longer matching."""
        uid = ds.metadata.uid
        owned = self._revisions.by_controller(uid)
        orphans = [
            r
            for r in self._revisions.list(ds.metadata.namespace, selector)
            if controller_ref_of(r.metadata) is None
        ]
        if not orphans and all(selector.matches(r.metadata.labels) for r in owned):
            return owned
        manager = ControllerRefManager(
            self._client,
            ds,
            selector,
            can_adopt=recheck_deletion_timestamp(self._client, "DaemonSet", ds.metadata),
        )
        return await manager.claim("ControllerRevision", owned + orphans)
