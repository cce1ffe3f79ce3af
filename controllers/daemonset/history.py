"""ControllerRevisions of a DaemonSet: build, hash, find the current one, dedup, clean up.

Follows upstream `pkg/controller/daemon/update.go` (`constructHistory`, `snapshot`, `Match`,
`getPatch`, `dedupCurHistories`, `cleanupHistory`, `maxRevision`) and
`pkg/controller/history/controller_history.go` (`HashControllerRevision`).

A revision's `data` is the template as a replacing strategic merge patch,
`{"spec": {"template": {...the template..., "$patch": "replace"}}}`; its name is
`<ds>-<hash>` and it carries the template labels plus `controller-revision-hash: <hash>`. The
hash is FNV-1 (32-bit) over the data's JSON (keys sorted) followed by the decimal collision
count, the decimal of the sum spelled in `SafeEncodeString`'s alphabet: deterministic, not a
real cluster's digits (upstream hashes the template with `ComputeHash`). The hashing is copied
from `controllers/statefulset/history.py` (same scheme, kept separate so neither controller
depends on the other).

`construct_history`, worked example: revisions r1 (template A, revision 1), r2 (B, 2); the
DaemonSet goes back to A -> r1 matches, the others' highest number is 2 -> r1 is renumbered 3
and is the current revision (its hash labels the new pods). A new template C -> `<ds>-<hash>`
revision 4 is created; a name taken by other data bumps `status.collisionCount` and the sync
is retried (the next hash differs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from controllers.common.refmanager import controller_ref
from controllers.daemonset.util import HASH_LABEL
from cp.api.apps import ControllerRevision, DaemonSet, DaemonSetStatus
from cp.api.core_pod import Pod
from cp.api.errors import AlreadyExists, NotFound
from cp.api.meta import ObjectMeta
from cp.client import Client

__all__ = [
    "HashCollision",
    "cleanup_history",
    "construct_history",
    "hash_revision",
    "matches",
    "revision_data",
]

_SAFE_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193
_JSON: Final = msgspec.json.Encoder(order="sorted")
_MAX_PREFIX: Final = 223
#: `RevisionHistoryLimit` default.
DEFAULT_HISTORY_LIMIT: Final = 10


class HashCollision(Exception):
    """`snapshot` found its name taken by another revision: collisionCount was bumped."""


def revision_data(ds: DaemonSet) -> dict[str, Any]:
    """`getPatch`: the template as a replacing strategic merge patch (JSON builtins)."""
    template = msgspec.to_builtins(ds.spec.template)
    assert isinstance(template, dict)
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def hash_revision(data: Mapping[str, Any] | None, collision_count: int | None) -> str:
    """FNV-1 32 of the data's sorted JSON and the collision count, safe-encoded."""
    value = _FNV_OFFSET
    payload = _JSON.encode(data) if data else b""
    if collision_count is not None:
        payload += str(collision_count).encode()
    for byte in payload:
        value = ((value * _FNV_PRIME) & 0xFFFFFFFF) ^ byte
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(value))


def matches(data: Mapping[str, Any], revision: ControllerRevision) -> bool:
    """`Match`: the revision records this patch (compared as sorted JSON)."""
    return _JSON.encode(data) == _JSON.encode(revision.data or {})


def _collision_count(ds: DaemonSet) -> int:
    return (ds.status.collision_count if ds.status is not None else None) or 0


async def _snapshot(
    client: Client, ds: DaemonSet, data: dict[str, Any], number: int
) -> ControllerRevision:
    """`snapshot`: create `<ds>-<hash>`; an existing equal one is it; an existing other one
    bumps `status.collisionCount` and raises `HashCollision` (the sync is retried)."""
    count = _collision_count(ds)
    hash_ = hash_revision(data, count)
    name = f"{ds.metadata.name[:_MAX_PREFIX]}-{hash_}"
    revision = ControllerRevision(
        metadata=ObjectMeta(
            name=name,
            namespace=ds.metadata.namespace,
            labels={**ds.spec.template.metadata.labels, HASH_LABEL: hash_},
            annotations=dict(ds.metadata.annotations),
            owner_references=(controller_ref(ds),),
        ),
        data=data,
        revision=number,
    )
    try:
        return await client.create(revision)
    except AlreadyExists:
        existing = await client.get("ControllerRevision", name, ds.metadata.namespace)
        if isinstance(existing, ControllerRevision) and matches(data, existing):
            return existing
    live = await client.get("DaemonSet", ds.metadata.name, ds.metadata.namespace)
    if isinstance(live, DaemonSet):
        status = live.status or DaemonSetStatus(
            current_number_scheduled=0,
            number_misscheduled=0,
            desired_number_scheduled=0,
            number_ready=0,
        )
        bumped = replace(status, collision_count=_collision_count(live) + 1)
        await client.update_status(replace(live, status=bumped))
    raise HashCollision(f"hash collision for DaemonSet {ds.metadata.name}: {name} exists")


async def _dedup(
    client: Client, current: Sequence[ControllerRevision], pods: Iterable[Pod]
) -> ControllerRevision:
    """`dedupCurHistories`: keep the highest-numbered equal revision; the pods labelled with a
    duplicate's hash are relabelled with the kept one's, then the duplicate is deleted."""
    keep = current[0]
    for revision in current:
        if revision.revision >= keep.revision:
            keep = revision
    keep_hash = keep.metadata.labels.get(HASH_LABEL, "")
    pods = list(pods)
    for revision in current:
        if revision.metadata.name == keep.metadata.name:
            continue
        dup_hash = revision.metadata.labels.get(HASH_LABEL)
        for pod in pods:
            if dup_hash is not None and pod.metadata.labels.get(HASH_LABEL) == dup_hash:
                labels = {**pod.metadata.labels, HASH_LABEL: keep_hash}
                await client.update(replace(pod, metadata=replace(pod.metadata, labels=labels)))
        with contextlib.suppress(NotFound):
            await client.delete(
                "ControllerRevision", revision.metadata.name, revision.metadata.namespace
            )
    return keep


async def construct_history(
    client: Client, ds: DaemonSet, revisions: Sequence[ControllerRevision], pods: Iterable[Pod]
) -> tuple[ControllerRevision, list[ControllerRevision]]:
    """`constructHistory` over the revisions `ds` controls: (current, old). A revision without
    the hash label gets its name as the label; see the module doc for the rest."""
    data = revision_data(ds)
    current: list[ControllerRevision] = []
    old: list[ControllerRevision] = []
    for revision in revisions:
        if HASH_LABEL not in revision.metadata.labels:
            labels = {**revision.metadata.labels, HASH_LABEL: revision.metadata.name}
            revision = await client.update(
                replace(revision, metadata=replace(revision.metadata, labels=labels))
            )
        (current if matches(data, revision) else old).append(revision)
    number = max((r.revision for r in old), default=0) + 1
    if not current:
        return await _snapshot(client, ds, data, number), old
    cur = await _dedup(client, current, pods)
    if cur.revision < number:
        cur = await client.update(replace(cur, revision=number))
    return cur, old


async def cleanup_history(
    client: Client, ds: DaemonSet, old: Sequence[ControllerRevision], pods: Iterable[Pod]
) -> None:
    """`cleanupHistory`: delete the lowest-numbered old revisions no pod is labelled with until
    at most `revisionHistoryLimit` (default 10) old ones remain."""
    limit = ds.spec.revision_history_limit
    to_kill = len(old) - (DEFAULT_HISTORY_LIMIT if limit is None else limit)
    if to_kill <= 0:
        return
    live = {h for pod in pods if (h := pod.metadata.labels.get(HASH_LABEL))}
    for revision in sorted(old, key=lambda r: (r.revision, r.metadata.name)):
        if to_kill <= 0:
            break
        if revision.metadata.labels.get(HASH_LABEL) in live:
            continue
        with contextlib.suppress(NotFound):
            await client.delete(
                "ControllerRevision", revision.metadata.name, revision.metadata.namespace
            )
        to_kill -= 1
