"""Replay debugging: questions answered from the event log alone (issue 6, item 2).

Pure async functions over a store `EventLog` (fixed contract 1 in DESIGN.md); none print or
parse arguments. Each returns data (msgspec Structs, so `msgspec.to_builtins` gives `-o json`)
and has a formatter to text for the `cpemu` CLI:

- `events` / `format_events` / `format_events_json` — the raw log, filterable, with a short
  summary of what each write changed (`cp.replay.changes`).
- `get_at` — an object as it was at a revision; `diff` — a unified diff of two of its versions.
- `why` / `format_why` — the causal chain (actor and cause of each write) back to the user.
- `rollout_history_all` / `format_history_all` — every pod template a Deployment ever had.
- `timeline` / `format_timeline` / `timeline_svg` — replica counts of its ReplicaSets.

Errors: `ReplayError` and its subclasses (`cp.replay.errors`).
"""

from cp.replay.changes import Change, diff_json, summarize
from cp.replay.errors import ObjectNotFound, ReplayError, RevisionUnavailable, UnknownKind
from cp.replay.events import EventRow, events, format_events, format_events_json
from cp.replay.history import TemplateChange, format_history_all, rollout_history_all
from cp.replay.objects import diff, get_at
from cp.replay.timeline import Series, Timeline, format_timeline, timeline, timeline_svg
from cp.replay.why import Step, format_why, why

__all__ = [
    "Change",
    "EventRow",
    "ObjectNotFound",
    "ReplayError",
    "RevisionUnavailable",
    "Series",
    "Step",
    "TemplateChange",
    "Timeline",
    "UnknownKind",
    "diff",
    "diff_json",
    "events",
    "format_events",
    "format_events_json",
    "format_history_all",
    "format_timeline",
    "format_why",
    "get_at",
    "rollout_history_all",
    "summarize",
    "timeline",
    "timeline_svg",
    "why",
]
