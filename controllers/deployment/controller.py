"""The Deployment controller: informer handlers, the work queue and `syncDeployment`.

Follows `pkg/controller/deployment/deployment_controller.go`.

    dc = DeploymentController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dc.controller)          # writes recorded as actor "controller/deployment"

Watches Deployments, ReplicaSets and Pods (shared informers). Enqueued, with `cause` the
resourceVersion of the triggering object:
- a Deployment on add, update and delete;
- the controlling Deployment of a ReplicaSet on add, update and delete; for an orphan RS (add,
  or a label/controllerRef change) every Deployment whose selector matches its labels;
- on a Pod delete, its Deployment (via its RS's controllerRef) if it uses Recreate and has no
  pods left.

`reconcile` is `syncDeployment`: deleted -> nothing; empty selector -> Warning `SelectingAll`;
claim ReplicaSets (adopt/release, `controllers.common.refmanager`); build the pod map;
deletionTimestamp -> status only; paused conditions; paused -> `sync`; scaling event -> `sync`;
else Recreate or RollingUpdate. A progress deadline to watch arms a cancellable timer that
enqueues the Deployment when the check is due (see `reconcile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.common.refmanager import (
    ControllerRefManager,
    controller_ref_of,
    recheck_deletion_timestamp,
)
from controllers.deployment import util as du
from controllers.deployment.recreate import rollout_recreate
from controllers.deployment.rolling import rollout_rolling
from controllers.deployment.sync import (
    Deps,
    Recorder,
    check_paused_conditions,
    is_scaling_event,
    sync,
    sync_status_only,
)
from cp.api.apps import Deployment, DeploymentStatus, ReplicaSet
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct, LabelSelector, ObjectMeta
from cp.api.selectors import Selector, SelectorError
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, SharedInformerFactory, meta_of
from cp.runtime import (
    Activity,
    Clock,
    Controller,
    Request,
    Result,
    SeededIds,
    TerminalError,
    TimerHandle,
    current_cause,
)
from cp.workqueue import WorkQueue

__all__ = ["DEPLOYMENT_COMPONENT", "DEPLOYMENT_NAME", "DeploymentController"]

#: The controller's name: its writes are recorded as `controller/deployment`.
DEPLOYMENT_NAME: Final = "deployment"
#: The event source component, as upstream's recorder.
DEPLOYMENT_COMPONENT: Final = "deployment-controller"
#: The default rate limiter's per-key backoff (client-go `DefaultControllerRateLimiter`), used
#: for upstream's `enqueueRateLimited` progress checks.
_CHECK_BASE: Final = 0.005
_CHECK_MAX: Final = 1000.0


def _selector(selector: LabelSelector) -> Selector:
    return Selector.from_label_selector(selector)


class DeploymentController:
    """The `Reconciler` of Deployments, its informer handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 5,
        recorder: Recorder | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._checks: dict[Request, int] = {}  # consecutive "check now" requeues per key
        self._deadline_timers: dict[Request, TimerHandle] = {}
        if recorder is None:
            recorder = EventRecorder(client, DEPLOYMENT_COMPONENT, clock=clock)
        self._deps = Deps(client=client, recorder=recorder, clock=clock)
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=DEPLOYMENT_NAME)
        self._controller = Controller(
            DEPLOYMENT_NAME, self, queue, clock=clock, ids=ids, workers=workers
        )
        self._deployments = informers.informer_for("Deployment")
        self._replica_sets = informers.informer_for("ReplicaSet")
        self._pods = informers.informer_for("Pod")
        self._deployments.add_handler(
            Handlers(
                on_add=self._enqueue_obj,
                on_update=lambda old, new: self._enqueue_obj(new),
                on_delete=lambda deleted: self._enqueue_obj(deleted.obj),
            )
        )
        self._replica_sets.add_handler(
            Handlers(
                on_add=self._add_replica_set,
                on_update=self._update_replica_set,
                on_delete=self._delete_replica_set,
            )
        )
        self._pods.add_handler(Handlers(on_delete=self._delete_pod))

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    # -- handlers -----------------------------------------------------------------------------

    def _enqueue(self, d: Deployment, cause: int) -> None:
        self._controller.enqueue(Request(d.metadata.namespace, d.metadata.name), cause=cause)

    def _enqueue_obj(self, obj: ApiStruct) -> None:
        meta = meta_of(obj)
        self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _resolve(self, namespace: str, meta: ObjectMeta) -> Deployment | None:
        """The Deployment the controllerRef of `meta` names, if cached with that uid."""
        ref = controller_ref_of(meta)
        if ref is None or ref.kind != "Deployment":
            return None
        d = self._deployments.indexer.get(namespace, ref.name)
        if not isinstance(d, Deployment) or d.metadata.uid != ref.uid:
            return None
        return d

    def _matching_deployments(self, rs: ReplicaSet) -> list[Deployment]:
        """`getDeploymentsForReplicaSet`: Deployments whose selector matches the RS labels."""
        found: list[Deployment] = []
        for obj in self._deployments.indexer.list(rs.metadata.namespace):
            if not isinstance(obj, Deployment):
                continue
            try:
                selector = _selector(obj.spec.selector)
            except SelectorError:
                continue
            if not selector.is_empty() and selector.matches(rs.metadata.labels):
                found.append(obj)
        return found

    def _add_replica_set(self, obj: ApiStruct) -> None:
        if not isinstance(obj, ReplicaSet):
            return
        meta = obj.metadata
        if meta.deletion_timestamp is not None:
            self._delete_replica_set(Deleted(obj))
            return
        if controller_ref_of(meta) is not None:
            d = self._resolve(meta.namespace, meta)
            if d is not None:
                self._enqueue(d, revision_of(meta))
            return
        for d in self._matching_deployments(obj):
            self._enqueue(d, revision_of(meta))

    def _update_replica_set(self, old: ApiStruct, new: ApiStruct) -> None:
        if not isinstance(old, ReplicaSet) or not isinstance(new, ReplicaSet):
            return
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        old_ref, new_ref = controller_ref_of(old.metadata), controller_ref_of(new.metadata)
        ref_changed = old_ref != new_ref
        cause = revision_of(new.metadata)
        if ref_changed and old_ref is not None:
            d = self._resolve(old.metadata.namespace, old.metadata)
            if d is not None:
                self._enqueue(d, cause)
        if new_ref is not None:
            d = self._resolve(new.metadata.namespace, new.metadata)
            if d is not None:
                self._enqueue(d, cause)
            return
        if ref_changed or old.metadata.labels != new.metadata.labels:
            for d in self._matching_deployments(new):
                self._enqueue(d, cause)

    def _delete_replica_set(self, deleted: Deleted) -> None:
        meta = meta_of(deleted.obj)
        d = self._resolve(meta.namespace, meta)
        if d is not None:
            self._enqueue(d, revision_of(meta))

    def _delete_pod(self, deleted: Deleted) -> None:
        """A Recreate Deployment is synced once its last pod is gone."""
        meta = meta_of(deleted.obj)
        rs = self._rs_of(meta)
        d = self._resolve(meta.namespace, rs.metadata) if rs is not None else None
        if d is None or du.strategy_type(d) != du.RECREATE:
            return
        rss = self._replica_sets.indexer.by_controller(d.metadata.uid)
        typed = [r for r in rss if isinstance(r, ReplicaSet)]
        if not any(self._pod_map(d, typed).values()):
            self._enqueue(d, revision_of(meta))

    def _rs_of(self, pod: ObjectMeta) -> ReplicaSet | None:
        ref = controller_ref_of(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return None
        rs = self._replica_sets.indexer.get(pod.namespace, ref.name)
        if not isinstance(rs, ReplicaSet) or rs.metadata.uid != ref.uid:
            return None
        return rs

    # -- lookups ------------------------------------------------------------------------------

    async def _replica_sets_for(self, d: Deployment, selector: Selector) -> list[ReplicaSet]:
        """`getReplicaSetsForDeployment`: claim RSs (adopt/release). Upstream offers every RS
        of the namespace; only those it controls and matching orphans can be claimed, so those
        are the candidates (from the controller and label indexes), in key order."""
        indexer = self._replica_sets.indexer
        found: dict[str, ReplicaSet] = {}
        for rs in indexer.by_controller(d.metadata.uid):
            if isinstance(rs, ReplicaSet) and rs.metadata.namespace == d.metadata.namespace:
                found[rs.metadata.name] = rs
        for rs in indexer.list(d.metadata.namespace, selector):
            if isinstance(rs, ReplicaSet) and controller_ref_of(rs.metadata) is None:
                found[rs.metadata.name] = rs
        candidates = [found[name] for name in sorted(found)]
        manager = ControllerRefManager(
            self._client,
            d,
            selector,
            can_adopt=recheck_deletion_timestamp(self._client, "Deployment", d.metadata),
        )
        return await manager.claim("ReplicaSet", candidates)

    def _pod_map(self, d: Deployment, rs_list: Sequence[ReplicaSet]) -> dict[str, list[Pod]]:
        """`getPodMapForDeployment`: the Deployment's pods by the uid of their controlling RS
        (terminating and finished pods included: Recreate needs them)."""
        try:
            selector = _selector(d.spec.selector)
        except SelectorError:
            return {}
        pod_map: dict[str, list[Pod]] = {}
        for rs in rs_list:
            pods = self._pods.indexer.by_controller(rs.metadata.uid)
            pod_map[rs.metadata.uid] = [
                p
                for p in pods
                if isinstance(p, Pod)
                and p.metadata.namespace == d.metadata.namespace
                and selector.matches(p.metadata.labels)
            ]
        return pod_map

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """Upstream `syncDeployment`; raises to retry (Conflict etc.), TerminalError for a
        Deployment that can never sync (invalid selector, unknown strategy).

        The progress-deadline check is a timer of this controller (re-armed or cancelled by
        every completed sync) rather than `Result(requeue_after=...)`: upstream's delayed
        requeue outlives a rollout that completed meanwhile (one no-op sync later), which here
        would keep `settle()` from converging; a cancelled timer has the same effect otherwise.
        """
        after = await self._sync(req)
        self._arm_progress_check(req, self._progress_check(req, after))
        return Result()

    def _arm_progress_check(self, req: Request, after: float | None) -> None:
        """Enqueue `req` in `after` seconds (None: no check), replacing any armed check."""
        old = self._deadline_timers.pop(req, None)
        if old is not None:
            old.cancel()
        if after is None:
            return
        cause = current_cause()

        def fire() -> None:
            self._deadline_timers.pop(req, None)
            self._controller.enqueue(req, cause=cause)

        self._deadline_timers[req] = self._clock.call_later(after, fire)

    async def _sync(self, req: Request) -> float | None:
        """One `syncDeployment`; the progress-check delay of `sync_rollout_status` or None."""
        cached = self._deployments.indexer.get(req.namespace, req.name)
        if not isinstance(cached, Deployment):
            return None
        d = cached
        if d.spec.selector == LabelSelector():
            await self._selecting_all(d)
            return None
        try:
            selector = _selector(d.spec.selector)
        except SelectorError as err:
            raise TerminalError(
                f"deployment {req.namespace}/{req.name} has invalid label selector: {err}"
            ) from None
        rs_list = await self._replica_sets_for(d, selector)
        x = self._deps
        if d.metadata.deletion_timestamp is not None:
            await sync_status_only(x, d, rs_list)
            return None
        d = await check_paused_conditions(x, d)
        if d.spec.paused:
            await sync(x, d, rs_list)
            return None
        d, rs_list, scaling = await is_scaling_event(x, d, rs_list)
        if scaling:
            await sync(x, d, rs_list)
            return None
        strategy = du.strategy_type(d)
        if strategy == du.RECREATE:
            # Upstream lists the pods on every sync; only Recreate reads them, so only
            # Recreate pays for the walk (O(pods of the Deployment)).
            return await rollout_recreate(x, d, rs_list, self._pod_map(d, rs_list))
        if strategy == du.ROLLING_UPDATE:
            return await rollout_rolling(x, d, rs_list)
        raise TerminalError(f"unexpected deployment strategy type: {strategy}")

    def _progress_check(self, req: Request, after: float | None) -> float | None:
        """0.0 ("check now") becomes upstream's rate-limited requeue: 5 ms, 10 ms, ... 1000 s
        for consecutive checks of the key; any other outcome resets the count."""
        if after != 0.0:
            self._checks.pop(req, None)
            return after
        count = self._checks.get(req, 0)
        self._checks[req] = count + 1
        return min(_CHECK_BASE * 2.0**count, _CHECK_MAX)

    async def _selecting_all(self, d: Deployment) -> None:
        message = "This deployment is selecting all pods. A non-empty selector is required."
        await self._deps.recorder.event(d, "Warning", "SelectingAll", message)
        status = d.status or DeploymentStatus()
        if status.observed_generation < d.metadata.generation:
            observed = replace(status, observed_generation=d.metadata.generation)
            await self._client.update_status(replace(d, status=observed))
