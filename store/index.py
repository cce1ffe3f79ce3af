"""The latest-state index every backend keeps in memory, and the window of recent events.

`LatestIndex` answers reads at the head without I/O and validates writes; `EventWindow` holds
the newest events so watchers read them without copies (one shared list, a position each).
"""

from __future__ import annotations

from itertools import islice

from sortedcontainers import SortedList

from store.types import Event, KeyValue

__all__ = ["EventWindow", "LatestIndex"]


class LatestIndex:
    """Live keys with their latest version, plus the last revision of every key.

    Invariants: `last_revision[k]` is the revision of the newest retained event of `k` (a
    DELETE for a key that is no longer live); a key leaves it only when compaction forgets its
    tombstone. Key order is kept in a sorted list brought up to date lazily, at the next
    `range`: writes only note the key in `_unsorted` (True: to add, False: to remove).
    """

    __slots__ = ("_sorted", "_unsorted", "last_revision", "live")

    def __init__(self) -> None:
        self.live: dict[str, KeyValue] = {}
        self.last_revision: dict[str, int] = {}
        self._sorted: SortedList[str] = SortedList()
        self._unsorted: dict[str, bool] = {}

    def put(self, kv: KeyValue) -> None:
        key = kv.key
        if key not in self.live:
            if self._unsorted.get(key) is False:
                del self._unsorted[key]  # removed and re-added before anyone looked
            else:
                self._unsorted[key] = True
        self.live[key] = kv
        self.last_revision[key] = kv.mod_revision

    def remove(self, key: str, revision: int) -> None:
        del self.live[key]
        if self._unsorted.get(key) is True:
            del self._unsorted[key]
        else:
            self._unsorted[key] = False
        self.last_revision[key] = revision

    def forget_tombstones(self, up_to: int) -> list[str]:
        """Forget keys whose last event is a DELETE at or before `up_to`; return them."""
        live = self.live
        gone = [k for k, rev in self.last_revision.items() if rev <= up_to and k not in live]
        for key in gone:
            del self.last_revision[key]
        return gone

    def range(self, prefix: str, limit: int | None) -> list[KeyValue]:
        """Live versions of keys starting with `prefix`, in key order, at most `limit`."""
        keys = self._sorted_keys()
        live = self.live
        selected = keys.irange(minimum=prefix) if prefix else iter(keys)
        if limit is not None:
            selected = islice(selected, limit)
        out: list[KeyValue] = []
        for key in selected:
            if not key.startswith(prefix):
                break
            out.append(live[key])
        return out

    def _sorted_keys(self) -> SortedList[str]:
        unsorted = self._unsorted
        if unsorted:
            keys = self._sorted
            keys.update([k for k, added in unsorted.items() if added])
            for key in [k for k, added in unsorted.items() if not added]:
                keys.remove(key)
            unsorted.clear()
        return self._sorted


class EventWindow:
    """The newest events, oldest first: `events[i].revision == base + i`.

    The list object is replaced (never mutated in place except by appends) when the window is
    trimmed, so a reader holding an index recomputes it from `base` after every await.
    """

    __slots__ = ("base", "events")

    def __init__(self, next_revision: int) -> None:
        self.base = next_revision
        self.events: list[Event] = []

    def trim_below(self, revision: int) -> int:
        """Drop events with revision < `revision` (never past the end); return how many."""
        drop = min(revision - self.base, len(self.events))
        if drop <= 0:
            return 0
        self.events = self.events[drop:]
        self.base += drop
        return drop
