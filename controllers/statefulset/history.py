"""ControllerRevisions of a StatefulSet: build, hash, choose current/update, truncate.

Follows upstream `pkg/controller/history/controller_history.go` (`NewControllerRevision`,
`HashControllerRevision`, `ControllerRevisionName`, `SortControllerRevisions`,
`EqualRevision`, `FindEqualRevisions`, `CreateControllerRevision`,
`UpdateControllerRevision`) and `pkg/controller/statefulset/stateful_set_control.go`
(`getStatefulSetRevisions`, `truncateHistory`) / `stateful_set_utils.go` (`getPatch`,
`newRevision`, `ApplyRevision`, `nextRevision`).

A revision's `data` is the set's template as a strategic merge patch that replaces it:
`{"spec": {"template": {...the template..., "$patch": "replace"}}}`. Its name is
`<set>-<hash>`, the hash being FNV-1 (32-bit, as Go's `fnv.New32`) over the data's JSON (keys
sorted here; upstream hashes the bytes it encoded) followed by the decimal collision count, the
decimal of the sum passed through `SafeEncodeString`'s alphabet. Deterministic, but not the
same digits as a real cluster's.

Choosing the update revision (`getStatefulSetRevisions`), worked example: revisions r1 (template
A), r2 (template B); the set's template is A again -> no revision is the newest with data A,
r1 is equal -> r1's number is bumped to 3 (a rollback renumbers, as a Deployment's). The set
back to B -> r2 (number 2) is the newest equal one -> bumped to 4. A new template C -> a new
revision number 5 is created; a name taken by a different revision bumps `collisionCount` and
tries the next name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from controllers.common.refmanager import controller_ref
from controllers.statefulset.identity import pod_revision
from cp.api.apps import ControllerRevision, StatefulSet
from cp.api.core_pod import Pod, PodTemplateSpec
from cp.api.errors import AlreadyExists, NotFound
from cp.api.meta import ObjectMeta
from cp.client import Client

__all__ = [
    "HASH_LABEL",
    "apply_revision",
    "choose_revisions",
    "equal_revision",
    "hash_revision",
    "new_revision",
    "next_revision",
    "revision_data",
    "sort_revisions",
    "truncate_history",
]

#: `ControllerRevisionHashLabel`.
HASH_LABEL: Final = "controller.kubernetes.io/hash"
_SAFE_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193
_JSON: Final = msgspec.json.Encoder(order="sorted")
#: `ControllerRevisionName`: prefixes longer than this are truncated.
_MAX_PREFIX: Final = 223


def revision_data(sts: StatefulSet) -> dict[str, Any]:
    """`getPatch`: the set's template as a replacing strategic merge patch (JSON builtins)."""
    template = msgspec.to_builtins(sts.spec.template)
    assert isinstance(template, dict)
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def _safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in text)


def hash_revision(data: Mapping[str, Any] | None, collision_count: int | None) -> str:
    """`HashControllerRevision` (see the module doc)."""
    value = _FNV_OFFSET
    payload = _JSON.encode(data) if data else b""
    if collision_count is not None:
        payload += str(collision_count).encode()
    for byte in payload:
        value = ((value * _FNV_PRIME) & 0xFFFFFFFF) ^ byte
    return _safe_encode(str(value))


def _revision_name(prefix: str, hash_: str) -> str:
    return f"{prefix[:_MAX_PREFIX]}-{hash_}"


def new_revision(sts: StatefulSet, number: int, collision_count: int | None) -> ControllerRevision:
    """`newRevision` / `NewControllerRevision`: labels = template labels + the hash label,
    annotations = the set's, the set's controllerRef, `revision` = `number`."""
    data = revision_data(sts)
    hash_ = hash_revision(data, collision_count)
    labels = {**sts.spec.template.metadata.labels, HASH_LABEL: hash_}
    meta = ObjectMeta(
        name=_revision_name(sts.metadata.name, hash_),
        namespace=sts.metadata.namespace,
        labels=labels,
        annotations=dict(sts.metadata.annotations),
        owner_references=(controller_ref(sts),),
    )
    return ControllerRevision(metadata=meta, data=data, revision=number)


def apply_revision(sts: StatefulSet, revision: ControllerRevision) -> StatefulSet:
    """`ApplyRevision`: the set with the template the revision recorded."""
    data = revision.data or {}
    spec = data.get("spec") if isinstance(data, Mapping) else None
    raw = spec.get("template") if isinstance(spec, Mapping) else None
    if not isinstance(raw, Mapping):
        return sts
    template = msgspec.convert(
        {k: v for k, v in raw.items() if k != "$patch"}, PodTemplateSpec, from_attributes=False
    )
    return replace(sts, spec=replace(sts.spec, template=template))


def sort_revisions(revisions: Iterable[ControllerRevision]) -> list[ControllerRevision]:
    """`SortControllerRevisions`: by revision number, then creation time, then name."""
    return sorted(
        revisions,
        key=lambda r: (r.revision, r.metadata.creation_timestamp or "", r.metadata.name),
    )


def next_revision(revisions: Sequence[ControllerRevision]) -> int:
    """`nextRevision`: the last (sorted) revision's number + 1, or 1."""
    return revisions[-1].revision + 1 if revisions else 1


def equal_revision(a: ControllerRevision, b: ControllerRevision) -> bool:
    """`EqualRevision`: the same data, compared as sorted JSON (a stored revision's arrays may
    come back as tuples); upstream also compares numeric hash labels, which the safe-encoded
    hashes never are."""
    return _JSON.encode(a.data or {}) == _JSON.encode(b.data or {})


async def _create_revision(
    client: Client, sts: StatefulSet, revision: ControllerRevision, collision_count: int
) -> tuple[ControllerRevision, int]:
    """`CreateControllerRevision`: create under `<set>-<hash(data, collisionCount)>`; a name
    taken by equal data is that revision, by other data bumps the count and tries again.
    Returns (the revision, the collision count)."""
    while True:
        name = _revision_name(sts.metadata.name, hash_revision(revision.data, collision_count))
        clone = replace(revision, metadata=replace(revision.metadata, name=name))
        try:
            return await client.create(clone), collision_count
        except AlreadyExists:
            exists = await client.get("ControllerRevision", name, sts.metadata.namespace)
            if isinstance(exists, ControllerRevision) and equal_revision(exists, clone):
                return exists, collision_count
            collision_count += 1


async def choose_revisions(
    client: Client, sts: StatefulSet, revisions: Sequence[ControllerRevision]
) -> tuple[ControllerRevision, ControllerRevision, int]:
    """`getStatefulSetRevisions` over the sorted `revisions`: (current, update, collision
    count), creating or renumbering the update revision (see the module doc)."""
    status = sts.status
    collision_count = (status.collision_count if status else None) or 0
    update = new_revision(sts, next_revision(revisions), collision_count)
    equal = [r for r in revisions if equal_revision(r, update)]
    if equal and revisions[-1].metadata.name == equal[-1].metadata.name:
        update = revisions[-1]
    elif equal:
        update = await _renumber(client, equal[-1], update.revision)
    else:
        update, collision_count = await _create_revision(client, sts, update, collision_count)
    current_name = status.current_revision if status else ""
    current = next((r for r in revisions if r.metadata.name == current_name), update)
    return current, update, collision_count


async def _renumber(
    client: Client, revision: ControllerRevision, number: int
) -> ControllerRevision:
    """`UpdateControllerRevision`: the revision with `revision: number` (a Conflict is raised
    to retry the sync: upstream retries from its lister)."""
    if revision.revision == number:
        return revision
    return await client.update(replace(revision, revision=number))


async def truncate_history(
    client: Client,
    sts: StatefulSet,
    pods: Iterable[Pod],
    revisions: Sequence[ControllerRevision],
    current: ControllerRevision | None,
    update: ControllerRevision | None,
) -> None:
    """`truncateHistory`: delete the oldest non-live revisions (live: current, update, or named
    by a pod's `controller-revision-hash`) until at most `revisionHistoryLimit` (default 10)
    non-live ones remain (one already gone is skipped)."""
    live = {pod_revision(pod) for pod in pods}
    live.update(r.metadata.name for r in (current, update) if r is not None)
    history = [r for r in revisions if r.metadata.name not in live]
    limit = sts.spec.revision_history_limit
    limit = 10 if limit is None else limit
    for revision in history[: max(0, len(history) - limit)]:
        meta = revision.metadata
        try:
            await client.delete("ControllerRevision", meta.name, meta.namespace)
        except NotFound:  # already gone: what truncation wanted
            continue
