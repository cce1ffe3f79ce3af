"""One object as it was at a revision (`get_at`), and a diff of two of its versions (`diff`).

    dep = await get_at(log, "deploy", "web", "default", 36)       # the typed object, or None
    print(await diff(log, "deploy", "web", "default", 35, 36))     # unified diff of the YAML

`diff` compares the objects as `kubectl get -o yaml --at REV` would print them, with headers in
the style of `kubectl diff` (`diff -u -N`, `---`/`+++` naming each side's revision and virtual
time); an object missing on one side diffs against nothing. Equal versions give "".
"""

from __future__ import annotations

import difflib

from msgspec.structs import replace

import store
from cp.api.codec import CODEC, dump_yaml
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.times import rfc3339
from cp.replay.errors import ObjectNotFound, RevisionUnavailable
from cp.replay.keys import key_of, resolve_kind
from store import EventLog, KeyValue

__all__ = ["diff", "event_at", "get_at", "read_at"]


def _unavailable(revision: int, log: EventLog) -> RevisionUnavailable:
    if revision > log.revision:
        return RevisionUnavailable(
            f"revision {revision} is in the future: the log's head is {log.revision}"
        )
    return RevisionUnavailable(
        f"revision {revision} has been compacted: the log starts after {log.compacted_revision}"
    )


async def read_at(log: EventLog, key: str, revision: int | None) -> KeyValue | None:
    """The version of `key` live at `revision` (the head for None), or None; a revision
    compacted away or above the head raises RevisionUnavailable."""
    try:
        return await log.get(key, at=revision)
    except (store.Compacted, store.FutureRevision):
        raise _unavailable(revision or 0, log) from None


async def event_at(log: EventLog, revision: int) -> store.Event | None:
    """The event written at `revision`, or None when it is compacted away or not written yet."""
    if revision <= log.compacted_revision or revision > log.revision or revision < 1:
        return None
    try:
        async for event in log.events(after=revision - 1, until=revision):
            return event
    except (store.Compacted, store.FutureRevision):
        return None
    return None


def _typed(info: KindInfo, kv: KeyValue) -> ApiStruct:
    obj = CODEC.decode(info.cls, kv.value)
    meta = getattr(obj, "metadata", None)
    if not isinstance(meta, ObjectMeta):
        return obj
    return replace(obj, metadata=replace(meta, resource_version=str(kv.mod_revision)))


async def get_at(
    log: EventLog, kind: str, name: str, namespace: str | None, revision: int | None
) -> ApiStruct | None:
    """The object as it was at `revision` (the head for None), its `resourceVersion` set to the
    revision that wrote that version, as `get --at` shows it; None when it did not exist then.
    Raises UnknownKind for an unknown kind and RevisionUnavailable for a revision compacted
    away or above the head."""
    info = resolve_kind(kind)
    kv = await read_at(log, key_of(info, name, namespace), revision)
    return None if kv is None else _typed(info, kv)


def _label(info: KindInfo, name: str, namespace: str | None) -> str:
    group = info.group.replace(".", "_") or "core"
    scope = f"{namespace or 'default'}." if info.namespaced else ""
    return f"{group}.{info.version}.{info.kind}.{scope}{name}"


async def _side(log: EventLog, info: KindInfo, key: str, revision: int) -> tuple[list[str], str]:
    kv = await read_at(log, key, revision)
    if kv is None:
        return [], ""
    event = await event_at(log, kv.mod_revision)
    when = rfc3339(event.time) if event is not None else ""
    return dump_yaml(_typed(info, kv)).splitlines(keepends=True), when


async def diff(
    log: EventLog, kind: str, name: str, namespace: str | None, from_rev: int, to_rev: int
) -> str:
    """A unified diff (3 lines of context) of the object's YAML at `from_rev` and at `to_rev`,
    with `kubectl diff`-like headers; "" when the two versions are the same. Raises
    ObjectNotFound when the object exists at neither revision."""
    info = resolve_kind(kind)
    key = key_of(info, name, namespace)
    before, when_before = await _side(log, info, key, from_rev)
    after, when_after = await _side(log, info, key, to_rev)
    if not before and not after:
        resource = f"{info.plural}.{info.group}" if info.group else info.plural
        message = f'{resource} "{name}" not found at revisions {from_rev} and {to_rev}'
        raise ObjectNotFound(message)
    if before == after:
        return ""
    label = _label(info, name, namespace)
    old, new = f"REV-{from_rev}/{label}", f"REV-{to_rev}/{label}"
    lines = difflib.unified_diff(
        before,
        after,
        fromfile=old if before else "/dev/null",
        tofile=new if after else "/dev/null",
        fromfiledate=when_before,
        tofiledate=when_after,
    )
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return f"diff -u -N {old} {new}\n{body}"
