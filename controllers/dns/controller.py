"""The DNS controller: one DNSRecordSet per Service, equal to what its Service and Endpoints say.

    dnc = DNSController(client, informers, clock=clock, activity=activity, ids=ids)
    manager.add(dnc.controller)          # name "dns", actor "controller/dns"

A cpemu controller with no upstream counterpart: CoreDNS answers from its own informer caches
and writes nothing. Here the records are objects in the log (`cp.api.dns.DNSRecordSet`), so a
replay can say what each name resolved to at any revision; `controllers.dns.resolver` answers
from them as CoreDNS's kubernetes plugin would.

One sync of `Request(namespace, name)` (`reconcile`), the name being the Service's:

1. the Service from the cache; gone -> delete the DNSRecordSet of that name (NotFound is fine);
2. the records (`records.build_records`) from the Service and its Endpoints (from the cache;
   none yet: only the Service's own records, e.g. its cluster IP);
3. the DNSRecordSet from the cache (or the one this controller last wrote, while the cache has
   not caught up with it): equal zone, TTL and records -> no write; otherwise create it (name
   and namespace of the Service, no ownerReference: like Endpoints, it is this controller that
   deletes it) or update it. Every Service gets one, even with no records (a headless Service
   without ready endpoints), so a replay can tell "no answer" from "no Service".

A sync first waits for the Service, Endpoints and DNSRecordSet caches' first list, so it never
deletes or empties a record set from a cache still listing (`wait_for_sync=False` is for tests
that fill the caches by hand).

Handlers enqueue with `cause=` the triggering object's resourceVersion: a Service added,
updated (new resourceVersion) or deleted, and an Endpoints added, updated or deleted, enqueue
the Service of that name; a DNSRecordSet added, changed or deleted enqueues its name: one whose
Service went away while the controller was down is deleted, one deleted or edited by someone
else is recreated or corrected (the controller's own writes come back as syncs that write
nothing).
"""

from __future__ import annotations

import contextlib
from typing import Final

from msgspec.structs import replace

from controllers.common import revision_of
from controllers.dns.records import build_records
from cp.api.core import Endpoints, Service
from cp.api.dns import DEFAULT_TTL, DEFAULT_ZONE, DNSRecordSet
from cp.api.errors import NotFound
from cp.api.meta import ApiStruct, ObjectMeta
from cp.client import Client
from cp.informer import Deleted, Handlers, Lister, SharedInformerFactory, key_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds
from cp.workqueue import WorkQueue

__all__ = ["DEFAULT_WORKERS", "DNS_NAME", "DNSController"]

#: The controller's name: its writes are recorded as `controller/dns`.
DNS_NAME: Final = "dns"
#: Worker count (as the Endpoints controller's `--concurrent-endpoint-syncs`).
DEFAULT_WORKERS: Final = 5


class DNSController:
    """The `Reconciler` of Services' DNSRecordSets, its informer handlers and `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = DEFAULT_WORKERS,
        zone: str = DEFAULT_ZONE,
        ttl: int = DEFAULT_TTL,
        wait_for_sync: bool = True,
    ) -> None:
        self._client = client
        self._zone = zone.strip(".").lower()
        self._ttl = ttl
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=DNS_NAME)
        self._controller = Controller(DNS_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        # The record sets this controller last wrote, per key, until the cache catches up.
        self._written: dict[str, DNSRecordSet] = {}
        svc_informer = informers.informer_for("Service")
        ep_informer = informers.informer_for("Endpoints")
        rs_informer = informers.informer_for("DNSRecordSet")
        self._services: Lister[Service] = svc_informer.lister(Service)
        self._endpoints: Lister[Endpoints] = ep_informer.lister(Endpoints)
        self._record_sets: Lister[DNSRecordSet] = rs_informer.lister(DNSRecordSet)
        self._informers = (svc_informer, ep_informer, rs_informer)
        self._wait_for_sync = wait_for_sync
        svc_informer.add_handler(
            Handlers(on_add=self._added, on_update=self._updated, on_delete=self._deleted)
        )
        ep_informer.add_handler(
            Handlers(on_add=self._added, on_update=self._updated, on_delete=self._deleted)
        )
        rs_informer.add_handler(
            Handlers(
                on_add=self._add_record_set,
                on_update=self._update_record_set,
                on_delete=self._delete_record_set,
            )
        )

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    @property
    def zone(self) -> str:
        return self._zone

    # -- handlers -----------------------------------------------------------------------------

    def _enqueue(self, obj: ApiStruct) -> None:
        meta = getattr(obj, "metadata", None)
        if isinstance(meta, ObjectMeta):
            self._controller.enqueue(Request(meta.namespace, meta.name), cause=revision_of(meta))

    def _added(self, obj: ApiStruct) -> None:
        if isinstance(obj, Service | Endpoints):
            self._enqueue(obj)

    def _updated(self, old: ApiStruct, new: ApiStruct) -> None:
        if isinstance(new, Service | Endpoints):
            old_meta = getattr(old, "metadata", None)
            if (
                not isinstance(old_meta, ObjectMeta)
                or old_meta.resource_version != new.metadata.resource_version
            ):
                self._enqueue(new)

    def _deleted(self, deleted: Deleted) -> None:
        if isinstance(deleted.obj, Service | Endpoints):
            self._enqueue(deleted.obj)

    def _add_record_set(self, obj: ApiStruct) -> None:
        """Every record set seen is checked: leftovers of the first list and ones someone else
        made are deleted or corrected (the controller's own writes come back as no-op syncs)."""
        if isinstance(obj, DNSRecordSet):
            self._enqueue(obj)

    def _update_record_set(self, old: ApiStruct, new: ApiStruct) -> None:
        """A changed record set is checked (someone else's edit is undone)."""
        if isinstance(new, DNSRecordSet) and (
            not isinstance(old, DNSRecordSet)
            or old.metadata.resource_version != new.metadata.resource_version
        ):
            self._enqueue(new)

    def _delete_record_set(self, deleted: Deleted) -> None:
        obj = deleted.obj
        if isinstance(obj, DNSRecordSet):
            self._written.pop(key_of(obj.metadata.namespace, obj.metadata.name), None)
            self._enqueue(obj)

    # -- sync ---------------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        """One sync (see the module doc)."""
        if self._wait_for_sync:
            for informer in self._informers:
                if not informer.has_synced:
                    await informer.wait_for_sync()
        key = key_of(req.namespace, req.name)
        service = self._services.get(req.namespace, req.name)
        if service is None:
            current = self._current(key, self._record_sets.get(req.namespace, req.name))
            self._written.pop(key, None)
            if current is not None:
                with contextlib.suppress(NotFound):
                    await self._client.delete("DNSRecordSet", req.name, namespace=req.namespace)
            return Result()
        records = build_records(service, self._endpoints.get(req.namespace, req.name), self._zone)
        current = self._current(key, self._record_sets.get(req.namespace, req.name))
        if current is not None and (current.zone, current.ttl, current.records) == (
            self._zone,
            self._ttl,
            records,
        ):
            return Result()
        try:
            if current is None:
                meta = ObjectMeta(name=req.name, namespace=req.namespace)
                wanted = DNSRecordSet(metadata=meta, zone=self._zone, ttl=self._ttl)
                written = await self._client.create(replace(wanted, records=records))
            else:
                wanted = replace(current, zone=self._zone, ttl=self._ttl, records=records)
                written = await self._client.update(wanted)
        except Exception:
            self._written.pop(key, None)  # retry from the cache alone
            raise
        self._written[key] = written
        return Result()

    def _current(self, key: str, cached: DNSRecordSet | None) -> DNSRecordSet | None:
        """The cached record set, or this controller's last write while the cache lags it."""
        mine = self._written.get(key)
        if mine is None:
            return cached
        if cached is None or revision_of(cached.metadata) < revision_of(mine.metadata):
            return mine
        del self._written[key]
        return cached
