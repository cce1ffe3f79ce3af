"""The Endpoints controller: handlers, the Service index and `syncService`.

Follows upstream `pkg/controller/endpoint/endpoints_controller.go` (`Controller`, `addPod`,
`updatePod`, `deletePod`, `onServiceUpdate`, `onServiceDelete`, `onEndpointsDelete`,
`syncService`) and `pkg/controller/util/endpointslice` (`GetServicesToUpdateOnPodChange`,
`podEndpointsChanged`).

    epc = EndpointsController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(epc.controller)          # name "endpoints", actor "controller/endpoints"

One sync of `Request(namespace, name)` (`reconcile`), the name being the Service's:

1. the Service from the cache; gone -> delete the Endpoints of that name (NotFound is fine),
   forget its trigger times, done;
2. ExternalName, or no selector -> nothing (a selector-less Service's Endpoints are the
   user's); an empty selector counts as none (the API cannot tell `{}` from absent here);
3. the pods of its namespace matching the selector, from the pod cache's label index;
4. the subsets (`subsets.build_subsets`: ready / not ready, ports by targetPort, repacked);
5. the Endpoints from the cache: equal subsets, equal labels (ignoring the headless label)
   and a correct over-capacity annotation -> no write; otherwise create or update it with
   the Service's labels (plus `service.kubernetes.io/headless: ""` when the Service has no
   cluster IP), the last-change-trigger-time annotation (set, or removed when there is no new
   trigger time) and at most 1000 addresses (`endpoints.kubernetes.io/over-capacity:
   truncated`). A failed write records a Warning event and is raised (retry with backoff).
   Until the Endpoints cache shows this controller's last write, the sync starts from that
   write rather than from the stale cache (no AlreadyExists on a second create, no Conflict).

A sync first waits for the Service, Pod and Endpoints caches' first list (upstream starts
its workers after `WaitForNamedCacheSync`; `wait_for_sync=False` is for tests that fill the
caches by hand), so it never deletes or empties an Endpoints from a cache still listing.

Handlers enqueue with `cause=` the triggering object's resourceVersion. A Service event
enqueues that Service; an Endpoints deletion enqueues its name (recreated if its Service still
wants it); each Endpoints of the first list is enqueued (`checkLeftoverEndpoints`: one whose
Service was deleted while the controller was down is deleted).

A pod event enqueues the Services selecting it, found through an index of Services by one
`key=value` term of their selector (per namespace), so a pod event costs O(its labels +
candidate Services), never a scan of the Services: an added or deleted pod, the Services
selecting it; an updated pod whose labels, hostname or subdomain changed, the Services
selecting its old or new labels; one whose deletionTimestamp, readiness, phase, IPs or node
changed, the Services selecting it; any other update (a resync, an annotation) nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Final, Protocol

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.common.pods import is_pod_ready
from controllers.common.times import format_time, memo_parser
from controllers.endpoints.subsets import (
    MAX_CAPACITY,
    build_subsets,
    capacity_annotation_set_correctly,
    is_service_ip_set,
    truncate,
)
from controllers.endpoints.triggertime import TriggerTimeTracker
from cp.api.core import Endpoints, EndpointSubset, Service
from cp.api.core_pod import Pod
from cp.api.errors import NotFound
from cp.api.errors_values import SelectorError
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.selectors import Selector
from cp.client import Client
from cp.client.events import EventRecorder
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory, key_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds
from cp.workqueue import WorkQueue

__all__ = [
    "DEFAULT_WORKERS",
    "EP_NAME",
    "EVENT_SOURCE",
    "HEADLESS_LABEL",
    "LAST_CHANGE_TRIGGER_TIME",
    "MAX_CAPACITY",
    "OVER_CAPACITY",
    "EndpointsController",
    "EventSink",
]

#: The controller's name: its writes are recorded as `controller/endpoints`.
EP_NAME: Final = "endpoints"
#: The component of its events (upstream's recorder source).
EVENT_SOURCE: Final = "endpoint-controller"
#: `v1.IsHeadlessService`.
HEADLESS_LABEL: Final = "service.kubernetes.io/headless"
#: `v1.EndpointsLastChangeTriggerTime`.
LAST_CHANGE_TRIGGER_TIME: Final = "endpoints.kubernetes.io/last-change-trigger-time"
#: `v1.EndpointsOverCapacity`, set to "truncated".
OVER_CAPACITY: Final = "endpoints.kubernetes.io/over-capacity"
#: Upstream `--concurrent-endpoint-syncs` default.
DEFAULT_WORKERS: Final = 5


class EventSink(Protocol):
    """What the controller records events with (`cp.client.events.EventRecorder`)."""

    async def event(self, obj: ApiStruct, type: str, reason: str, message: str) -> object: ...


class _ServiceIndex:
    """Services with a selector, indexed by (namespace, one `key=value` term of it): a pod can
    only be selected by a Service whose indexed term it carries."""

    __slots__ = ("_by_term", "_entries")

    def __init__(self) -> None:
        # namespace/name -> (the indexed term, the selector's map, its parsed form)
        self._entries: dict[str, tuple[tuple[str, str, str], Mapping[str, str], Selector]] = {}
        self._by_term: dict[tuple[str, str, str], set[str]] = {}

    def put(self, service: Service) -> None:
        meta = service.metadata
        key = key_of(meta.namespace, meta.name)
        selector = service.spec.selector
        old = self._entries.get(key)
        if old is not None and old[1] == selector:
            return
        self.remove(key)
        if not selector or service.spec.type == "ExternalName":
            return
        try:
            parsed = Selector.from_set(selector)
        except SelectorError:
            return
        first = min(selector.items())
        term = (meta.namespace, first[0], first[1])
        self._entries[key] = (term, selector, parsed)
        self._by_term.setdefault(term, set()).add(key)

    def remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        bucket = self._by_term.get(entry[0])
        if bucket is not None:
            bucket.discard(key)
            if not bucket:
                del self._by_term[entry[0]]

    def selecting(self, namespace: str, labels: Mapping[str, str]) -> set[str]:
        """The keys of the Services of `namespace` whose selector matches `labels`."""
        found: set[str] = set()
        for name, value in labels.items():
            for key in self._by_term.get((namespace, name, value), ()):
                if self._entries[key][2].matches(labels):
                    found.add(key)
        return found


def _ips(pod: Pod) -> tuple[str, ...]:
    status = pod.status
    if status is None:
        return ()
    return tuple(p.ip for p in status.pod_ips) or ((status.pod_ip,) if status.pod_ip else ())


def _endpoints_changed(old: Pod, new: Pod) -> bool:
    """`podEndpointsChanged` (plus the phase and node, which upstream reaches through
    readiness): what an Endpoints address reads of a pod moved."""
    if old.metadata.deletion_timestamp != new.metadata.deletion_timestamp:
        return True
    if is_pod_ready(old) != is_pod_ready(new):
        return True
    if _ips(old) != _ips(new):
        return True
    old_phase = old.status.phase if old.status is not None else ""
    new_phase = new.status.phase if new.status is not None else ""
    old_node = old.spec.node_name if old.spec is not None else ""
    new_node = new.spec.node_name if new.spec is not None else ""
    return old_phase != new_phase or old_node != new_node


def _host_and_domain(pod: Pod) -> tuple[str, str]:
    spec = pod.spec
    return ("", "") if spec is None else (spec.hostname, spec.subdomain)


class EndpointsController:
    """The `Reconciler` of Services' Endpoints, its informer handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = DEFAULT_WORKERS,
        recorder: EventSink | None = None,
        wait_for_sync: bool = True,
    ) -> None:
        self._client = client
        self._recorder: EventSink = (
            recorder if recorder is not None else EventRecorder(client, EVENT_SOURCE, clock=clock)
        )
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=EP_NAME)
        self._controller = Controller(EP_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        self.triggers = TriggerTimeTracker()
        # The Endpoints this controller last wrote, per key, until the cache catches up: a
        # sync must not create again (AlreadyExists) or update from a stale resourceVersion
        # (Conflict) because the Endpoints informer lags the pod and Service informers
        # (upstream's `staleEndpointsTracker`, which only covers updates).
        self._written: dict[str, Endpoints] = {}
        self._index = _ServiceIndex()
        svc_informer = informers.informer_for("Service")
        pod_informer = informers.informer_for("Pod")
        ep_informer = informers.informer_for("Endpoints")
        self._services: Lister[Service] = svc_informer.lister(Service)
        self._pods: Lister[Pod] = pod_informer.lister(Pod)
        self._endpoints: Lister[Endpoints] = ep_informer.lister(Endpoints)
        self._informers = (svc_informer, pod_informer, ep_informer)
        self._ep_informer = ep_informer
        self._wait_for_sync = wait_for_sync
        svc_informer.add_handler(
            Handlers(
                on_add=self._add_service,
                on_update=self._update_service,
                on_delete=self._delete_service,
            )
        )
        pod_informer.add_handler(
            Handlers(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod)
        )
        ep_informer.add_handler(
            Handlers(on_add=self._add_endpoints, on_delete=self._delete_endpoints)
        )

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    # -- handlers -----------------------------------------------------------------------------

    def _enqueue_key(self, key: str, cause: int) -> None:
        namespace, _, name = key.partition("/")
        self._controller.enqueue(Request(namespace, name), cause=cause)

    def _add_service(self, obj: ApiStruct) -> None:
        if isinstance(obj, Service):
            self._index.put(obj)
            meta = obj.metadata
            self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _update_service(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, Service) and (
            not isinstance(old, Service)
            or old.metadata.resource_version != new.metadata.resource_version
        ):
            self._add_service(new)

    def _delete_service(self, deleted: Deleted) -> None:
        obj = deleted.obj
        if isinstance(obj, Service):
            meta = obj.metadata
            self._index.remove(key_of(meta.namespace, meta.name))
            self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _add_endpoints(self, obj: ApiStruct) -> None:
        """`checkLeftoverEndpoints`: the Endpoints of the first list are each enqueued, so
        those whose Service went away while nobody watched are deleted."""
        if isinstance(obj, Endpoints) and not self._ep_informer.has_synced:
            meta = obj.metadata
            self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _delete_endpoints(self, deleted: Deleted) -> None:
        obj = deleted.obj
        if isinstance(obj, Endpoints):
            meta = obj.metadata
            self._written.pop(key_of(meta.namespace, meta.name), None)
            self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _pod_services(self, pod: Pod) -> set[str]:
        meta = pod.metadata
        return self._index.selecting(meta.namespace, meta.labels) if meta.labels else set()

    def _add_pod(self, obj: ApiStruct) -> None:
        if isinstance(obj, Pod):
            cause = revision_of(obj.metadata)
            for key in sorted(self._pod_services(obj)):
                self._enqueue_key(key, cause)

    def _update_pod(self, old: ApiStruct, new: ApiStruct) -> None:
        """`GetServicesToUpdateOnPodChange` (see the module doc)."""
        if not isinstance(old, Pod) or not isinstance(new, Pod):
            return
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        membership = old.metadata.labels != new.metadata.labels or _host_and_domain(
            old
        ) != _host_and_domain(new)
        if membership:
            keys = self._pod_services(old) | self._pod_services(new)
        elif _endpoints_changed(old, new):
            keys = self._pod_services(new)
        else:
            return
        cause = revision_of(new.metadata)
        for key in sorted(keys):
            self._enqueue_key(key, cause)

    def _delete_pod(self, deleted: Deleted) -> None:
        obj = deleted.obj
        if isinstance(obj, Pod):
            cause = revision_of(obj.metadata)
            for key in sorted(self._pod_services(obj)):
                self._enqueue_key(key, cause)

    # -- sync ---------------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """`syncService` (see the module doc)."""
        if self._wait_for_sync:  # upstream's WaitForNamedCacheSync before the workers run
            for informer in self._informers:
                if not informer.has_synced:
                    await informer.wait_for_sync()
        service = self._services.get(req.namespace, req.name)
        key = key_of(req.namespace, req.name)
        if service is None:
            self.triggers.forget(key)
            self._written.pop(key, None)
            with contextlib.suppress(NotFound):
                await self._client.delete("Endpoints", req.name, namespace=req.namespace)
            return Result()
        spec = service.spec
        if spec.type == "ExternalName" or not spec.selector:
            return Result()
        try:
            selector = Selector.from_set(spec.selector)
        except SelectorError:
            return Result()  # validation keeps these out; nothing to select
        pods = self._pods.list(req.namespace, selector)
        parse = memo_parser()
        trigger = self.triggers.compute(service, pods, parse)
        subsets = build_subsets(service, pods)
        current = self._current(key, self._endpoints.get(req.namespace, req.name))
        labels = dict(service.metadata.labels)
        if current is not None:
            compare = {k: v for k, v in current.metadata.labels.items() if k != HEADLESS_LABEL}
            if (
                current.subsets == subsets
                and compare == labels
                and capacity_annotation_set_correctly(
                    current.metadata.annotations, current.subsets, OVER_CAPACITY
                )
            ):
                return Result()
        annotations = dict(current.metadata.annotations) if current is not None else {}
        if trigger is not None:
            annotations[LAST_CHANGE_TRIGGER_TIME] = format_time(trigger)
        else:
            annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
        subsets, truncated = truncate(subsets)
        if truncated:
            annotations[OVER_CAPACITY] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY, None)
        if is_service_ip_set(service):
            labels.pop(HEADLESS_LABEL, None)
        else:
            labels[HEADLESS_LABEL] = ""
        try:
            written = await self._write(service, current, labels, annotations, subsets)
        except Exception:
            self._written.pop(key, None)  # retry from the cache alone
            raise
        self._written[key] = written
        return Result()

    def _current(self, key: str, cached: Endpoints | None) -> Endpoints | None:
        """The cached Endpoints, or what this controller wrote last when the cache has not
        seen that write yet (a lower resourceVersion, or nothing)."""
        mine = self._written.get(key)
        if mine is None:
            return cached
        if cached is None or revision_of(cached.metadata) < revision_of(mine.metadata):
            return mine
        del self._written[key]  # the cache caught up
        return cached

    async def _write(
        self,
        service: Service,
        current: Endpoints | None,
        labels: dict[str, str],
        annotations: dict[str, str],
        subsets: tuple[EndpointSubset, ...],
    ) -> Endpoints:
        """Create or update the Endpoints (returns it as stored); a failure records a Warning
        event and is raised."""
        meta = service.metadata
        try:
            if current is None:
                endpoints = Endpoints(
                    metadata=ObjectMeta(
                        name=meta.name,
                        namespace=meta.namespace,
                        labels=labels,
                        annotations=annotations,
                    ),
                    subsets=subsets,
                )
                return await self._client.create(endpoints)
            else:
                endpoints = replace(
                    current,
                    metadata=replace(current.metadata, labels=labels, annotations=annotations),
                    subsets=subsets,
                )
                return await self._client.update(endpoints)
        except Exception as err:
            if current is None:
                reason = "FailedToCreateEndpoint"
                message = (
                    f"Failed to create endpoint for service {meta.namespace}/{meta.name}: {err}"
                )
            else:
                reason = "FailedToUpdateEndpoint"
                message = f"Failed to update endpoint {meta.namespace}/{meta.name}: {err}"
            await self._recorder.event(endpoints, "Warning", reason, message)
            raise
