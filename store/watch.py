"""`LogWatch`: one watcher's position in the log.

Watchers hold no copies: a synced watcher reads the log's shared window of recent events by
index, so a write costs the same with 1 or 1,000 watchers and a slow reader never slows a
writer. A watcher that fell behind the window reads the log's history in chunks (as etcd's
unsynced watchers do) until it is back inside the window. It fails with `Compacted` only when
the events it still needs were compacted away, and with `StoreClosed` when the log closes.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Self

from store.errors import StoreClosed
from store.types import Event

if TYPE_CHECKING:
    from store.base import LogBase

__all__ = ["LogWatch"]


class LogWatch:
    """Events with revision > `after` whose key starts with `prefix`, each once, in order."""

    __slots__ = ("_buffer", "_closed", "_log", "_position", "_prefix")

    def __init__(self, log: LogBase, prefix: str, after: int) -> None:
        self._log = log
        self._prefix = prefix
        self._position = after  # every event up to here was delivered or filtered out
        self._buffer: deque[Event] = deque()  # a chunk read from history, not yet delivered
        self._closed = False

    @property
    def position(self) -> int:
        """The revision this watcher has read up to."""
        return self._buffer[0].revision - 1 if self._buffer else self._position

    def __aiter__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        self._buffer.clear()

    async def __anext__(self) -> Event:
        if self._buffer:
            return self._buffer.popleft()
        log = self._log
        prefix = self._prefix
        while True:
            if self._closed:
                raise StopAsyncIteration
            if log.closed:
                raise StoreClosed()
            position = self._position
            head = log.revision
            if position >= head:
                await log.wait_for_commit()
                continue
            window = log.window
            base = window.base
            if position + 1 >= base:
                events = window.events
                n = len(events)
                i = position + 1 - base
                while i < n:
                    event = events[i]
                    i += 1
                    if event.key.startswith(prefix):
                        self._position = event.revision
                        return event
                self._position = base + n - 1
                continue
            chunk, scanned = await log.read_events(prefix, position, head)
            if self._closed:
                raise StopAsyncIteration
            self._position = scanned
            if chunk:
                self._buffer.extend(chunk)
                return self._buffer.popleft()
