"""The StatefulSet controller: handlers, the work queue, and `sync`.

Follows upstream `pkg/controller/statefulset/stateful_set.go` (`StatefulSetController`,
`addPod`/`updatePod`/`deletePod`, `enqueueStatefulSet`, `getPodsForStatefulSet`,
`adoptOrphanRevisions`, `sync`, `syncStatefulSet`) and `stateful_set_control.go`
(`UpdateStatefulSet`, `performUpdate`).

    ssc = StatefulSetController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(ssc.controller)          # name "statefulset", actor "controller/statefulset"

One sync of `Request(namespace, name)` (`reconcile`):

1. the StatefulSet from the cache; gone -> done (the garbage collector removes its pods,
   revisions and the claims it owns);
2. orphan ControllerRevisions matching its selector are adopted (`adoptOrphanRevisions`);
3. its pods, never a scan of the namespace: those it controls (`by_controller(uid)`) plus the
   orphans matching its selector (a label-index lookup), members by name only
   (`<set>-<ordinal>`); orphans are adopted by the `ControllerRefManager`;
4. its revisions (`by_controller(uid)`, sorted), the current and update revisions chosen or
   created (`history.choose_revisions`);
5. one pass of `control.update_stateful_set`, the status written when it changed, the history
   truncated; an error of the pass is raised after the status write (retry with backoff);
6. while a ready pod waits out minReadySeconds, requeue for the moment it becomes available
   (upstream requeues after minReadySeconds while availableReplicas != replicas).

Handlers enqueue with `cause=` the triggering object's resourceVersion: set events; pod events
for the pod's controller (an orphan: every set of its namespace whose selector matches), and
again after minReadySeconds + 1 s when a pod turns Ready; revision events for their
controller; a claim deleted for the sets whose selector matches its labels (a pod waiting for a
stale claim to be collected resumes).

Difference from upstream: a controlled pod whose name is not a member of the set is ignored
rather than released.
"""

from __future__ import annotations

from typing import Final

from controllers.common import revision_of
from controllers.common.pods import is_pod_ready
from controllers.common.refmanager import (
    ControllerRefManager,
    controller_ref_of,
    recheck_deletion_timestamp,
    resolve_controller_ref,
)
from controllers.common.selectors import SelectorCache
from controllers.statefulset.control import (
    Pass,
    next_available,
    update_stateful_set,
    update_status,
)
from controllers.statefulset.history import choose_revisions, sort_revisions, truncate_history
from controllers.statefulset.identity import is_member_of
from controllers.statefulset.podcontrol import EventSink, StatefulPodControl
from cp.api.apps import ControllerRevision, StatefulSet
from cp.api.core import PersistentVolumeClaim
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.api.selectors import Selector
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory, key_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds, TerminalError
from cp.workqueue import WorkQueue

__all__ = ["EVENT_SOURCE", "STS_NAME", "StatefulSetController"]

#: The controller's name: its writes are recorded as `controller/statefulset`.
STS_NAME: Final = "statefulset"
#: The component of its events (upstream's recorder source).
EVENT_SOURCE: Final = "statefulset-controller"


class StatefulSetController:
    """The `Reconciler` of StatefulSets, its informer handlers and its `Controller`."""

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
    ) -> None:
        self._client = client
        self._clock = clock
        sink: EventSink = (
            recorder if recorder is not None else EventRecorder(client, EVENT_SOURCE, clock=clock)
        )
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=STS_NAME)
        self._controller = Controller(STS_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        sts_informer = informers.informer_for("StatefulSet")
        pod_informer = informers.informer_for("Pod")
        rev_informer = informers.informer_for("ControllerRevision")
        pvc_informer = informers.informer_for("PersistentVolumeClaim")
        self._sets: Lister[StatefulSet] = sts_informer.lister(StatefulSet)
        self._pods: Lister[Pod] = pod_informer.lister(Pod)
        self._revisions: Lister[ControllerRevision] = rev_informer.lister(ControllerRevision)
        claims: Lister[PersistentVolumeClaim] = pvc_informer.lister(PersistentVolumeClaim)
        self._pod_control = StatefulPodControl(client, sink, claims)
        self._selectors = SelectorCache()
        sts_informer.add_handler(
            Handlers(on_add=self._add_set, on_update=self._update_set, on_delete=self._delete_set)
        )
        pod_informer.add_handler(
            Handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)
        )
        rev_informer.add_handler(
            Handlers(
                on_add=self._owned_changed,
                on_update=lambda old, new: self._owned_changed(new),
                on_delete=lambda deleted: self._owned_changed(deleted.obj),
            )
        )
        pvc_informer.add_handler(Handlers(on_delete=self._delete_claim))

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    # -- helpers ------------------------------------------------------------------------------

    def _enqueue(self, sts: StatefulSet, cause: int) -> None:
        meta = sts.metadata
        self._controller.enqueue(Request(meta.namespace, meta.name), cause=cause)

    def _selector(self, sts: StatefulSet) -> Selector | None:
        """The parsed `spec.selector` (None when invalid), cached per uid and selector."""
        return self._selectors.get(sts.metadata.uid, sts.spec.selector)

    def _resolve(self, namespace: str, ref: OwnerReference) -> StatefulSet | None:
        """`resolveControllerRef`: the cached set a controllerRef names, with that uid."""
        return resolve_controller_ref(self._sets, "StatefulSet", namespace, ref)

    def _matching_sets(self, meta: ObjectMeta) -> list[StatefulSet]:
        """`getPodStatefulSets`: the sets of the namespace whose non-empty selector matches."""
        if not meta.labels:
            return []
        found = []
        for sts in self._sets.list(meta.namespace):
            selector = self._selector(sts)
            if selector is not None and not selector.is_empty() and selector.matches(meta.labels):
                found.append(sts)
        return found

    # -- StatefulSet handlers -----------------------------------------------------------------

    def _add_set(self, obj: ApiStruct) -> None:
        if isinstance(obj, StatefulSet):
            self._enqueue(obj, revision_of(obj.metadata))

    def _update_set(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, StatefulSet):
            self._enqueue(new, revision_of(new.metadata))

    def _delete_set(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, StatefulSet):
            self._selectors.forget(deleted.obj.metadata.uid)
            self._enqueue(deleted.obj, revision_of(deleted.obj.metadata))

    # -- Pod, revision and claim handlers -----------------------------------------------------

    def _owned_changed(self, obj: ApiStruct) -> None:
        """Enqueue the set controlling `obj`, or (an orphan pod) the sets matching it."""
        meta = getattr(obj, "metadata", None)
        if not isinstance(meta, ObjectMeta):
            return
        ref = controller_ref_of(meta)
        if ref is not None:
            sts = self._resolve(meta.namespace, ref)
            if sts is not None:
                self._enqueue(sts, revision_of(meta))
            return
        if isinstance(obj, Pod):
            for sts in self._matching_sets(meta):
                self._enqueue(sts, revision_of(meta))

    def _add_pod(self, obj: ApiStruct) -> None:
        self._owned_changed(obj)

    def _update_pod(self, old: ApiStruct, new: ApiStruct) -> None:
        """`updatePod`: the old and new controllers; a pod turning Ready under minReadySeconds
        enqueues its set again once it can be available."""
        if not isinstance(old, Pod) or not isinstance(new, Pod):
            return
        if old.metadata.resource_version == new.metadata.resource_version:
            return  # a resync: nothing changed
        old_ref, ref = controller_ref_of(old.metadata), controller_ref_of(new.metadata)
        if old_ref is not None and old_ref != ref:
            previous = self._resolve(old.metadata.namespace, old_ref)
            if previous is not None:
                self._enqueue(previous, revision_of(new.metadata))
        self._owned_changed(new)
        if ref is None:
            return
        sts = self._resolve(new.metadata.namespace, ref)
        min_ready = sts.spec.min_ready_seconds if sts is not None else 0
        if sts is not None and min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
            request = Request(sts.metadata.namespace, sts.metadata.name)
            self._controller.queue.add_after(request, min_ready + 1.0)

    def _delete_pod(self, deleted: Deleted) -> None:
        self._owned_changed(deleted.obj)

    def _delete_claim(self, deleted: Deleted) -> None:
        claim = deleted.obj
        if isinstance(claim, PersistentVolumeClaim):
            for sts in self._matching_sets(claim.metadata):
                self._enqueue(sts, revision_of(claim.metadata))

    # -- sync ---------------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """`sync` (see the module doc)."""
        sts = self._sets.get(req.namespace, req.name)
        if sts is None:
            return Result()
        selector = self._selector(sts)
        if selector is None:
            raise TerminalError(
                f"StatefulSet {key_of(req.namespace, req.name)} has an invalid selector"
            )
        manager = ControllerRefManager(
            self._client,
            sts,
            selector,
            can_adopt=recheck_deletion_timestamp(self._client, "StatefulSet", sts.metadata),
        )
        revisions = await self._claim_revisions(sts, selector, manager)
        pods = await self._claim_pods(sts, selector, manager)
        current, update, collision_count = await choose_revisions(self._client, sts, revisions)
        now = self._clock.now()
        state = Pass(self._pod_control, sts, current, update, now)
        status, error = await update_stateful_set(state, pods, collision_count)
        await update_status(self._client, sts, status)
        await truncate_history(self._client, sts, pods, revisions, current, update)
        if error is not None:
            raise error
        when = next_available(state)
        return Result(requeue_after=None if when is None else when - now)

    async def _claim_revisions(
        self, sts: StatefulSet, selector: Selector, manager: ControllerRefManager
    ) -> list[ControllerRevision]:
        """`adoptOrphanRevisions` + `ListRevisions`, sorted: the revisions the set controls
        and the orphans matching its selector, adopted."""
        owned = self._revisions.by_controller(sts.metadata.uid)
        orphans = [
            r
            for r in self._revisions.list(sts.metadata.namespace, selector)
            if controller_ref_of(r.metadata) is None
        ]
        if orphans and not selector.is_empty():
            owned = owned + await manager.claim("ControllerRevision", orphans)
        return sort_revisions(owned)

    async def _claim_pods(
        self, sts: StatefulSet, selector: Selector, manager: ControllerRefManager
    ) -> list[Pod]:
        """`getPodsForStatefulSet`: the member pods it controls plus the matching member
        orphans, adopted (`ClaimPods` with the `isMemberOf` filter)."""
        candidates = [p for p in self._pods.by_controller(sts.metadata.uid) if is_member_of(sts, p)]
        if not selector.is_empty():
            candidates += [
                p
                for p in self._pods.list(sts.metadata.namespace, selector)
                if controller_ref_of(p.metadata) is None and is_member_of(sts, p)
            ]
        return await manager.claim("Pod", candidates)
