"""`FakeClient`: an in-memory `Client` that records every call, for controller unit tests.

As client-go's fake clientset (STYLE 13): preload objects, run one reconcile, compare the ordered
writes. The fake keeps the apiserver's observable rules so controllers meet the same errors:

- resourceVersions come from one counter (preloading takes them too); a non-empty
  metadata.resourceVersion on update makes it a compare-and-swap (Conflict when stale);
- admission on create, update and patch through the server's own `cp.api.admission.admit`
  (defaults, validation, and on update the kinds' update rules); a field error is an Invalid
  and nothing is written (no revision, no event). The failed call is still recorded in
  `actions`, as client-go's fake records an action whose reactor returns an error. The object
  comes back (and is stored) defaulted. update_status is not validated (as the server);
- create: the server's name rules (name or generateName, a generated name is
  the base plus a counter), namespace "default" for namespaced kinds, uid `fake-uid-N`,
  creationTimestamp from `clock_now`, generation 1; AlreadyExists for a taken name;
- update keeps uid, creationTimestamp, deletion fields and status from the stored object and
  bumps generation when the spec changes; update_status takes only the status;
- delete: the server's propagation policies (Background, Foreground, Orphan; anything else is
  the server's BadRequest). Orphan adds the `orphan` finalizer, Foreground `foregroundDeletion`,
  Background removes both; an object left with finalizers gets deletionTimestamp (kept when
  already set), deletionGracePeriodSeconds 0 and generation + 1 (the first time) and stays,
  otherwise it is removed. Removing the last finalizer of an object being deleted (update or
  patch) deletes it. Nothing here acts on the finalizers (that is the garbage collector's job);
- patch applies exactly as `InProcessClient.patch` (`cp.client.protocol.apply_patch`);
- bind is the server's (`cp.api.admission.bind_pod`: one write, its preconditions and errors).

`actions` is every call in order as `Action(verb, kind, namespace, name, obj)`; `writes()` drops
get, list and watch. `obj` is the object sent (create, update, update_status), the patch body
(patch), the node name (bind), or None. Actions also carry the `actor` and `cause` current at
the call, which do not take part in equality (compare them explicitly when a test is about
causality).
Listing as of a past revision (`at`) is NotSupported.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeVar

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from msgspec.structs import replace

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
from cp.api.core_pod import Pod
from cp.api.defaults import apply_defaults
from cp.api.errors import (
    AlreadyExists,
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
from cp.api.times import rfc3339
from cp.client.causality import current_actor, current_cause
from cp.client.protocol import (
    ListResult,
    PatchBody,
    PatchType,
    WatchStream,
    apply_patch,
    parse_patch_body,
)

if TYPE_CHECKING:
    from cp.client.protocol import Client

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "PROPAGATION_POLICIES",
    "READ_VERBS",
    "Action",
    "FakeClient",
    "FakeWatch",
    "FakeWatchEvent",
]

_T = TypeVar("_T", bound=ApiStruct)

#: Verbs `FakeClient.writes()` leaves out.
READ_VERBS = frozenset({"get", "list", "watch"})

#: The server's names for the garbage collector's finalizers (cp.api.admission).
FINALIZER_ORPHAN: Final = ORPHAN_FINALIZER
FINALIZER_FOREGROUND: Final = FOREGROUND_FINALIZER

_Key = tuple[str, str, str]  # (kind, namespace, name)
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Action:
    """One call to a `FakeClient`; `namespace` is the resolved one ("" for cluster-scoped kinds
    and for lists and watches of all namespaces), `name` is "" for list and watch."""

    verb: str
    kind: str
    namespace: str
    name: str
    obj: object = None
    actor: str = field(default="user", compare=False)
    cause: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class FakeWatchEvent:
    """A watch event of the fake (the shape of `cp.apiserver.WatchEvent`)."""

    type: Literal["ADDED", "MODIFIED", "DELETED"]
    object: ApiStruct


def _meta(obj: ApiStruct) -> ObjectMeta:
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        raise BadRequest(f"{type(obj).__name__} has no metadata")
    return meta


def _with_rv(obj: _T, revision: int) -> _T:
    return replace(obj, metadata=replace(_meta(obj), resource_version=str(revision)))


def _required_name(info: KindInfo) -> Invalid:
    error = FieldError(
        FieldErrorType.REQUIRED, "metadata.name", detail="name or generateName is required"
    )
    return Invalid.of(info.kind, info.group, "", [error])


class FakeWatch:
    """`async with client.watch(...) as events: async for event in events` over the fake."""

    __slots__ = ("_after", "_client", "_kind", "_namespace", "_receive", "_send")

    def __init__(self, client: FakeClient, kind: str, namespace: str, after: int) -> None:
        self._client = client
        self._kind = kind
        self._namespace = namespace
        self._after = after
        self._send: MemoryObjectSendStream[FakeWatchEvent] | None = None
        self._receive: MemoryObjectReceiveStream[FakeWatchEvent] | None = None

    def matches(self, kind: str, namespace: str) -> bool:
        return kind == self._kind and (not self._namespace or namespace == self._namespace)

    def deliver(self, event: FakeWatchEvent) -> None:
        if self._send is not None:
            self._send.send_nowait(event)

    async def __aenter__(self) -> Self:
        self._send, self._receive = anyio.create_memory_object_stream[FakeWatchEvent](math.inf)
        self._client._subscribe(self, self._after)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client._unsubscribe(self)
        if self._send is not None:
            self._send.close()
        if self._receive is not None:
            self._receive.close()

    def __aiter__(self) -> AsyncIterator[FakeWatchEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[FakeWatchEvent]:
        if self._receive is None:
            raise RuntimeError("use the watch as `async with client.watch(...) as events`")
        async for event in self._receive:
            yield event


class FakeClient:
    """In-memory `Client` recording its calls; see the module doc.

    client = FakeClient(deployment, replica_set)
    await reconcile(client, key)
    assert client.writes() == [Action("create", "ReplicaSet", "default", "web-1", rs)]
    """

    def __init__(self, *objects: ApiStruct, clock_now: Callable[[], float] | None = None) -> None:
        self._clock_now = clock_now if clock_now is not None else (lambda: 0.0)
        self._objects: dict[_Key, ApiStruct] = {}
        self._revision = 0
        self._uids = 0
        self._history: list[tuple[int, str, str, FakeWatchEvent]] = []
        self._watches: list[FakeWatch] = []
        self._by_cls: dict[type[ApiStruct], KindInfo] = {info.cls: info for info in KINDS}
        self.actions: list[Action] = []
        for obj in objects:
            self.add(obj)

    # -- helpers for tests ------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The last resourceVersion handed out."""
        return self._revision

    def add(self, obj: ApiStruct) -> ApiStruct:
        """Preload `obj` as is (namespace defaulted, next resourceVersion); no action recorded.
        Replaces an object of the same key."""
        info = self._info_of(obj)
        meta = _meta(obj)
        namespace = self._namespace(info, meta.namespace)
        stored = self._next(replace(obj, metadata=replace(meta, namespace=namespace)))
        self._objects[(info.kind, namespace, meta.name)] = stored
        return stored

    def objects(self) -> tuple[ApiStruct, ...]:
        """Every stored object, ordered by kind, namespace and name."""
        return tuple(self._objects[key] for key in sorted(self._objects))

    def writes(self) -> list[Action]:
        """The actions that are not reads (get, list, watch), in order."""
        return [a for a in self.actions if a.verb not in READ_VERBS]

    def clear_actions(self) -> None:
        self.actions.clear()

    # -- internals --------------------------------------------------------------------------

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
        return (namespace or "default") if info.namespaced else ""

    def _record(self, verb: str, info: KindInfo, namespace: str, name: str, obj: object) -> None:
        action = Action(verb, info.kind, namespace, name, obj, current_actor(), current_cause())
        self.actions.append(action)

    def _next(self, obj: _T) -> _T:
        self._revision += 1
        return _with_rv(obj, self._revision)

    def _emit(
        self,
        info: KindInfo,
        namespace: str,
        kind: Literal["ADDED", "MODIFIED", "DELETED"],
        obj: ApiStruct,
    ) -> None:
        event = FakeWatchEvent(kind, obj)
        self._history.append((self._revision, info.kind, namespace, event))
        for watch in self._watches:
            if watch.matches(info.kind, namespace):
                watch.deliver(event)

    def _subscribe(self, watch: FakeWatch, after: int) -> None:
        if after:
            for revision, kind, namespace, event in self._history:
                if revision > after and watch.matches(kind, namespace):
                    watch.deliver(event)
        self._watches.append(watch)

    def _unsubscribe(self, watch: FakeWatch) -> None:
        if watch in self._watches:
            self._watches.remove(watch)

    def _current(self, info: KindInfo, namespace: str, name: str) -> ApiStruct:
        obj = self._objects.get((info.kind, namespace, name))
        if obj is None:
            raise NotFound.of(info.plural, info.group, name)
        return obj

    # -- Client -----------------------------------------------------------------------------

    async def get(self, kind: str, name: str, namespace: str | None = None) -> ApiStruct:
        info = self._info(kind)
        ns = self._namespace(info, namespace)
        self._record("get", info, ns, name, None)
        return self._current(info, ns, name)

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        at: int | None = None,
    ) -> ListResult:
        info = self._info(kind)
        ns = (namespace or "") if info.namespaced else ""
        self._record("list", info, ns, "", None)
        if at is not None:
            raise NotSupported("the fake client does not list past revisions")
        try:
            labels = Selector.parse(label_selector or "")
            fields = FieldSelector.parse(field_selector or "")
        except SelectorError as exc:
            raise BadRequest(str(exc)) from None
        items = []
        for (kind_name, obj_ns, _), obj in sorted(self._objects.items()):
            if kind_name != info.kind or (ns and obj_ns != ns):
                continue
            meta = _meta(obj)
            if labels.matches(meta.labels) and fields.matches_meta(
                name=meta.name, namespace=meta.namespace
            ):
                items.append(obj)
        return ListResult(tuple(items), str(self._revision))

    async def create(self, obj: _T) -> _T:
        info = self._info_of(obj)
        meta = _meta(obj)
        ns = self._namespace(info, meta.namespace)
        self._record("create", info, ns, meta.name, obj)
        if meta.resource_version:
            raise BadRequest("resourceVersion should not be set on objects to be created")
        if not meta.name and not meta.generate_name:
            raise _required_name(info)
        if not info.namespaced and meta.namespace:
            error = FieldError(
                FieldErrorType.FORBIDDEN, "metadata.namespace", detail="not allowed on this type"
            )
            raise Invalid.of(info.kind, info.group, meta.name, [error])
        self._uids += 1
        name = meta.name or f"{meta.generate_name}{self._uids:05d}"
        new = replace(
            obj,
            metadata=replace(
                meta,
                name=name,
                namespace=ns,
                uid=meta.uid or f"fake-uid-{self._uids}",
                creation_timestamp=rfc3339(self._clock_now()),
                generation=1,
                deletion_timestamp=None,
                deletion_grace_period_seconds=None,
            ),
        )
        new = admit(info, new)  # as the server: Invalid before AlreadyExists
        if (info.kind, ns, name) in self._objects:
            raise AlreadyExists.of(info.plural, info.group, name)
        stored = self._next(new)
        self._objects[(info.kind, ns, name)] = stored
        self._emit(info, ns, "ADDED", stored)
        return stored

    async def update(self, obj: _T) -> _T:
        return self._update("update", obj)

    async def update_status(self, obj: _T) -> _T:
        return self._update("update_status", obj)

    def _update(self, verb: str, obj: _T) -> _T:
        info = self._info_of(obj)
        meta = _meta(obj)
        ns = self._namespace(info, meta.namespace)
        self._record(verb, info, ns, meta.name, obj)
        if verb == "update_status" and "status" not in info.cls.__struct_fields__:
            raise NotSupported(f"{type(obj).__name__} has no status subresource")
        if not meta.name:
            raise _required_name(info)
        return self._store_update(info, ns, obj, status=verb == "update_status")

    def _store_update(self, info: KindInfo, ns: str, obj: _T, *, status: bool) -> _T:
        meta = _meta(obj)
        current = self._current(info, ns, meta.name)
        old = _meta(current)
        if meta.resource_version and meta.resource_version != old.resource_version:
            raise Conflict.of(info.plural, info.group, meta.name)
        fields = info.cls.__struct_fields__
        merged: Any
        if status:
            merged = replace(current, status=getattr(obj, "status", None))
        else:
            obj = apply_defaults(obj)
            generation = old.generation
            if "spec" in fields and _ENCODER.encode(getattr(obj, "spec", None)) != _ENCODER.encode(
                getattr(current, "spec", None)
            ):
                generation += 1
            changes: dict[str, Any] = {
                "metadata": replace(
                    meta,
                    namespace=old.namespace,
                    uid=old.uid,
                    creation_timestamp=old.creation_timestamp,
                    generation=generation,
                    deletion_timestamp=old.deletion_timestamp,
                    deletion_grace_period_seconds=old.deletion_grace_period_seconds,
                    resource_version=old.resource_version,
                )
            }
            if "status" in fields:
                changes["status"] = getattr(current, "status", None)
            merged = admit(info, replace(obj, **changes), current)
        key = (info.kind, ns, meta.name)
        if deletes_on_update(old, _meta(merged)):
            del self._objects[key]
            gone = self._next(merged)
            self._emit(info, ns, "DELETED", gone)
            result: _T = gone
            return result
        if _ENCODER.encode(merged) == _ENCODER.encode(current):
            same: _T = merged
            return same
        stored = self._next(merged)
        self._objects[key] = stored
        self._emit(info, ns, "MODIFIED", stored)
        updated: _T = stored
        return updated

    async def patch(
        self,
        kind: str,
        name: str,
        body: PatchBody,
        patch_type: PatchType = "strategic",
        namespace: str | None = None,
    ) -> ApiStruct:
        info = self._info(kind)
        ns = self._namespace(info, namespace)
        self._record("patch", info, ns, name, body)
        parsed = parse_patch_body(body, patch_type)
        current = self._current(info, ns, name)
        patched, _ = apply_patch(info, current, parsed, patch_type)
        return self._store_update(info, ns, patched, status=False)

    async def bind(
        self,
        name: str,
        node_name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Pod:
        info = self._info("Pod")
        ns = self._namespace(info, namespace)
        self._record("bind", info, ns, name, node_name)
        current = self._current(info, ns, name)
        assert isinstance(current, Pod)
        bound = bind_pod(
            current,
            node_name,
            now=self._clock_now(),
            uid=uid,
            resource_version=resource_version,
            annotations=annotations,
        )
        stored = self._next(bound)
        self._objects[(info.kind, ns, name)] = stored
        self._emit(info, ns, "MODIFIED", stored)
        return stored

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
        *,
        grace_period_seconds: int | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> ApiStruct:
        info = self._info(kind)
        ns = self._namespace(info, namespace)
        self._record("delete", info, ns, name, None)
        current = self._current(info, ns, name)
        check_delete_options(info, current, propagation, uid)
        if resource_version is not None and resource_version != _meta(current).resource_version:
            why = (
                f"the ResourceVersion in the precondition ({resource_version}) does not match "
                f"the ResourceVersion in record ({_meta(current).resource_version}). The object "
                "might have been modified"
            )
            raise Conflict.of(info.plural, info.group, name, why)
        plan = plan_delete(
            current,
            propagation=propagation,
            grace_period_seconds=grace_period_seconds,
            now=self._clock_now(),
        )
        key = (info.kind, ns, name)
        obj = current
        if plan.marked is not None:
            unchanged = replace(current, metadata=replace(_meta(current), resource_version=""))
            if _ENCODER.encode(plan.marked) != _ENCODER.encode(unchanged):
                obj = self._next(plan.marked)
                self._objects[key] = obj
                self._emit(info, ns, "MODIFIED", obj)
        if not plan.remove:
            return obj
        del self._objects[key]
        gone = self._next(obj)
        self._emit(info, ns, "DELETED", gone)
        return gone

    def watch(
        self, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> WatchStream:
        info = self._info(kind)
        ns = (namespace or "") if info.namespaced else ""
        self._record("watch", info, ns, "", None)
        text = resource_version or ""
        if text and not text.isdigit():
            raise BadRequest(f'invalid resource version "{text}"')
        return FakeWatch(self, info.kind, ns, int(text or 0))


if TYPE_CHECKING:

    def _conforms() -> Client:
        return FakeClient()
