"""`why`: the causal chain that produced one version of an object.

    steps = await why(log, "deploy", "web", "default")           # the live version
    print(format_why(steps))

Step 1 is the event that wrote the version (for an object deleted at `at`, its delete). Each
next step is the event at the previous step's `cause` revision (the write that triggered the
reconcile that made it), on whatever object it was, until a write with cause 0: normally the
user's own command. A cause compacted away ends the chain with a step whose `compacted` is set.
"""

from __future__ import annotations

import msgspec

from cp.api.times import rfc3339
from cp.replay.errors import ObjectNotFound
from cp.replay.events import event_row
from cp.replay.keys import key_of, resolve_kind
from cp.replay.objects import event_at, read_at
from store import Event, EventLog

__all__ = ["Step", "format_why", "why", "why_from"]


class Step(msgspec.Struct, frozen=True, gc=False):
    """One link of the chain: the event at `revision` (who wrote what, and its own `cause`).
    A step with `compacted=True` only names a revision that is no longer in the log."""

    revision: int
    time: float = 0.0
    actor: str = ""
    cause: int = 0
    verb: str = ""
    object: str = ""
    change: str = ""
    compacted: bool = False


def _step(event: Event) -> Step:
    row = event_row(event)
    return Step(
        revision=row.revision,
        time=row.time,
        actor=row.actor,
        cause=row.cause,
        verb=row.verb,
        object=row.object,
        change=row.change,
    )


async def _last_event_of(log: EventLog, key: str, at: int) -> Event | None:
    """The last event on exactly `key` at or before `at` (to explain a deleted object)."""
    last: Event | None = None
    async for event in log.events(after=log.compacted_revision, until=at, prefix=key):
        if event.key == key:
            last = event
    return last


async def why(
    log: EventLog, kind: str, name: str, namespace: str | None, at: int | None = None
) -> list[Step]:
    """The chain of events that produced the object's version at `at` (the head for None),
    newest first: see the module doc. Raises ObjectNotFound when the log holds no event of the
    object up to `at`, UnknownKind and RevisionUnavailable as `get_at` does."""
    info = resolve_kind(kind)
    key = key_of(info, name, namespace)
    revision = log.revision if at is None else at
    kv = await read_at(log, key, revision)
    first = await event_at(log, kv.mod_revision) if kv is not None else None
    if first is None:
        first = await _last_event_of(log, key, revision)
    if first is None:
        if kv is not None:
            return [Step(revision=kv.mod_revision, compacted=True)]
        resource = f"{info.plural}.{info.group}" if info.group else info.plural
        raise ObjectNotFound(f'{resource} "{name}" not found at revision {revision}')
    return await why_from(log, first)


async def why_from(log: EventLog, first: Event) -> list[Step]:
    """The chain of `why` starting at the event `first` (step 1), newest first."""
    steps = [_step(first)]
    while (cause := steps[-1].cause) > 0 and cause < steps[-1].revision:
        event = await event_at(log, cause)
        if event is None:
            steps.append(Step(revision=cause, compacted=True))
            break
        steps.append(_step(event))
    return steps


def format_why(steps: list[Step]) -> str:
    """The chain as text, newest first, one step a line (`#REV TIME ACTOR VERB OBJECT: CHANGE`),
    each after the first introduced by `<- caused by`, and a closing line saying where the
    chain ends: the user's command, a write with no recorded cause, or compacted history."""
    if not steps:
        return ""
    lines: list[str] = []
    for index, step in enumerate(steps):
        lead = "" if index == 0 else "  <- caused by "
        if step.compacted:
            lines.append(f"{lead}#{step.revision}: compacted away, the chain cannot go further")
            continue
        change = f": {step.change}" if step.change else ""
        text = f"#{step.revision} {rfc3339(step.time)} {step.actor} {step.verb} {step.object}"
        lines.append(f"{lead}{text}{change}")
    last = steps[-1]
    if last.object == "command" and last.verb == "start":
        lines[-1] = f"{lead}#{last.revision} {rfc3339(last.time)} the user ran: {last.change}"
        lines.append(f"(started by the user's command at revision {last.revision})")
    elif last.compacted:
        lines.append(f"(history up to revision {last.revision} is gone: the log was compacted)")
    elif last.actor == "user":
        lines.append(f"(started by the user's command at revision {last.revision})")
    else:
        lines.append(f"(started by {last.actor} at revision {last.revision}, with no cause)")
    return "\n".join(lines) + "\n"
