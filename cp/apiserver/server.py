"""`ApiServer`: kube-apiserver's storage semantics over the event log.

The only module family that imports `store`; store errors become API errors in
`cp.apiserver.keys.store_errors`, once. Objects are stored as `cp.api.codec` JSON without
`metadata.resourceVersion`; every read fills it in from the key's mod_revision.

Semantics, as upstream's generic registry (`k8s.io/apiserver/pkg/registry/generic/registry`):

- admission (create and update): `cp.api.defaults.apply_defaults`, then `cp.api.validation.validate`
  and, on update, the kind's update rules (`_update_errors`, after the ``Validate*Update``
  functions and the registry strategies' ``ValidateUpdate``); any field error is an `Invalid`
  (422) and nothing is written. The object comes back (and is stored) defaulted.
- create: name or generateName required (generated names retry on a collision); namespace
  defaults to "default" for namespaced kinds and is refused on cluster-scoped ones; uid,
  creationTimestamp and generation 1 are set; status is stored as given.
- update: compare-and-swap on metadata.resourceVersion (empty: unconditional); uid,
  creationTimestamp, generation and deletion fields are the server's; name and namespace name
  the object (they cannot change: another name is another object); generation grows by one
  when `spec` changes; status is kept from the stored object. An update that changes nothing
  writes nothing. Removing the last finalizer of an object being deleted deletes it; no
  finalizer may be added to it.
- update_status: only `status` is taken from the request (not validated: no status rules).
- bind: the pods' Binding subresource, one compare-and-swap of the pod that sets
  `spec.nodeName`, the binding's annotations and `PodScheduled` True
  (`cp.api.admission.bind_pod`); its errors are upstream's.
- delete: the propagation policy sets the garbage collector's finalizers as the registry's
  ``deletionFinalizersForGarbageCollection`` does: Orphan adds `orphan`, Foreground adds
  `foregroundDeletion`, Background (the default) removes both. An object left with finalizers
  gets deletionTimestamp (kept when already set) and deletionGracePeriodSeconds 0 and stays;
  otherwise the key is deleted and the last state is returned with the resourceVersion of the
  delete. The garbage collector (not this layer) acts on the finalizers. Not modelled: graceful
  deletion (pods), the namespace lifecycle, DeleteOptions.orphanDependents.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import msgspec
from msgspec.structs import force_setattr, replace

import store
from cp.api.admission import (
    FOREGROUND_FINALIZER,
    ORPHAN_FINALIZER,
    PROPAGATION_POLICIES,
    admit,
    bind_pod,
    check_delete_options,
    deletes_on_update,
    plan_delete,
)
from cp.api.codec import CODEC, ManifestError
from cp.api.core_pod import Pod
from cp.api.defaults import apply_defaults
from cp.api.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    FieldErrorType,
    Invalid,
    NotFound,
    NotSupported,
)
from cp.api.errors_values import SelectorError
from cp.api.fields import FieldSelector
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.selectors import Selector
from cp.apiserver.clusterip import ClusterIPAllocator
from cp.apiserver.keys import generate_name, key_of, prefix_of, rfc3339, store_errors
from cp.apiserver.watch import ApiWatch, parse_resource_version

__all__ = ["FOREGROUND_FINALIZER", "ORPHAN_FINALIZER", "PROPAGATION_POLICIES", "ApiServer"]

_T = TypeVar("_T", bound=ApiStruct)

#: Attempts at a generated name before the AlreadyExists is returned.
_GENERATE_ATTEMPTS: Final = 8
#: Attempts of an unconditional update or delete that keeps losing compare-and-swap races.
_RETRIES: Final = 16
_SPEC_ENCODER: Final = msgspec.json.Encoder()


def _meta(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise BadRequest(f"{type(obj).__name__} has no metadata")
    return meta


def _with_rv(obj: _T, revision: int | str) -> _T:
    meta = _meta(obj)
    return replace(obj, metadata=replace(meta, resource_version=str(revision) if revision else ""))


def _has(cls: type[ApiStruct], field: str) -> bool:
    return field in cls.__struct_fields__


def _spec_bytes(obj: ApiStruct) -> bytes:
    return _SPEC_ENCODER.encode(getattr(obj, "spec", None))


def _invalid(info: KindInfo, name: str, error: FieldError) -> Invalid:
    return Invalid.of(info.kind, info.group, name, [error])


def _required_name(info: KindInfo) -> Invalid:
    detail = "name or generateName is required"
    return _invalid(info, "", FieldError(FieldErrorType.REQUIRED, "metadata.name", detail=detail))


class ApiServer:
    """create/get/list/update/update_status/delete/watch of typed objects over an event log.

    `clock_now()` gives seconds since the Unix epoch (virtual or real), `ids()` a fresh unique
    id (uids, and the seed of generated names): both injected so runs are reproducible.
    """

    __slots__ = ("_by_cls", "_clock_now", "_ids", "_ips", "_ips_rebuilt", "_log")

    def __init__(
        self, log: store.EventLog, *, clock_now: Callable[[], float], ids: Callable[[], str]
    ) -> None:
        self._log = log
        self._clock_now = clock_now
        self._ids = ids
        self._by_cls: dict[type[ApiStruct], KindInfo] = {info.cls: info for info in KINDS}
        self._ips = ClusterIPAllocator()
        self._ips_rebuilt = False

    async def _cluster_ips(self) -> ClusterIPAllocator:
        """The ClusterIP allocator, rebuilt from the stored Services on first use."""
        if not self._ips_rebuilt:
            items, _ = await self.list("Service")
            if not self._ips_rebuilt:  # a concurrent first call may have rebuilt meanwhile
                self._ips.rebuild_from(items)
                self._ips_rebuilt = True
        return self._ips

    @property
    def log(self) -> store.EventLog:
        return self._log

    # -- kinds, namespaces, decoding ----------------------------------------------------------

    def _info(self, kind: str) -> KindInfo:
        info = KINDS.lookup(kind)
        if info is None:
            raise NotFound(f'the server doesn\'t have a resource type "{kind}"')
        return info

    def _info_of(self, obj: ApiStruct) -> KindInfo:
        info = self._by_cls.get(type(obj))
        if info is None:
            raise BadRequest(f"{type(obj).__name__} is not a kind this server serves")
        return info

    @staticmethod
    def _namespace(info: KindInfo, namespace: str | None) -> str:
        if not info.namespaced:
            return ""
        return namespace or "default"

    @staticmethod
    def _decode(info: KindInfo, value: bytes, revision: int) -> ApiStruct:
        try:
            obj = CODEC.decode(info.cls, value)
        except ManifestError as exc:
            raise ApiError(f"stored {info.kind} does not decode: {exc}") from None
        # The object was just decoded and nobody else holds it: set its resourceVersion in
        # place instead of copying the object and its metadata (a hot path of every watch).
        force_setattr(_meta(obj), "resource_version", str(revision) if revision else "")
        return obj

    async def _current(self, info: KindInfo, key: str, name: str) -> tuple[ApiStruct, int]:
        with store_errors(info, name):
            kv = await self._log.get(key)
        if kv is None:
            raise NotFound.of(info.plural, info.group, name)
        return self._decode(info, kv.value, kv.mod_revision), kv.mod_revision

    # -- create -------------------------------------------------------------------------------

    def _prepare_create(self, info: KindInfo, meta: ObjectMeta) -> tuple[ObjectMeta, float]:
        if meta.resource_version:
            raise BadRequest("resourceVersion should not be set on objects to be created")
        if not meta.name and not meta.generate_name:
            raise _required_name(info)
        if not info.namespaced and meta.namespace:
            error = FieldError(
                FieldErrorType.FORBIDDEN, "metadata.namespace", detail="not allowed on this type"
            )
            raise _invalid(info, meta.name, error)
        now = self._clock_now()
        prepared = replace(
            meta,
            namespace=self._namespace(info, meta.namespace),
            uid=self._ids(),
            creation_timestamp=rfc3339(now),
            generation=1,
            deletion_timestamp=None,
            deletion_grace_period_seconds=None,
        )
        return prepared, now

    async def create(self, obj: _T, *, actor: str = "user", cause: int = 0) -> _T:
        """Store a new object; returns it as stored (uid, creationTimestamp, resourceVersion)."""
        info = self._info_of(obj)
        meta, now = self._prepare_create(info, _meta(obj))
        attempts = 1 if meta.name else _GENERATE_ATTEMPTS
        for attempt in range(attempts):
            name = meta.name or generate_name(meta.generate_name, f"{meta.uid}/{attempt}")
            new = admit(info, replace(obj, metadata=replace(meta, name=name)))
            ips = await self._cluster_ips() if info.kind == "Service" else None
            if ips is not None:
                new = ips.on_create(new)
            key = key_of(info, meta.namespace, name)
            try:
                with store_errors(info, name):
                    revision = await self._log.create(
                        key, CODEC.encode(new), actor=actor, cause=cause, time=now
                    )
            except BaseException as exc:
                if ips is not None:
                    ips.on_removed(new)  # the write failed: give the address back
                if not isinstance(exc, AlreadyExists) or attempt + 1 == attempts:
                    raise
                continue
            return _with_rv(new, revision)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reads --------------------------------------------------------------------------------

    async def get(
        self, kind: str, name: str, namespace: str | None = None, *, at: int | None = None
    ) -> ApiStruct:
        """The object, as of revision `at` (the head when None)."""
        info = self._info(kind)
        key = key_of(info, self._namespace(info, namespace), name)
        with store_errors(info, name):
            kv = await self._log.get(key, at=at)
        if kv is None:
            raise NotFound.of(info.plural, info.group, name)
        return self._decode(info, kv.value, kv.mod_revision)

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        at: int | None = None,
    ) -> tuple[tuple[ApiStruct, ...], int]:
        """(objects in key order, the revision read at); namespace None or "" lists them all."""
        info = self._info(kind)
        try:
            labels = Selector.parse(label_selector or "")
            fields = FieldSelector.parse(field_selector or "")
        except SelectorError as exc:
            raise BadRequest(str(exc)) from None
        with store_errors(info):
            result = await self._log.range(prefix_of(info, namespace), at=at)
        items: builtins.list[ApiStruct] = []
        for kv in result.items:
            obj = self._decode(info, kv.value, kv.mod_revision)
            meta = _meta(obj)
            if labels.matches(meta.labels) and fields.matches_meta(
                name=meta.name, namespace=meta.namespace
            ):
                items.append(obj)
        return tuple(items), result.revision

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> ApiWatch:
        """Events after `resource_version`; None, "" or "0" start at the head (no initial list:
        list first and watch from the list's revision). See `ApiWatch`."""
        info = self._info(kind)
        after = parse_resource_version(resource_version)

        def decode(value: bytes, revision: int) -> ApiStruct:
            return self._decode(info, value, revision)

        return ApiWatch(self._log, info, prefix_of(info, namespace), after, decode)

    # -- updates ------------------------------------------------------------------------------

    async def update(self, obj: _T, *, actor: str = "user", cause: int = 0) -> _T:
        """Replace the object (not its status); see the module doc."""
        return await self._update(obj, actor, cause, status=False)

    async def update_status(self, obj: _T, *, actor: str = "user", cause: int = 0) -> _T:
        """Replace the object's status only; NotFound when the object is missing."""
        if not _has(type(obj), "status"):
            raise NotSupported(f"{type(obj).__name__} has no status subresource")
        return await self._update(obj, actor, cause, status=True)

    async def bind(
        self,
        name: str,
        node_name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        annotations: Mapping[str, str] | None = None,
        actor: str = "user",
        cause: int = 0,
    ) -> Pod:
        """Bind the pod to `node_name` in one write (the Binding subresource, upstream
        `BindingREST.Create`); returns the pod as stored. `uid` and `resource_version` are
        preconditions. NotFound when the pod is missing; the other errors are
        `cp.api.admission.bind_pod`'s. A write lost to a concurrent one is retried on the new
        state (`GuaranteedUpdate`), which then meets the preconditions and checks again."""
        info = self._info("Pod")
        key = key_of(info, self._namespace(info, namespace), name)
        for _ in range(_RETRIES):
            current, revision = await self._current(info, key, name)
            if not isinstance(current, Pod):  # pragma: no cover - the key holds pods
                raise BadRequest(f"{type(current).__name__} is not a Pod")
            bound = bind_pod(
                current,
                node_name,
                now=self._clock_now(),
                uid=uid,
                resource_version=resource_version,
                annotations=annotations,
            )
            try:
                return await self._put(info, key, bound, current, revision, actor, cause)
            except Conflict:
                continue
        raise Conflict.of(info.plural, info.group, name)

    async def _update(self, obj: _T, actor: str, cause: int, *, status: bool) -> _T:
        info = self._info_of(obj)
        meta = _meta(obj)
        if not meta.name:
            raise _required_name(info)
        expected = _parse_precondition(info, meta)
        key = key_of(info, self._namespace(info, meta.namespace), meta.name)
        for _ in range(_RETRIES):
            current, revision = await self._current(info, key, meta.name)
            if expected is not None and expected != revision:
                raise Conflict.of(info.plural, info.group, meta.name)
            if status:
                merged = _merge_status(obj, current)
            else:
                merged = admit(info, _merge_spec(info, apply_defaults(obj), current), current)
            ips = await self._cluster_ips() if info.kind == "Service" and not status else None
            if ips is not None:
                merged = ips.on_update(current, merged)
            try:
                stored = await self._put(info, key, merged, current, revision, actor, cause)
            except BaseException as exc:
                if ips is not None:
                    ips.on_written(current)  # the write failed: what is stored stands
                if isinstance(exc, Conflict) and expected is None:
                    continue
                raise
            if ips is not None:
                if deletes_on_update(_meta(current), _meta(merged)):  # _put removed it
                    ips.on_removed(current)
                    ips.on_removed(stored)
                else:
                    ips.on_written(stored)
            return stored
        raise Conflict.of(info.plural, info.group, meta.name)

    async def _put(
        self,
        info: KindInfo,
        key: str,
        new: _T,
        current: ApiStruct,
        revision: int,
        actor: str,
        cause: int,
    ) -> _T:
        meta = _meta(new)
        now = self._clock_now()
        with store_errors(info, meta.name):
            if deletes_on_update(_meta(current), meta):
                deleted = await self._log.delete(
                    key, expected=revision, actor=actor, cause=cause, time=now
                )
                return _with_rv(new, deleted)
            data = CODEC.encode(new)
            if data == CODEC.encode(_with_rv(current, "")):
                return _with_rv(new, revision)
            written = await self._log.update(
                key, data, expected=revision, actor=actor, cause=cause, time=now
            )
        return _with_rv(new, written)

    # -- delete -------------------------------------------------------------------------------

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        actor: str = "user",
        cause: int = 0,
        precondition_rv: int | str | None = None,
        precondition_uid: str | None = None,
        propagation: str = "Background",
        grace_period_seconds: int | None = None,
    ) -> ApiStruct:
        """Delete the object, or mark it (deletionTimestamp) while it has finalizers or a grace
        period (pods); see `cp.api.admission.plan_delete` and the module doc."""
        info = self._info(kind)
        key = key_of(info, self._namespace(info, namespace), name)
        expected = None if precondition_rv is None else _precondition(precondition_rv)
        for _ in range(_RETRIES):
            current, revision = await self._current(info, key, name)
            check_delete_options(info, current, propagation, precondition_uid)
            if expected is not None and expected != revision:
                why = (
                    f"the ResourceVersion in the precondition ({expected}) does not match the "
                    f"ResourceVersion in record ({revision}). The object might have been modified"
                )
                raise Conflict.of(info.plural, info.group, name, why)
            try:
                return await self._delete_once(
                    info, key, current, revision, propagation, grace_period_seconds, actor, cause
                )
            except Conflict:
                if expected is not None:
                    raise
        raise Conflict.of(info.plural, info.group, name)

    async def _delete_once(
        self,
        info: KindInfo,
        key: str,
        current: ApiStruct,
        revision: int,
        propagation: str,
        grace_period_seconds: int | None,
        actor: str,
        cause: int,
    ) -> ApiStruct:
        now = self._clock_now()
        plan = plan_delete(
            current, propagation=propagation, grace_period_seconds=grace_period_seconds, now=now
        )
        obj, written = current, revision
        with store_errors(info, _meta(current).name):
            if plan.marked is not None:
                data = CODEC.encode(plan.marked)
                obj = plan.marked
                if data != CODEC.encode(_with_rv(current, "")):
                    written = await self._log.update(
                        key, data, expected=revision, actor=actor, cause=cause, time=now
                    )
            if not plan.remove:
                return _with_rv(obj, written)
            deleted = await self._log.delete(
                key, expected=written, actor=actor, cause=cause, time=now
            )
        if info.kind == "Service":
            (await self._cluster_ips()).on_removed(current)
        return _with_rv(obj, deleted)


def _precondition(value: int | str) -> int:
    """A delete precondition's resourceVersion ("0" never matches: a conflict, as upstream)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadRequest(f'invalid resource version "{value}"')


def _parse_precondition(info: KindInfo, meta: ObjectMeta) -> int | None:
    text = meta.resource_version
    if not text:
        return None
    if not text.isdigit() or int(text) == 0:
        error = FieldError(
            FieldErrorType.INVALID,
            "metadata.resourceVersion",
            text,
            "must be a positive integer (a store revision)",
        )
        raise _invalid(info, meta.name, error)
    return int(text)


def _merge_spec(info: KindInfo, obj: _T, current: ApiStruct) -> _T:
    """The update's object with the server-owned metadata (and the status) of `current`."""
    old = _meta(current)
    generation = old.generation
    if _has(info.cls, "spec") and _spec_bytes(obj) != _spec_bytes(current):
        generation += 1
    meta = replace(
        _meta(obj),
        namespace=old.namespace,
        uid=old.uid,
        creation_timestamp=old.creation_timestamp,
        generation=generation,
        deletion_timestamp=old.deletion_timestamp,
        deletion_grace_period_seconds=old.deletion_grace_period_seconds,
        resource_version="",
    )
    changes: dict[str, Any] = {"metadata": meta}
    if _has(info.cls, "status"):
        changes["status"] = getattr(current, "status", None)
    return replace(obj, **changes)


def _merge_status(obj: _T, current: ApiStruct) -> _T:
    """`current` (spec, metadata) with the status of `obj`."""
    merged = replace(
        current,
        metadata=replace(_meta(current), resource_version=""),
        status=getattr(obj, "status", None),
    )
    if not isinstance(merged, type(obj)):  # pragma: no cover - same kind by construction
        raise BadRequest("kind mismatch")
    return merged
