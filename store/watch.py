"""`LogWatch`: one watcher's position in the log.

Watchers hold no copies: a synced watcher reads the log's shared window of recent events by
index, so a write costs the same with 1 or 1,000 watchers and a slow reader never slows a
writer. A watcher that fell behind the window reads the log's history in chunks (as etcd's
unsynced watchers do) until it is back inside the window. It fails with `Compacted` only when
the events it still needs were compacted away, and with `StoreClosed` when the log closes.

Delivery is an async generator over slices of the window (about 0.2 µs an event): the window
list is only appended to, or replaced whole when trimmed, so a slice being read stays valid.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import AsyncGeneratorType, TracebackType
from typing import TYPE_CHECKING, Self, cast

from store.errors import StoreClosed
from store.types import Event

if TYPE_CHECKING:
    from store.base import LogBase

__all__ = ["LogWatch"]


class LogWatch:
    """Events with revision > `after` whose key starts with `prefix`, each once, in order."""

    __slots__ = ("_closed", "_events", "_log", "_position", "_prefix")

    def __init__(self, log: LogBase, prefix: str, after: int) -> None:
        self._log = log
        self._prefix = prefix
        self._position = after  # every event up to here was delivered or filtered out
        self._closed = False
        # The generator type proper: it has `ag_running`, which `aclose` needs.
        self._events = cast(AsyncGeneratorType[Event, None], self._deliver())

    @property
    def position(self) -> int:
        """The revision this watcher has read up to."""
        return self._position

    def __aiter__(self) -> AsyncGenerator[Event, None]:
        return self._events

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

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
        """Stop the watch. From another task while a reader waits in it, the reader's loop
        ends (it sees `_closed` when woken) rather than having the generator closed under it."""
        self._closed = True
        if self._events.ag_running:
            self._log.wake_watchers()
        else:
            await self._events.aclose()

    async def _deliver(self) -> AsyncGenerator[Event, None]:
        log = self._log
        prefix = self._prefix
        while not self._closed:
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
                end = len(events)
                for i in range(position + 1 - base, end):
                    event = events[i]
                    if event.key.startswith(prefix):
                        self._position = event.revision
                        yield event
                self._position = base + end - 1
                continue
            chunk, scanned = await log.read_events(prefix, position, head)
            if self._closed:
                return
            for event in chunk:
                self._position = event.revision
                yield event
            self._position = scanned
