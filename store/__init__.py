"""The event log: an append-only log with etcd's semantics (fixed contract 1 in DESIGN.md).

Knows nothing of Kubernetes: keys are non-empty `str`, values are `bytes`.

    async with store.open_log("memory://") as log:      # or "sqlite:///abs/path.db"
        rev = await log.create("/a", b"1", actor="user", cause=0, time=0.0)

Semantics, for both backends alike:

- Revisions are global, dense and start at 1; every acknowledged write got the next one.
  Writes go through one writer task per log; on SQLite it commits every write waiting at that
  moment in one transaction, then acknowledges them and publishes their events.
- `create` raises `KeyExists` on a live key; `update`/`delete` raise `KeyNotFound` on a key
  that is not live and `RevisionMismatch` when `expected` is not the key's mod_revision
  (`delete(expected=None)` deletes unconditionally).
- `get`/`range` read at the head, or `at=r` for any `compacted_revision <= r <= revision`;
  `r > revision` raises `FutureRevision`, `r < compacted_revision` raises `Compacted`.
- `compact(r)` forgets every version superseded at or before `r` (the state at `r` stays
  readable). `r > revision` raises `FutureRevision`; `r < compacted_revision` raises `Compacted`.
- `watch(prefix, after=r)` yields every event with revision > r whose key starts with
  `prefix`, in order, exactly once, history first and then live, with no gap at the seam; a
  start above the head waits for it (as etcd does). `r < compacted_revision` raises `Compacted`
  at the call. Watchers never slow writers: one that falls behind the in-memory window reads
  the log's history and rejoins; only a watcher whose position was compacted away gets
  `Compacted`. Closing the log ends watches with `StoreClosed`.
- `events(after=, until=, prefix=)` yields the raw log in (after, until], `until` defaulting
  to the head at the call; a bound above the head raises `FutureRevision`.
- Bad input raises `InvalidArgument` and writes nothing.
"""

from store.errors import (
    Compacted,
    FutureRevision,
    InvalidArgument,
    KeyExists,
    KeyNotFound,
    RevisionMismatch,
    StoreClosed,
    StoreError,
)
from store.open import open_log
from store.types import MAX_VALUE_BYTES, Event, EventLog, EventType, KeyValue, RangeResult, Watch

__all__ = [
    "MAX_VALUE_BYTES",
    "Compacted",
    "Event",
    "EventLog",
    "EventType",
    "FutureRevision",
    "InvalidArgument",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "RangeResult",
    "RevisionMismatch",
    "StoreClosed",
    "StoreError",
    "Watch",
    "open_log",
]
