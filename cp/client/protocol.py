"""The `Client` seam: what controllers, the kubelet simulator and the embedding API write with.

Contract 2 of DESIGN.md (`plane.client`). Implementations: `cp.client.inprocess.InProcessClient`
(over an `ApiServer`) and `cp.client.fake.FakeClient` (in memory, for controller unit tests).
Neither this module nor the fake imports `cp.apiserver` or `store`, so controllers can depend
on them without reaching the store.

`kind` is the Kind name (`"Deployment"`; kubectl's other names are accepted by the in-process
client); objects are the frozen msgspec Structs of `cp.api`. Errors are `cp.api.errors.ApiError`s
(NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Expired, NotSupported).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

import msgspec

from cp.api.codec import CODEC, ManifestError
from cp.api.core_pod import Pod
from cp.api.errors import BadRequest, NotSupported
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct
from cp.api.patch import json_patch, merge_patch
from cp.api.patch_strategic import strategic_merge_patch

__all__ = [
    "PATCH_TYPES",
    "Client",
    "ListResult",
    "PatchBody",
    "PatchType",
    "WatchEventLike",
    "WatchStream",
    "apply_patch",
    "parse_patch_body",
]

_T = TypeVar("_T", bound=ApiStruct)

PatchType = Literal["strategic", "merge", "json"]
#: The patch types `Client.patch` accepts (kubectl's `--type`).
PATCH_TYPES: tuple[PatchType, ...] = ("strategic", "merge", "json")

#: A patch body: JSON text (str or bytes) or the already parsed JSON (a mapping for strategic
#: and merge patches, a sequence of operations for a JSON patch).
PatchBody = str | bytes | Mapping[str, object] | Sequence[object]


class WatchEventLike(Protocol):
    """One watch event: `type` is ADDED, MODIFIED or DELETED; the object's resourceVersion is
    the revision of the event. `cp.apiserver.WatchEvent` and `FakeWatchEvent` are both this."""

    @property
    def type(self) -> Literal["ADDED", "MODIFIED", "DELETED"]: ...

    @property
    def object(self) -> ApiStruct: ...


#: What `Client.watch` returns: `async with client.watch(...) as events: async for e in events`.
WatchStream = AbstractAsyncContextManager[AsyncIterable[WatchEventLike]]


@dataclass(frozen=True, slots=True)
class ListResult:
    """What `Client.list` returns (the ObjectList of contract 2, minus apiVersion and kind).

    `items` are the matching objects in key order (namespace, then name); `resource_version` is
    the revision the list was read at, as a string: start a watch there to miss nothing.
    Iterating or taking `len()` of the result works on `items`.
    """

    items: tuple[ApiStruct, ...]
    resource_version: str

    def __iter__(self) -> Iterator[ApiStruct]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Client(Protocol):
    """Typed CRUD, patch and watch of API objects (contract 2).

    Every write is attributed to the `actor` and `cause` of `cp.client.causality` current in the
    calling context (see `acting_as`).
    """

    async def get(self, kind: str, name: str, namespace: str | None = None) -> ApiStruct:
        """The object; NotFound if missing. Namespace None is "default" for namespaced kinds."""
        ...

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        at: int | None = None,
    ) -> ListResult:
        """Objects of `kind` (all namespaces when `namespace` is None or ""), as of revision `at`
        (the head when None), filtered by label and field selectors (kubectl syntax)."""
        ...

    async def create(self, obj: _T) -> _T:
        """Store a new object; returns it as stored. AlreadyExists if the name is taken."""
        ...

    async def update(self, obj: _T) -> _T:
        """Replace the object (not its status); compare-and-swap on a non-empty
        metadata.resourceVersion (Conflict when stale)."""
        ...

    async def update_status(self, obj: _T) -> _T:
        """Replace the object's status only (the status subresource)."""
        ...

    async def patch(
        self,
        kind: str,
        name: str,
        body: PatchBody,
        patch_type: PatchType = "strategic",
        namespace: str | None = None,
    ) -> ApiStruct:
        """Apply a strategic merge, JSON merge (RFC 7386) or JSON (RFC 6902) patch to the
        current object and store it; returns the stored object. Not a compare-and-swap unless
        the patch sets metadata.resourceVersion. NotFound if missing; BadRequest for a patch that
        does not apply or yields unknown fields."""
        ...

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
        """Bind the pod `name` to `node_name` (the pods/binding subresource, as the scheduler's
        `DefaultBinder`): one write setting `spec.nodeName`, merging `annotations` into the pod's
        and setting its `PodScheduled` condition True; returns the pod as stored. `uid` and
        `resource_version` are preconditions (Conflict when the stored pod differs). NotFound
        when missing; Conflict when the pod is already bound (`pod web is already assigned to
        node "node-1"`) or being deleted. See `cp.api.admission.bind_pod`."""
        ...

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
        """Delete the object (or mark it with deletionTimestamp while it has finalizers, or a
        grace period: a pod bound to a node stays until deleted with `grace_period_seconds=0`);
        returns its last state. `uid` / `resource_version` are preconditions (Conflict when the
        stored object differs)."""
        ...

    def watch(
        self, kind: str, namespace: str | None = None, resource_version: str | None = None
    ) -> WatchStream:
        """Events of `kind` after `resource_version` (None, "" or "0": from now on)."""
        ...


# -- patch semantics shared by the implementations ------------------------------------------


def parse_patch_body(body: PatchBody, patch_type: str) -> object:
    """The patch as JSON builtins; BadRequest for bad JSON or the wrong shape for the type."""
    if patch_type not in PATCH_TYPES:
        raise NotSupported(f'patch type "{patch_type}" is not supported (strategic|merge|json)')
    parsed: object
    if isinstance(body, str | bytes):
        try:
            parsed = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise BadRequest(f"invalid JSON in the {patch_type} patch: {exc}") from None
    else:
        try:  # a JSON round trip: tuples become lists, as the patch functions need
            parsed = msgspec.json.decode(msgspec.json.encode(body))
        except (TypeError, msgspec.EncodeError) as exc:
            raise BadRequest(f"the {patch_type} patch is not JSON: {exc}") from None
    if patch_type == "json":
        if not isinstance(parsed, list):
            raise BadRequest("a JSON patch must be a list of operations")
    elif not isinstance(parsed, dict):
        raise BadRequest(f"a {patch_type} merge patch must be a JSON object")
    return parsed


def _sets_resource_version(parsed: object) -> bool:
    if isinstance(parsed, dict):
        meta = parsed.get("metadata")
        return isinstance(meta, dict) and meta.get("resourceVersion") not in (None, "")
    if isinstance(parsed, list):
        return any(
            isinstance(op, dict)
            and isinstance(op.get("path"), str)
            and str(op["path"]).startswith("/metadata/resourceVersion")
            for op in parsed
        )
    return False  # pragma: no cover - parse_patch_body allows nothing else


def apply_patch(
    info: KindInfo, current: ApiStruct, parsed: object, patch_type: str
) -> tuple[ApiStruct, bool]:
    """(`current` with the parsed patch applied, whether the patch sets a resourceVersion).

    The patch applies to the JSON of `current` (as builtins, lists not tuples) with
    `strategic_merge_patch`, `merge_patch` or `json_patch`, and the result decodes strictly:
    an unknown field or a wrong type is a BadRequest naming the field path (as the apiserver's
    strict field validation). Changing apiVersion, kind, name or namespace is a BadRequest.
    A patch that sets metadata.resourceVersion makes the write a compare-and-swap on it
    (True); otherwise the result carries the resourceVersion of `current` (False).
    """
    # Kubernetes' JSON as builtins with lists (`msgspec.to_builtins` would keep tuples, which
    # the patch functions take for scalars).
    doc = msgspec.json.decode(CODEC.encode(current))
    if patch_type == "strategic":
        result = strategic_merge_patch(doc, parsed, info.kind)
    elif patch_type == "merge":
        result = merge_patch(doc, parsed)
    else:
        assert isinstance(parsed, list)
        result = json_patch(doc, parsed)
    old_meta = doc["metadata"]
    name = old_meta.get("name", "")
    if not isinstance(result, dict):
        raise BadRequest(f'the patched {info.kind} "{name}" is not a JSON object')
    for field in ("apiVersion", "kind"):
        if result.get(field) != doc.get(field):
            raise BadRequest(f'a patch may not change the {field} of {info.kind} "{name}"')
    meta = result.get("metadata")
    if not isinstance(meta, dict):
        raise BadRequest(f'the patched {info.kind} "{name}" has no metadata object')
    for field in ("name", "namespace"):
        if meta.get(field, "") != old_meta.get(field, ""):
            raise BadRequest(
                f"the {field} of the object ({meta.get(field, '')}) does not match the {field} "
                f"on the URL ({old_meta.get(field, '')})"
            )
    explicit = _sets_resource_version(parsed)
    if not explicit or not meta.get("resourceVersion"):
        meta["resourceVersion"] = old_meta.get("resourceVersion", "")
        explicit = False
    try:
        patched = CODEC.decode(info.cls, msgspec.json.encode(result))
    except ManifestError as exc:
        where = str(exc).removeprefix("<bytes>: ").removeprefix(f"{info.cls.__name__}: ")
        raise BadRequest(f'strict decoding error: {info.kind} "{name}": {where}') from None
    return patched, explicit
