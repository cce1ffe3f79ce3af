"""Small helpers shared by the controllers: ownerReference lookups on `ObjectMeta`.

refs_to(meta, uid)            # the ownerReferences of `meta` that point at `uid`
without_owner(meta, uids)     # its ownerReferences minus those pointing at `uids`
is_deleting(meta)             # deletionTimestamp is set
revision_of(meta)             # metadata.resourceVersion as the store revision (0 when unset)

Submodules (imported from where they live, so this package stays import-light):
`pods` (readiness, availability, activity, the scale-down ranking), `refmanager`
(ControllerRefManager: adopt / release), `expectations` (ControllerExpectations,
UIDTrackingExpectations), `times` (RFC 3339 <-> seconds).
"""

from __future__ import annotations

from collections.abc import Collection

from cp.api.meta import ObjectMeta, OwnerReference

__all__ = [
    "FINALIZER_FOREGROUND",
    "FINALIZER_ORPHAN",
    "blocks_owner",
    "is_deleting",
    "refs_to",
    "revision_of",
    "without_owner",
]

#: The finalizer a Foreground delete puts on the owner (`metav1.FinalizerDeleteDependents`).
FINALIZER_FOREGROUND = "foregroundDeletion"
#: The finalizer an Orphan delete puts on the owner (`metav1.FinalizerOrphanDependents`).
FINALIZER_ORPHAN = "orphan"


def is_deleting(meta: ObjectMeta) -> bool:
    """The object has a deletionTimestamp (it stays while it has finalizers)."""
    return meta.deletion_timestamp is not None


def revision_of(meta: ObjectMeta) -> int:
    """The object's resourceVersion as a store revision (0 when unset): the `cause` handlers
    enqueue with."""
    text = meta.resource_version
    return int(text) if text.isdigit() else 0


def refs_to(meta: ObjectMeta, uid: str) -> tuple[OwnerReference, ...]:
    """The ownerReferences of `meta` whose uid is `uid`."""
    return tuple(ref for ref in meta.owner_references if ref.uid == uid)


def blocks_owner(meta: ObjectMeta, uid: str) -> bool:
    """`meta` has an ownerReference to `uid` with `blockOwnerDeletion: true`."""
    return any(ref.block_owner_deletion for ref in refs_to(meta, uid))


def without_owner(meta: ObjectMeta, uids: Collection[str]) -> tuple[OwnerReference, ...]:
    """The ownerReferences of `meta` except those pointing at any of `uids`."""
    return tuple(ref for ref in meta.owner_references if ref.uid not in uids)
