"""`events`: the raw log as rows (revision, virtual time, actor, cause, verb, object, change).

    rows = await events(log, kind="deploy", namespace="default", actor="controller")
    print(format_events(rows))                  # a kubectl-style table
    print(format_events_json(rows))             # `-o json`: a JSON list of the rows

Filters combine (all must hold). `kind` takes any name kubectl accepts (`deploy`, `rs`, ...);
`namespace` keeps the objects of that namespace and every cluster-scoped object (as `kubectl -n`
does for nodes); `actor` matches the actor or any actor under it (`kubelet` matches
`kubelet/node-1`); `since`/`until` are inclusive bounds, each a revision (`int`, or a string of
digits), an RFC 3339 virtual time (`2023-11-14T22:13:41Z`), or a duration before the last
event's time (`90s`, `5m`, `1h`). History compacted away is skipped: rows start at the first
revision the log still holds.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from cp.api.times import parse_rfc3339, rfc3339
from cp.replay.changes import summarize
from cp.replay.commands import COMMAND_KEY, command_change
from cp.replay.errors import ReplayError
from cp.replay.keys import ObjectRef, decode_value, parse_key, resolve_kind
from store import Event, EventLog

__all__ = ["Bound", "EventRow", "event_row", "events", "format_events", "format_events_json"]

Bound = int | str
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ENCODER = msgspec.json.Encoder()


class EventRow(msgspec.Struct, frozen=True, gc=False):
    """One event of the log, ready to print (`-o json` is `msgspec.to_builtins` of it).

    `verb` is `create` (a PUT without a previous value), `update` or `delete`; `object` is
    `deployment.apps/web` style; `change` is the summary of `cp.replay.changes.summarize`."""

    revision: int
    time: float
    timestamp: str
    actor: str
    cause: int
    verb: str
    kind: str
    namespace: str
    name: str
    object: str
    change: str


def _verb(event: Event) -> str:
    if event.type == "DELETE":
        return "delete"
    return "create" if event.prev_value is None else "update"


#: How a command record's row names its object (`cp.replay.commands`).
_COMMAND_REF: Final = ObjectRef(kind="Command", namespace="", name="command", resource="command")


def event_row(event: Event) -> EventRow:
    """The row of one event (its change computed from `prev_value` and `value`); a command
    record's row shows the command line (verb `start` or `end`, object `command`)."""
    if event.key == COMMAND_KEY:
        ref = _COMMAND_REF
        verb, change = command_change(event.value)
    else:
        ref = parse_key(event.key)
        verb = _verb(event)
        change = summarize(decode_value(event.prev_value), decode_value(event.value))
    return EventRow(
        revision=event.revision,
        time=event.time,
        timestamp=rfc3339(event.time),
        actor=event.actor,
        cause=event.cause,
        verb=verb,
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
        object=ref.resource,
        change=change,
    )


async def _last_time(log: EventLog) -> float:
    head = log.revision
    if head == 0 or head <= log.compacted_revision:
        return 0.0
    async for event in log.events(after=head - 1, until=head):
        return event.time
    return 0.0


async def _bound(log: EventLog, bound: Bound | None, name: str) -> tuple[int | None, float | None]:
    """(revision, time) of one `since`/`until` bound; exactly one is set, or neither."""
    if bound is None:
        return None, None
    if isinstance(bound, int):
        return bound, None
    text = bound.strip()
    if text.isdigit():
        return int(text), None
    if found := _DURATION.match(text):
        return None, await _last_time(log) - float(found[1]) * _UNITS[found[2]]
    try:
        return None, parse_rfc3339(text)
    except ValueError:
        message = f"invalid {name} {bound!r}: expected a revision, an RFC 3339 time or a duration"
        raise ReplayError(message) from None


def _prefix(kind: str | None, name: str | None, namespace: str | None) -> str:
    if kind is None:
        return "" if name is None else "/registry/"  # every event, the commands included
    info = resolve_kind(kind)
    if info.namespaced and namespace:
        base = f"/registry/{info.plural}/{namespace}/"
    else:
        base = f"/registry/{info.plural}/"
    return base + name if name is not None and (namespace or not info.namespaced) else base


def _actor_matches(actor: str, wanted: str | None) -> bool:
    return wanted is None or actor == wanted or actor.startswith(wanted.rstrip("/") + "/")


async def events(
    log: EventLog,
    *,
    kind: str | None = None,
    name: str | None = None,
    namespace: str | None = None,
    actor: str | None = None,
    since: Bound | None = None,
    until: Bound | None = None,
) -> list[EventRow]:
    """The log's events that pass every given filter, in revision order (see the module doc)."""
    since_rev, since_time = await _bound(log, since, "since")
    until_rev, until_time = await _bound(log, until, "until")
    after = max(log.compacted_revision, (since_rev or 1) - 1)
    last = log.revision if until_rev is None else min(until_rev, log.revision)
    if after >= last:
        return []
    rows: list[EventRow] = []
    async for event in log.events(after=after, until=last, prefix=_prefix(kind, name, namespace)):
        if since_time is not None and event.time < since_time:
            continue
        if until_time is not None and event.time > until_time:
            break
        if not _actor_matches(event.actor, actor):
            continue
        ref = parse_key(event.key)
        if name is not None and ref.name != name:
            continue
        if namespace and ref.namespace not in ("", namespace):
            continue
        rows.append(event_row(event))
    return rows


def _relative(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"+{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"+{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"+{hours}h{minutes:02d}m"


def format_events(
    rows: list[EventRow], *, relative: bool = False, show_namespace: bool = False
) -> str:
    """A table as kubectl prints one: REVISION, TIME, ACTOR, CAUSE, VERB, OBJECT, CHANGE
    (NAMESPACE after TIME with `show_namespace`). TIME is RFC 3339 virtual time, or with
    `relative` the offset from the first row (`+21s`). Empty rows give `No events found.`"""
    if not rows:
        return "No events found.\n"
    start = rows[0].time
    header = ["REVISION", "TIME", "ACTOR", "CAUSE", "VERB", "OBJECT", "CHANGE"]
    if show_namespace:
        header.insert(2, "NAMESPACE")
    table = [header]
    for row in rows:
        when = _relative(row.time - start) if relative else row.timestamp
        cells = [str(row.revision), when, row.actor, str(row.cause or "-"), row.verb]
        cells += [row.object, row.change]
        if show_namespace:
            cells.insert(2, row.namespace or "-")
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)) + "   " + line[-1]
        for line in table
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def format_events_json(rows: list[EventRow]) -> str:
    """`-o json`: the rows as a JSON list (each is `msgspec.to_builtins(row)`), indented."""
    return msgspec.json.format(_ENCODER.encode(rows), indent=4).decode() + "\n"
