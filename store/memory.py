"""The memory backend: the whole retained history in Python lists; the default for tests.

Alongside the shared event window it keeps, per event, the version the event left behind
(None for a DELETE) and the revision of the same key's previous event. A read at an old
revision walks that chain back from the key's newest event. Events below the window — only
compaction trims it — are folded into `_trimmed_state`, the state just below the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.base import DEFAULT_WINDOW, Accepted, LogBase
from store.types import Event, KeyValue

__all__ = ["MemoryLog"]


class MemoryLog(LogBase):
    """An event log held in memory. Open it with `store.open_log("memory://")`."""

    _commits_inline = True

    def __init__(self, *, window: int = DEFAULT_WINDOW) -> None:
        super().__init__(head=0, compacted=0, window=window)
        self._versions: list[KeyValue | None] = []  # aligned with self._window.events
        self._previous: list[int | None] = []  # aligned with self._window.events
        self._trimmed_state: dict[str, KeyValue] = {}

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        return None

    def _after_apply(self, accepted: Sequence[Accepted]) -> None:
        versions = self._versions
        previous = self._previous
        for item in accepted:
            versions.append(item.kv)
            previous.append(item.prev_revision)

    async def _persist_compaction(self, revision: int) -> None:
        # Keep the newest `window` events even if compacted, so a watcher just behind reads on.
        window = self._window
        events = window.events
        dropped = window.trim_below(min(revision, self._head - self._window_size) + 1)
        state = self._trimmed_state
        for event, kv in zip(events[:dropped], self._versions[:dropped], strict=True):
            if kv is not None:
                state[event.key] = kv
            else:
                state.pop(event.key, None)
        del self._versions[:dropped], self._previous[:dropped]

    async def _history(self, prefix: str, after: int, until: int) -> tuple[list[Event], int]:
        # Every retained event is in the window; history below it was compacted, and
        # `LogBase.read_events` raised `Compacted` before asking.
        raise AssertionError("the memory log keeps its whole retained history in the window")

    async def _get_at(self, key: str, at: int) -> KeyValue | None:
        return self._version_at(key, at)

    def _version_at(self, key: str, at: int) -> KeyValue | None:
        revision = self._index.last_revision.get(key)
        base = self._window.base
        previous = self._previous
        while revision is not None and revision > at:
            revision = previous[revision - base]
        if revision is None:
            return None
        if revision >= base:
            return self._versions[revision - base]
        return self._trimmed_state.get(key)

    async def _range_at(self, prefix: str, at: int, limit: int | None) -> list[KeyValue]:
        items: list[KeyValue] = []
        for key in sorted(k for k in self._index.last_revision if k.startswith(prefix)):
            kv = self._version_at(key, at)
            if kv is not None:
                items.append(kv)
                if limit is not None and len(items) >= limit:
                    break
        return items
