"""`rollout_history_all`: every pod template a Deployment ever had, read from the log.

Unlike `rollout history`, which lists the ReplicaSets still kept (at most
`revisionHistoryLimit` old ones), this walks every write of the Deployment, so templates whose
ReplicaSets were cleaned up long ago are still there. A rollback to an earlier template is a new
entry (it is a change of the template), marked with the entry it returned to.

    for entry in await rollout_history_all(log, "web", "default"):
        print(entry.number, entry.images, entry.by.actor if entry.by else "?")
"""

from __future__ import annotations

from typing import Any

import msgspec

from cp.api.times import rfc3339
from cp.replay.errors import ObjectNotFound
from cp.replay.keys import decode_value, key_of, resolve_kind
from cp.replay.why import Step, why_from
from store import EventLog

__all__ = ["TemplateChange", "format_history_all", "rollout_history_all"]

_REVISION = "deployment.kubernetes.io/revision"
_CHANGE_CAUSE = "kubernetes.io/change-cause"


class TemplateChange(msgspec.Struct, frozen=True, gc=False):
    """One pod template of the Deployment, from the write that set it.

    `number` counts templates from 1; `revision`/`time`/`actor` are the write's; `images` are
    `container=image` pairs (init containers first, prefixed `init:`); `rollout_revisions` are
    the `deployment.kubernetes.io/revision` numbers the controller gave this template while it
    was current; `change_cause` is the last `kubernetes.io/change-cause` annotation the
    Deployment had while it was current (what `rollout history` shows for it); `same_as`
    is the `number` of an earlier entry with the same template (a rollback), else 0; `by` is
    the user write the change goes back to (the end of its `why` chain; None if compacted);
    `template` is the pod template itself (JSON builtins)."""

    number: int
    revision: int
    time: float
    actor: str
    images: tuple[str, ...]
    rollout_revisions: tuple[int, ...]
    change_cause: str
    same_as: int
    by: Step | None
    template: Any


def _images(template: Any) -> tuple[str, ...]:
    spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(spec, dict):
        return ()
    images: list[str] = []
    for field, prefix in (("initContainers", "init:"), ("containers", "")):
        images.extend(
            f"{prefix}{c.get('name', '')}={c.get('image', '')}"
            for c in spec.get(field) or ()
            if isinstance(c, dict)
        )
    return tuple(images)


def _annotation(obj: Any, name: str) -> str:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    value = annotations.get(name) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else ""


async def rollout_history_all(log: EventLog, name: str, namespace: str) -> list[TemplateChange]:
    """Every pod template the Deployment `name` had, oldest first (see the module doc); history
    compacted away is not seen. Raises ObjectNotFound when the log holds no write of it."""
    key = key_of(resolve_kind("Deployment"), name, namespace)
    entries: list[TemplateChange] = []
    seen: list[Any] = []
    numbers: list[list[int]] = []
    causes: list[str] = []
    previous_rollout = ""
    async for event in log.events(after=log.compacted_revision, prefix=key):
        obj = decode_value(event.value)
        if event.key != key or not isinstance(obj, dict):
            continue
        spec = obj.get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        if not entries or template != entries[-1].template:
            chain = await why_from(log, event)
            by = chain[-1] if chain and not chain[-1].compacted else None
            same = next((i + 1 for i, t in enumerate(seen) if t == template), 0)
            seen.append(template)
            numbers.append([])
            causes.append("")
            entries.append(
                TemplateChange(
                    number=len(entries) + 1,
                    revision=event.revision,
                    time=event.time,
                    actor=event.actor,
                    images=_images(template),
                    rollout_revisions=(),
                    change_cause="",
                    same_as=same,
                    by=by,
                    template=template,
                )
            )
        causes[-1] = _annotation(obj, _CHANGE_CAUSE)
        rollout = _annotation(obj, _REVISION)
        if rollout != previous_rollout and rollout.isdigit() and int(rollout) not in numbers[-1]:
            numbers[-1].append(int(rollout))
        previous_rollout = rollout
    if not entries:
        raise ObjectNotFound(f'deployments.apps "{name}" not found in the log')
    return [
        msgspec.structs.replace(entry, rollout_revisions=tuple(found), change_cause=cause)
        for entry, found, cause in zip(entries, numbers, causes, strict=True)
    ]


def format_history_all(entries: list[TemplateChange]) -> str:
    """A table: TEMPLATE, REVISION (store), TIME, ROLLOUT (the controller's revision numbers),
    BY (the user write it goes back to), CHANGE-CAUSE, IMAGES, and COMMAND (the `cpemu`
    command line that made the change, when the log recorded it)."""
    header = ["TEMPLATE", "REVISION", "TIME", "ROLLOUT", "BY", "CHANGE-CAUSE", "IMAGES", "COMMAND"]
    table = [header]
    for entry in entries:
        rollout = ",".join(str(n) for n in entry.rollout_revisions) or "-"
        by = f"{entry.by.actor}@{entry.by.revision}" if entry.by else "?"
        images = ",".join(entry.images)
        if entry.same_as:
            images += f" (as template {entry.same_as})"
        table.append(
            [
                str(entry.number),
                str(entry.revision),
                rfc3339(entry.time),
                rollout,
                by,
                entry.change_cause or "<none>",
                images,
                entry.by.change if entry.by and entry.by.object == "command" else "-",
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "   " + row[-1]
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
