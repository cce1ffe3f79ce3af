"""ControllerRefManager: adopt matching orphans, release owned objects that stopped matching.

Follows upstream `pkg/controller/controller_ref_manager.go` (`BaseControllerRefManager.
ClaimObject`, `PodControllerRefManager`, `ReplicaSetControllerRefManager`,
`RecheckDeletionTimestamp`). Kind-agnostic: the ReplicaSet controller claims Pods, the
Deployment controller claims ReplicaSets.

    manager = ControllerRefManager(
        client, rs, Selector.from_label_selector(rs.spec.selector),
        can_adopt=recheck_deletion_timestamp(client, "ReplicaSet", rs.metadata),
    )
    pods = await manager.claim("Pod", candidates)    # the objects `rs` controls after the claim

For each candidate (`ClaimObject`):

- controlled by another owner: ignored;
- controlled by the owner: kept while it matches the selector; otherwise released (unless the
  owner is being deleted) with a JSON patch that tests the object's uid and the reference's
  uid at its index, then removes it; NotFound is ignored;
- an orphan that matches, in the owner's namespace, neither being deleted: adopted, after
  `can_adopt()` (called at most once per manager: upstream re-reads the owner uncached and
  refuses if it is gone or being deleted), with a JSON patch that tests the object's uid and
  resourceVersion and adds the controllerRef (`controller: true, blockOwnerDeletion: true`).
  NotFound is ignored (not claimed); the patched object is returned among the claimed.

Errors: every other write error is collected; after all candidates are processed the first
one is raised (upstream returns the aggregate), so the caller retries with backoff.
`AdoptionRefused` is what `recheck_deletion_timestamp` raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import msgspec

from cp.api.errors import NotFound
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.api.selectors import Selector
from cp.client import Client
from cp.informer import Lister, meta_of

__all__ = [
    "AdoptionRefused",
    "ControllerRefManager",
    "controller_ref",
    "controller_ref_of",
    "recheck_deletion_timestamp",
    "resolve_controller_ref",
]

T = TypeVar("T", bound=ApiStruct)

CanAdopt = Callable[[], Awaitable[None]]


class AdoptionRefused(Exception):
    """The owner may not adopt: it is gone, re-created under another uid, or being deleted."""


def controller_ref(owner: ApiStruct) -> OwnerReference:
    """The controllerRef to `owner` (its apiVersion, kind, name and uid), as upstream's
    `metav1.NewControllerRef`: `controller: true, blockOwnerDeletion: true`."""
    meta = meta_of(owner)
    return OwnerReference(
        api_version=str(getattr(owner, "api_version", "")),
        kind=str(getattr(owner, "kind", type(owner).__name__)),
        name=meta.name,
        uid=meta.uid,
        controller=True,
        block_owner_deletion=True,
    )


def resolve_controller_ref(
    owners: Lister[T], kind: str, namespace: str, ref: OwnerReference
) -> T | None:
    """Upstream's `resolveControllerRef` (each workload controller has one): the cached owner
    of `kind` a controllerRef names, only if it still has the ref's uid (a same-named
    replacement is not the owner)."""
    if ref.kind != kind:
        return None
    owner = owners.get(namespace, ref.name)
    return owner if owner is not None and meta_of(owner).uid == ref.uid else None


def controller_ref_of(meta: ObjectMeta) -> OwnerReference | None:
    """The ownerReference with `controller: true`, if any (`metav1.GetControllerOf`)."""
    refs = meta.owner_references
    if len(refs) == 1:  # the common case, without a loop
        ref = refs[0]
        return ref if ref.controller else None
    for ref in refs:
        if ref.controller:
            return ref
    return None


def recheck_deletion_timestamp(client: Client, kind: str, owner: ObjectMeta) -> CanAdopt:
    """A `can_adopt` that re-reads the owner live and raises `AdoptionRefused` when it has
    another uid or a deletionTimestamp (upstream `RecheckDeletionTimestamp`)."""

    async def check() -> None:
        live = meta_of(await client.get(kind, owner.name, owner.namespace))
        where = f"{kind} {owner.namespace}/{owner.name}"
        if live.uid != owner.uid:
            raise AdoptionRefused(
                f"original {where} is gone: got uid {live.uid}, wanted {owner.uid}"
            )
        if live.deletion_timestamp is not None:
            raise AdoptionRefused(f"{where} has just been deleted at {live.deletion_timestamp}")

    return check


class ControllerRefManager:
    """Claims objects for one owner and selector (one instance per sync)."""

    __slots__ = ("_adopt_checked", "_can_adopt", "_client", "_owner", "_ref", "_selector")

    def __init__(
        self,
        client: Client,
        owner: ApiStruct,
        selector: Selector,
        *,
        can_adopt: CanAdopt | None = None,
    ) -> None:
        self._client = client
        self._owner = meta_of(owner)
        self._ref = controller_ref(owner)
        self._selector = selector
        self._can_adopt = can_adopt
        self._adopt_checked = False

    @property
    def ref(self) -> OwnerReference:
        """The controllerRef adopted objects get."""
        return self._ref

    async def claim(self, kind: str, candidates: Iterable[T]) -> list[T]:
        """The candidates the owner controls after adopting and releasing (see module doc),
        in the candidates' order. Raises the first write error after trying them all."""
        claimed: list[T] = []
        errors: list[Exception] = []
        owner_uid = self._owner.uid
        owner_deleting = self._owner.deletion_timestamp is not None
        matches = self._selector.matches
        for obj in candidates:
            meta = meta_of(obj)
            ref = controller_ref_of(meta)
            try:
                if ref is not None:
                    if ref.uid != owner_uid:
                        continue
                    if matches(meta.labels):
                        claimed.append(obj)
                    elif not owner_deleting:
                        await self._release(kind, meta)
                    continue
                if owner_deleting or meta.deletion_timestamp is not None:
                    continue
                if meta.namespace != self._owner.namespace and self._owner.namespace:
                    continue
                if not matches(meta.labels):
                    continue
                adopted = await self._adopt(kind, obj, meta)
            except Exception as err:  # collected, the first re-raised below
                errors.append(err)
                continue
            if adopted is not None:
                claimed.append(adopted)
        if errors:
            raise errors[0]
        return claimed

    async def _adopt(self, kind: str, obj: T, meta: ObjectMeta) -> T | None:
        """Patch in the controllerRef; None when the object is gone."""
        if not self._adopt_checked and self._can_adopt is not None:
            await self._can_adopt()
        self._adopt_checked = True
        ref = msgspec.to_builtins(self._ref)
        ops: list[object] = [
            {"op": "test", "path": "/metadata/uid", "value": meta.uid},
            {"op": "test", "path": "/metadata/resourceVersion", "value": meta.resource_version},
        ]
        same = [i for i, r in enumerate(meta.owner_references) if r.uid == self._ref.uid]
        if same:  # a non-controller reference to the owner becomes the controllerRef
            path = f"/metadata/ownerReferences/{same[0]}"
            ops.append({"op": "replace", "path": path, "value": ref})
        elif meta.owner_references:
            ops.append({"op": "add", "path": "/metadata/ownerReferences/-", "value": ref})
        else:
            ops.append({"op": "add", "path": "/metadata/ownerReferences", "value": [ref]})
        try:
            patched = await self._client.patch(kind, meta.name, ops, "json", meta.namespace)
        except NotFound:
            return None
        return patched if isinstance(patched, type(obj)) else obj

    async def _release(self, kind: str, meta: ObjectMeta) -> None:
        """Remove every reference to the owner (tests the uids first); NotFound is ignored."""
        ops: list[object] = [{"op": "test", "path": "/metadata/uid", "value": meta.uid}]
        for index in reversed(range(len(meta.owner_references))):
            if meta.owner_references[index].uid == self._ref.uid:
                path = f"/metadata/ownerReferences/{index}"
                ops.append({"op": "test", "path": f"{path}/uid", "value": self._ref.uid})
                ops.append({"op": "remove", "path": path})
        try:
            await self._client.patch(kind, meta.name, ops, "json", meta.namespace)
        except NotFound:
            return
