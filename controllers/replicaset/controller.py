"""The ReplicaSet controller: handlers, the work queue, and `syncReplicaSet`.

Follows upstream `pkg/controller/replicaset/replica_set.go` (`ReplicaSetController`,
`addPod`/`updatePod`/`deletePod`, `addRS`/`updateRS`/`deleteRS`, `syncReplicaSet`,
`claimPods`, `getIndirectlyRelatedPods`).

    rsc = ReplicaSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(rsc.controller)          # name "replicaset", actor "controller/replicaset"

One sync of `Request(namespace, name)` (`reconcile`):

1. the ReplicaSet from the cache; gone -> forget its expectations, done;
2. `needs_sync = expectations.satisfied(key)` (a stale cache never double-creates);
3. its pods, never a scan of the namespace nor of its own pods: the pod handlers keep, per
   ReplicaSet uid, the counts of the pods it controls (`owned.py`: active and matching,
   fully-labeled, ready, availability times), rebuilt from `by_controller(uid)` only when its
   selector, template labels or minReadySeconds changed. A snapshot of them is taken (the
   claim's instant); what needs a write is claimed (`ControllerRefManager`): the strays
   (controlled, active, no longer matching: released) and the orphans matching its selector
   (the pod handlers keep the names of the pods without a controllerRef: adopted);
4. `needs_sync` and not being deleted -> `manage_replicas` (create / delete, `manage.py`) on
   the count of the kept + claimed pods; only a scale-down lists them (to rank them);
5. the status from the snapshot plus the claimed pods' facts at the time after step 4, as
   `calculate_status` over the claimed pods would give it, written when it changed
   (`status.py`). A sync is O(changed pods) amortized: O(1) plus the claim's candidates,
   O(pods) only for a scale-down (upstream ranks them all too) or a basis change;
6. the error of step 4, if any, is raised after the status write (retry with backoff);
   otherwise, while a ready pod is waiting out minReadySeconds, requeue for the moment it
   becomes available (upstream requeues after minReadySeconds when all replicas are ready).

Handlers enqueue with `cause=` the triggering object's resourceVersion, and feed the
expectations: a pod ADD with a controllerRef to a ReplicaSet is a creation observed; a pod
DELETE, or an UPDATE setting its deletionTimestamp, a deletion observed (once per pod key).
An orphan pod added, or whose labels or controllerRef changed, enqueues every ReplicaSet of its
namespace whose selector matches it. A pod turning Ready enqueues its ReplicaSet again after
minReadySeconds + 1 s, as upstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from controllers.common import revision_of
from controllers.common.expectations import UIDTrackingExpectations
from controllers.common.pods import is_pod_active, is_pod_ready
from controllers.common.refmanager import (
    ControllerRefManager,
    controller_ref_of,
    recheck_deletion_timestamp,
    resolve_controller_ref,
)
from controllers.common.selectors import SelectorCache
from controllers.replicaset.manage import (
    BURST_REPLICAS,
    EventSink,
    ManageDeps,
    manage_replica_count,
    pod_key,
    rs_key,
)
from controllers.replicaset.owned import OwnedPods, OwnedPodsIndex
from controllers.replicaset.podfacts import facts_of
from controllers.replicaset.status import status_from_counts, update_replica_set_status
from cp.api.apps import ReplicaSet
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct, OwnerReference
from cp.api.selectors import Selector
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory, key_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds, TerminalError
from cp.workqueue import WorkQueue

__all__ = ["EVENT_SOURCE", "RS_NAME", "ReplicaSetController"]

#: The controller's name: its writes are recorded as `controller/replicaset`.
RS_NAME: Final = "replicaset"
#: The component of its events (upstream's recorder source).
EVENT_SOURCE: Final = "replicaset-controller"


class ReplicaSetController:
    """The `Reconciler` of ReplicaSets, its informer handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 5,
        recorder: EventSink | None = None,
        burst_replicas: int | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self.expectations = UIDTrackingExpectations(clock)
        sink = recorder
        if sink is None:
            sink = EventRecorder(client, EVENT_SOURCE, clock=clock)
        burst = BURST_REPLICAS if burst_replicas is None else burst_replicas
        self._deps = ManageDeps(client, self.expectations, sink, clock, burst)
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=RS_NAME)
        self._controller = Controller(RS_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        rs_informer = informers.informer_for("ReplicaSet")
        pod_informer = informers.informer_for("Pod")
        self._rs: Lister[ReplicaSet] = rs_informer.lister(ReplicaSet)
        self._pods: Lister[Pod] = pod_informer.lister(Pod)
        self._selectors = SelectorCache()
        # Names of the cached pods without a controllerRef, per namespace: the adoption
        # candidates, kept by the pod handlers so a sync never scans its selector's pods.
        self._orphans: dict[str, set[str]] = {}
        # Per ReplicaSet uid, the counts of the pods it controls, kept by the pod handlers:
        # a sync reads them in O(1) instead of walking its pods (`owned.py`).
        self.owned = OwnedPodsIndex(self._pods)
        rs_informer.add_handler(
            Handlers(on_add=self._add_rs, on_update=self._update_rs, on_delete=self._delete_rs)
        )
        pod_informer.add_handler(
            Handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)
        )

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    # -- helpers ------------------------------------------------------------------------------

    def _enqueue(self, rs: ReplicaSet, cause: int) -> None:
        meta = rs.metadata
        self._controller.enqueue(Request(meta.namespace, meta.name), cause=cause)

    def _enqueue_after(self, rs: ReplicaSet, delay: float) -> None:
        self._controller.queue.add_after(Request(rs.metadata.namespace, rs.metadata.name), delay)

    def _selector(self, rs: ReplicaSet) -> Selector | None:
        """The parsed `spec.selector` (None when invalid), cached per uid and selector."""
        return self._selectors.get(rs.metadata.uid, rs.spec.selector)

    def _resolve(self, namespace: str, ref: OwnerReference) -> ReplicaSet | None:
        """The cached ReplicaSet a controllerRef names, if it exists with that uid."""
        return resolve_controller_ref(self._rs, "ReplicaSet", namespace, ref)

    def _pod_replica_sets(self, pod: Pod) -> list[ReplicaSet]:
        """The ReplicaSets of the pod's namespace whose (non-empty) selector matches it."""
        labels = pod.metadata.labels
        if not labels:
            return []
        found = []
        for rs in self._rs.list(pod.metadata.namespace):
            selector = self._selector(rs)
            if selector is not None and not selector.is_empty() and selector.matches(labels):
                found.append(rs)
        return found

    # -- ReplicaSet handlers ------------------------------------------------------------------

    def _add_rs(self, obj: ApiStruct) -> None:
        if isinstance(obj, ReplicaSet):
            self._enqueue(obj, revision_of(obj.metadata))

    def _update_rs(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(new, ReplicaSet):
            return
        if isinstance(old, ReplicaSet) and old.metadata.uid != new.metadata.uid:
            self._delete_rs(Deleted(old))
        self._enqueue(new, revision_of(new.metadata))

    def _delete_rs(self, deleted: Deleted) -> None:
        rs = deleted.obj
        if not isinstance(rs, ReplicaSet):
            return
        self.expectations.delete(rs_key(rs.metadata))
        self._selectors.forget(rs.metadata.uid)
        self.owned.drop(rs.metadata.uid)
        self._enqueue(rs, revision_of(rs.metadata))

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
        self.owned.observe(obj)
        meta = obj.metadata
        if meta.deletion_timestamp is not None:
            # Seen for the first time already being deleted (a restart): not a creation.
            self._pod_deleted(obj)
            return
        ref = controller_ref_of(meta)
        if ref is not None:
            rs = self._resolve(meta.namespace, ref)
            if rs is not None:
                self.expectations.creation_observed(rs_key(rs.metadata))
                self._enqueue(rs, revision_of(meta))
            return
        for rs in self._pod_replica_sets(obj):
            self._enqueue(rs, revision_of(meta))

    def _update_pod(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, Pod) or not isinstance(new, Pod):
            return
        self._track_orphan(new)
        self.owned.observe(new)
        before, after = old.metadata, new.metadata
        if before.resource_version == after.resource_version:
            return  # a resync: nothing changed
        labels_changed = before.labels != after.labels
        if after.deletion_timestamp is not None:
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        cause = revision_of(after)
        old_ref, ref = controller_ref_of(before), controller_ref_of(after)
        ref_changed = old_ref != ref
        if ref_changed and old_ref is not None:
            old_rs = self._resolve(before.namespace, old_ref)
            if old_rs is not None:
                self._enqueue(old_rs, cause)
        if ref is not None:
            rs = self._resolve(after.namespace, ref)
            if rs is None:
                return
            self._enqueue(rs, cause)
            min_ready = rs.spec.min_ready_seconds
            if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                self._enqueue_after(rs, min_ready + 1.0)
            return
        if labels_changed or ref_changed:
            for rs in self._pod_replica_sets(new):
                self._enqueue(rs, cause)

    def _delete_pod(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, Pod):
            self._track_orphan(deleted.obj, gone=True)
            self.owned.forget(pod_key(deleted.obj))
            self._pod_deleted(deleted.obj)

    def _pod_deleted(self, pod: Pod) -> None:
        """A deletion observed (deletionTimestamp set, or gone): count it, enqueue the RS."""
        ref = controller_ref_of(pod.metadata)
        if ref is None:
            return
        rs = self._resolve(pod.metadata.namespace, ref)
        if rs is None:
            return
        self.expectations.deletion_observed(rs_key(rs.metadata), pod_key(pod))
        self._enqueue(rs, revision_of(pod.metadata))

    # -- sync ---------------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """`syncReplicaSet` (see the module doc)."""
        rs = self._rs.get(req.namespace, req.name)
        key = key_of(req.namespace, req.name)
        if rs is None:
            self.expectations.delete(key)
            return Result()
        needs_sync = self.expectations.satisfied(key)
        selector = self._selector(rs)
        if selector is None:
            raise TerminalError(f"ReplicaSet {key} has an invalid selector")
        owned = self.owned.ensure(rs, selector)
        snapshot = owned.snapshot(self._clock.now())
        kept, claimed = await self._claim_pods(rs, selector, owned)
        manage_error: Exception | None = None
        if needs_sync and rs.metadata.deletion_timestamp is None:

            def active() -> list[Pod]:
                return (owned.kept_pods() if kept is None else kept) + claimed

            try:
                await manage_replica_count(
                    self._deps,
                    rs,
                    snapshot.replicas + len(claimed),
                    active,
                    lambda: self._related_pods(rs),
                )
            except Exception as err:  # recorded in the status, then raised below
                manage_error = err
        now = self._clock.now()
        template_labels = rs.spec.template.metadata.labels
        counts = snapshot.counts(
            (facts_of(pod, selector, template_labels, rs.metadata) for pod in claimed), now
        )
        status = status_from_counts(
            rs,
            counts.replicas,
            counts.fully_labeled,
            counts.ready,
            counts.available,
            manage_error=manage_error,
            now=now,
        )
        await update_replica_set_status(self._client, rs, status)
        if manage_error is not None:
            raise manage_error
        wait = None if counts.next_available is None else counts.next_available - now
        return Result(requeue_after=wait)

    async def _claim_pods(
        self, rs: ReplicaSet, selector: Selector, owned: OwnedPods
    ) -> tuple[list[Pod] | None, list[Pod]]:
        """`claimPods` over the candidates that need a write: the strays (active controlled
        pods no longer matching, from the aggregate) and the orphans of its namespace matching
        the selector (the orphan set), released / adopted by the `ControllerRefManager`. The
        active matching controlled pods are kept without a write and without being listed:
        the aggregate counts them. Returns (the kept pods, listed before the claim's first
        write, or None when nothing was to be claimed: `owned.kept_pods()` then lists them on
        demand, with no await in between; the pods claimed). O(strays + orphans)."""
        to_claim = owned.strays()
        names = self._orphans.get(rs.metadata.namespace)
        if names and not selector.is_empty():  # an empty selector adopts nothing (upstream
            for name in sorted(names):  # validation rejects it)
                orphan = self._pods.get(rs.metadata.namespace, name)
                if (
                    orphan is not None
                    and is_pod_active(orphan)
                    and selector.matches(orphan.metadata.labels)
                ):
                    to_claim.append(orphan)
        if not to_claim:
            return None, []
        kept = owned.kept_pods()  # the cache may move on during the claim's writes
        manager = ControllerRefManager(
            self._client,
            rs,
            selector,
            can_adopt=recheck_deletion_timestamp(self._client, "ReplicaSet", rs.metadata),
        )
        return kept, await manager.claim("Pod", to_claim)

    def _related_pods(self, rs: ReplicaSet) -> Sequence[Pod]:
        """`getIndirectlyRelatedPods`: the pods of every ReplicaSet sharing its controller
        (the pods it controls when it has none)."""
        ref = controller_ref_of(rs.metadata)
        if ref is None:
            return self._pods.by_controller(rs.metadata.uid)
        related: list[Pod] = []
        for sibling in self._rs.by_controller(ref.uid):
            related.extend(self._pods.by_controller(sibling.metadata.uid))
        return related
