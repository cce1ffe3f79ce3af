"""The garbage collector (`pkg/controller/garbagecollector`), level-based.

    gc = GarbageCollector(client, informers, GC_KINDS, clock=clock, activity=activity, ids=ids)
    manager.add(gc.controller)           # actor "controller/garbage-collector"

Upstream keeps an owner->dependents graph keyed by uid; here the graph is the informers' owner
index (`Indexer.by_owner(uid)`) of every watched kind, and one reconcile looks at one object:

- not being deleted, with ownerReferences (`attemptToDeleteItem`): re-read it live (skip it if
  gone or re-created under another uid), classify each owner as solid (exists, same uid),
  dangling (absent, or another uid under that name; an owner missing from the cache is
  confirmed with a live GET, as upstream's `isDangling`) or waiting (being deleted with the
  `foregroundDeletion` finalizer). With a solid owner it stays, and references to dangling or
  waiting owners are removed from it. Without one it is deleted: in foreground (the finalizer
  `foregroundDeletion`, then the delete) when an owner is waiting and it has dependents of its
  own, so the wait cascades; Background otherwise (Orphan if it carries the `orphan` finalizer).
- being deleted with `foregroundDeletion` (`processDeletingDependentsItem`): each dependent not
  yet being deleted goes through the step above; once no dependent with
  `blockOwnerDeletion: true` is left in the cache, the finalizer is removed (the apiserver then
  deletes the owner once it has no finalizers).
- being deleted with `orphan` (`orphanDependents`): the owner's reference is removed from every
  dependent, then the `orphan` finalizer.

The apiserver of cpemu knows no Foreground policy, so a foreground delete is what the apiserver
would do for one: add the `foregroundDeletion` finalizer, then delete (Background).

Keys: one controller, one `WorkQueue[Request]`; the kind rides in the name, so
`Request(namespace, "ReplicaSet/web-1")` (logged as `default/ReplicaSet/web-1`). Object names
never contain "/" so `gc_request` / `parse_gc_request` are exact inverses.

Enqueued: an object of a watched kind on add, and on update when its ownerReferences,
deletionTimestamp or finalizers change (if it has owners or a GC finalizer); on delete, every
dependent of its uid (they may be dangling now); after any change of a dependent, its owners that
are being deleted (they wait on it). Writes are JSON patches guarded by `test` operations, so a
concurrent change fails the patch (retried with backoff) instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Final

from controllers.common import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    blocks_owner,
    is_deleting,
    revision_of,
    without_owner,
)
from cp.api.errors import NotFound
from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.client import Client
from cp.informer import Deleted, Handlers, SharedInformer, SharedInformerFactory, meta_of
from cp.runtime import Activity, Clock, Controller, Request, Result, SeededIds, TerminalError
from cp.workqueue import WorkQueue

__all__ = ["GC_KINDS", "GC_NAME", "GarbageCollector", "gc_request", "parse_gc_request"]

#: The controller's name: its writes are recorded as `controller/garbage-collector`.
GC_NAME: Final = "garbage-collector"

#: The kinds the collector watches by default (owners and dependents of the workloads).
GC_KINDS: Final = (
    "Deployment",
    "ReplicaSet",
    "Pod",
    "StatefulSet",
    "ControllerRevision",
    "PersistentVolumeClaim",
    "DaemonSet",
    "Service",
    "Endpoints",
)

_GC_FINALIZERS: Final = frozenset({FINALIZER_FOREGROUND, FINALIZER_ORPHAN})


def gc_request(kind: str, namespace: str, name: str) -> Request:
    """The work-queue key of one object: `Request(namespace, "Kind/name")`."""
    return Request(namespace, f"{kind}/{name}")


def parse_gc_request(req: Request) -> tuple[str, str, str]:
    """(kind, namespace, name) of a `gc_request` key; `TerminalError` for any other key."""
    kind, sep, name = req.name.partition("/")
    if not sep or not kind or not name:
        raise TerminalError(f"not a garbage-collector key (Kind/name): {req}")
    return kind, req.namespace, name


class GarbageCollector:
    """The `Reconciler` of the garbage collector, its handlers and its `Controller`."""

    def __init__(
        self,
        client: Client,
        informers: SharedInformerFactory,
        kinds: Sequence[str] = GC_KINDS,
        *,
        clock: Clock,
        activity: Activity,
        ids: SeededIds,
        workers: int = 1,
    ) -> None:
        self._client = client
        queue: WorkQueue[Request] = WorkQueue(clock=clock, activity=activity, name=GC_NAME)
        self._controller = Controller(GC_NAME, self, queue, clock=clock, ids=ids, workers=workers)
        self._informers: dict[str, SharedInformer] = {}
        for kind in kinds:
            info = KINDS.lookup(kind)
            if info is None:
                raise ValueError(f"the garbage collector cannot watch unknown kind {kind!r}")
            self._informers[info.kind] = informers.informer_for(info.kind)
        for kind, informer in self._informers.items():
            informer.add_handler(self._handlers(kind))

    @property
    def controller(self) -> Controller:
        """The controller to add to a `Manager`."""
        return self._controller

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._informers)

    # -- event handlers -----------------------------------------------------------------------

    def _handlers(self, kind: str) -> Handlers:
        def on_add(obj: ApiStruct) -> None:
            meta = meta_of(obj)
            if meta.owner_references or self._gc_finalizing(meta):
                self._enqueue(kind, meta)

        def on_update(old: ApiStruct, new: ApiStruct) -> None:
            before, after = meta_of(old), meta_of(new)
            changed = (
                before.owner_references != after.owner_references
                or before.deletion_timestamp != after.deletion_timestamp
                or before.finalizers != after.finalizers
            )
            if changed and (after.owner_references or self._gc_finalizing(after)):
                self._enqueue(kind, after)
            if changed:
                refs = (*before.owner_references, *after.owner_references)
                self._enqueue_deleting_owners(refs, after)

        def on_delete(deleted: Deleted) -> None:
            meta = meta_of(deleted.obj)
            for dep_kind, dependent in self._dependents(meta.uid):
                self._enqueue(dep_kind, meta_of(dependent), cause=revision_of(meta))
            self._enqueue_deleting_owners(meta.owner_references, meta)

        return Handlers(on_add=on_add, on_update=on_update, on_delete=on_delete)

    @staticmethod
    def _gc_finalizing(meta: ObjectMeta) -> bool:
        return is_deleting(meta) and not _GC_FINALIZERS.isdisjoint(meta.finalizers)

    def _enqueue(self, kind: str, meta: ObjectMeta, cause: int | None = None) -> None:
        req = gc_request(kind, meta.namespace, meta.name)
        self._controller.enqueue(req, cause=revision_of(meta) if cause is None else cause)

    def _enqueue_deleting_owners(self, refs: Iterable[OwnerReference], dep: ObjectMeta) -> None:
        for ref in refs:
            owner = self._cached_owner(ref, dep.namespace)
            if owner is not None and is_deleting(meta_of(owner)):
                self._enqueue(ref.kind, meta_of(owner), cause=revision_of(dep))

    # -- lookups ------------------------------------------------------------------------------

    def _owner_namespace(self, ref: OwnerReference, namespace: str) -> str | None:
        """The namespace of the owner `ref` names, or None when its kind is unknown."""
        info = KINDS.for_api_version(ref.api_version, ref.kind)
        if info is None:
            return None
        return namespace if info.namespaced else ""

    def _cached_owner(self, ref: OwnerReference, namespace: str) -> ApiStruct | None:
        ns = self._owner_namespace(ref, namespace)
        informer = self._informers.get(ref.kind)
        if ns is None or informer is None:
            return None
        owner = informer.indexer.get(ns, ref.name)
        if owner is None or meta_of(owner).uid != ref.uid:
            return None
        return owner

    def _dependents(self, uid: str) -> list[tuple[str, ApiStruct]]:
        """Every cached object with an ownerReference to `uid`, by watched kind then key."""
        return [
            (kind, dependent)
            for kind, informer in self._informers.items()
            for dependent in informer.indexer.by_owner(uid)
        ]

    def _has_dependents(self, uid: str) -> bool:
        return any(informer.indexer.by_owner(uid) for informer in self._informers.values())

    def _a_dependent_waits(self, uid: str) -> bool:
        """A dependent of `uid` is itself being deleted in foreground (`isDeletingDependents`)."""
        for _, dependent in self._dependents(uid):
            meta = meta_of(dependent)
            if is_deleting(meta) and FINALIZER_FOREGROUND in meta.finalizers:
                return True
        return False

    async def _live_owner(self, ref: OwnerReference, namespace: str) -> ApiStruct | None:
        """The owner `ref` names if it exists with its uid (cache first, then a live GET)."""
        cached = self._cached_owner(ref, namespace)
        if cached is not None:
            return cached
        ns = self._owner_namespace(ref, namespace)
        if ns is None:
            raise TerminalError(f"ownerReference to unknown kind {ref.api_version}/{ref.kind}")
        try:
            live = await self._client.get(ref.kind, ref.name, ns)
        except NotFound:
            return None
        return live if meta_of(live).uid == ref.uid else None

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, req: Request) -> Result:
        kind, namespace, name = parse_gc_request(req)
        informer = self._informers.get(kind)
        if informer is None:
            raise TerminalError(f"the garbage collector does not watch {kind}")
        obj = informer.indexer.get(namespace, name)
        if obj is None:
            return Result()
        meta = meta_of(obj)
        if is_deleting(meta):
            if FINALIZER_ORPHAN in meta.finalizers:
                await self._orphan_dependents(kind, meta)
            elif FINALIZER_FOREGROUND in meta.finalizers:
                await self._process_deleting_dependents(kind, meta)
            return Result()
        if meta.owner_references:
            await self._attempt_to_delete(kind, meta)
        return Result()

    async def _attempt_to_delete(self, kind: str, cached: ObjectMeta) -> None:
        """Delete the object if none of its owners is solid (upstream `attemptToDeleteItem`)."""
        try:
            latest = meta_of(await self._client.get(kind, cached.name, cached.namespace))
        except NotFound:
            return
        if latest.uid != cached.uid or is_deleting(latest) or not latest.owner_references:
            return
        solid: list[OwnerReference] = []
        gone: set[str] = set()  # dangling owners and owners waiting for their dependents
        waiting = False
        for ref in latest.owner_references:
            owner = await self._live_owner(ref, latest.namespace)
            if owner is None:
                gone.add(ref.uid)
                continue
            owner_meta = meta_of(owner)
            if is_deleting(owner_meta) and FINALIZER_FOREGROUND in owner_meta.finalizers:
                gone.add(ref.uid)
                waiting = True
            else:
                solid.append(ref)
        if solid:
            if gone:
                await self._remove_owner_refs(kind, latest, gone)
            return
        if waiting and self._has_dependents(latest.uid):
            if self._a_dependent_waits(latest.uid):
                # Upstream's cycle guard: an owner and a dependent of this object both wait for
                # their dependents, so unblock this object's owners before it waits too.
                await self._unblock_owner_refs(kind, latest)
            await self._delete_foreground(kind, latest)
            return
        propagation = "Orphan" if FINALIZER_ORPHAN in latest.finalizers else "Background"
        await self._delete(kind, latest, propagation)

    async def _process_deleting_dependents(self, kind: str, owner: ObjectMeta) -> None:
        """Foreground: delete the dependents; drop the finalizer once none blocks."""
        dependents = self._dependents(owner.uid)
        if not any(blocks_owner(meta_of(dep), owner.uid) for _, dep in dependents):
            await self._remove_finalizer(kind, owner, FINALIZER_FOREGROUND)
            return
        for dep_kind, dependent in dependents:
            dep_meta = meta_of(dependent)
            if not is_deleting(dep_meta):
                await self._attempt_to_delete(dep_kind, dep_meta)

    async def _orphan_dependents(self, kind: str, owner: ObjectMeta) -> None:
        """Orphan: remove the owner from every dependent, then the `orphan` finalizer."""
        for dep_kind, dependent in self._dependents(owner.uid):
            await self._remove_owner_refs(dep_kind, meta_of(dependent), {owner.uid})
        await self._remove_finalizer(kind, owner, FINALIZER_ORPHAN)

    # -- writes -------------------------------------------------------------------------------

    async def _delete(self, kind: str, meta: ObjectMeta, propagation: str) -> None:
        try:
            await self._client.delete(
                kind, meta.name, meta.namespace, propagation=propagation, uid=meta.uid
            )
        except NotFound:
            return

    async def _delete_foreground(self, kind: str, meta: ObjectMeta) -> None:
        """Delete with Foreground propagation, after adding `foregroundDeletion` with a patch that
        tests the uid (so a re-created object of the same name is never marked)."""
        if FINALIZER_FOREGROUND not in meta.finalizers:
            ops: list[object] = [
                {"op": "test", "path": "/metadata/uid", "value": meta.uid},
                {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER_FOREGROUND}
                if meta.finalizers
                else {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER_FOREGROUND]},
            ]
            if not await self._patch(kind, meta, ops):
                return
        await self._delete(kind, meta, "Foreground")

    async def _remove_owner_refs(self, kind: str, meta: ObjectMeta, uids: Collection[str]) -> None:
        """Remove the ownerReferences to `uids` (a JSON patch testing each removed uid)."""
        kept = without_owner(meta, uids)
        if len(kept) == len(meta.owner_references):
            return
        ops: list[object] = []
        for index in reversed(range(len(meta.owner_references))):
            ref = meta.owner_references[index]
            if ref.uid in uids:
                path = f"/metadata/ownerReferences/{index}"
                ops.append({"op": "test", "path": f"{path}/uid", "value": ref.uid})
                ops.append({"op": "remove", "path": path})
        await self._patch(kind, meta, ops)

    async def _unblock_owner_refs(self, kind: str, meta: ObjectMeta) -> None:
        """Set `blockOwnerDeletion: false` on every ownerReference that blocks (upstream
        `unblockOwnerReferencesStrategicMergePatch`), testing each reference's uid."""
        ops: list[object] = []
        for index, ref in enumerate(meta.owner_references):
            if ref.block_owner_deletion:
                path = f"/metadata/ownerReferences/{index}"
                ops.append({"op": "test", "path": f"{path}/uid", "value": ref.uid})
                ops.append({"op": "replace", "path": f"{path}/blockOwnerDeletion", "value": False})
        if ops:
            await self._patch(kind, meta, ops)

    async def _remove_finalizer(self, kind: str, meta: ObjectMeta, finalizer: str) -> None:
        """Remove `finalizer` (a JSON patch testing it is where it was read)."""
        if finalizer not in meta.finalizers:
            return
        path = f"/metadata/finalizers/{meta.finalizers.index(finalizer)}"
        ops: list[object] = [
            {"op": "test", "path": path, "value": finalizer},
            {"op": "remove", "path": path},
        ]
        await self._patch(kind, meta, ops)

    async def _patch(self, kind: str, meta: ObjectMeta, ops: list[object]) -> bool:
        """Apply `ops`; False when the object is gone."""
        try:
            await self._client.patch(kind, meta.name, ops, "json", meta.namespace)
        except NotFound:
            return False
        return True
