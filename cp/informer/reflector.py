"""The reflector: list, then watch from the list's revision; relist when the watch expires.

    reflector = Reflector(list_watcher, "Pod", indexer, handler, head=lambda: log.revision)
    async with anyio.create_task_group() as tg:      # the informer owns the task group
        tg.start_soon(reflector.run)

Every change reaches the cache first, then `handler` synchronously, in revision order:
`on_add(obj)`, `on_update(old, new)`, `on_delete(Deleted(obj, final_state_unknown))`.

On `Expired` (the watch's position was compacted away) the reflector lists again and replaces
the cache, emitting the difference as client-go's `DeltaFIFO.Replace` does: an add for a key it
did not have, an update for a key whose resourceVersion changed (none when unchanged), and a
`Deleted(last_known, final_state_unknown=True)` for a key the new list lacks (the delete itself
was compacted away, so its final state is unknown). Then it watches from the new revision.

`busy` tells the activity counter whether work is in flight: while listing, while applying an
event, or (given `head`) while the reflector has not caught up to the log head: its position
is the last revision it applied, or the watch's own `position` when the watch exposes one
(a watch that skips other kinds' events advances it past them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import anyio

from cp.api.errors import Expired
from cp.api.meta import ApiStruct
from cp.informer.cache import Indexer, meta_of, object_key

__all__ = [
    "Deleted",
    "EventHandler",
    "ListWatcher",
    "Reflector",
    "WatchContext",
    "WatchEventLike",
    "WatchStream",
]


@dataclass(frozen=True, slots=True)
class Deleted:
    """A deletion: `obj` is the last state seen. `final_state_unknown` when the delete was
    learnt from a relist (the watch missed it), so `obj` may be older than the real last state."""

    obj: ApiStruct
    final_state_unknown: bool = False


class EventHandler(Protocol):
    """What an informer calls, synchronously, after the cache holds the change."""

    def on_add(self, obj: ApiStruct) -> None: ...

    def on_update(self, old: ApiStruct, new: ApiStruct) -> None: ...

    def on_delete(self, deleted: Deleted) -> None: ...


class WatchEventLike(Protocol):
    """A watch event: `type` is "ADDED", "MODIFIED" or "DELETED"."""

    @property
    def type(self) -> str: ...

    @property
    def object(self) -> ApiStruct: ...


class WatchStream(Protocol):
    def __aiter__(self) -> AsyncIterator[WatchEventLike]: ...


class WatchContext(Protocol):
    async def __aenter__(self) -> WatchStream: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> object: ...


class ListWatcher(Protocol):
    """What an informer needs of the API (`cp.apiserver.ApiServer` is one).

    `list` returns the objects and the revision read at; `watch` yields the events after
    `resource_version` (None, "" or 0: from the head) and raises `Expired` (on entering or
    while iterating) when that revision was compacted away.
    """

    async def list(
        self, kind: str, namespace: str | None = None
    ) -> tuple[Sequence[ApiStruct], int]: ...

    def watch(
        self, kind: str, namespace: str | None = None, *, resource_version: str | int | None = None
    ) -> WatchContext: ...


def _revision(obj: ApiStruct) -> int:
    text = meta_of(obj).resource_version
    return int(text) if text.isdigit() else 0


class Reflector:
    """Keeps one `Indexer` equal to the API's objects of one kind (and namespace)."""

    __slots__ = (
        "_dispatching",
        "_handler",
        "_head",
        "_indexer",
        "_kind",
        "_last_applied",
        "_list_watcher",
        "_listing",
        "_namespace",
        "_relists",
        "_running",
        "_stream",
        "_synced",
        "_synced_event",
    )

    def __init__(
        self,
        list_watcher: ListWatcher,
        kind: str,
        indexer: Indexer,
        handler: EventHandler,
        *,
        namespace: str | None = None,
        head: Callable[[], int] | None = None,
    ) -> None:
        self._list_watcher = list_watcher
        self._kind = kind
        self._namespace = namespace
        self._indexer = indexer
        self._handler = handler
        self._head = head
        self._last_applied = 0
        self._relists = 0
        self._running = False
        self._listing = False
        self._dispatching = False
        self._synced = False
        self._synced_event: anyio.Event | None = None
        self._stream: WatchStream | None = None

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def last_applied_revision(self) -> int:
        """The revision the cache reflects: the last list's, or the last applied event's."""
        return self._last_applied

    @property
    def relists(self) -> int:
        """How many lists after the first one (each after an `Expired` watch)."""
        return self._relists

    @property
    def has_synced(self) -> bool:
        """Whether the first list was applied and dispatched."""
        return self._synced

    async def wait_for_sync(self) -> None:
        """Return once the first list was applied and dispatched."""
        if self._synced:
            return
        if self._synced_event is None:
            self._synced_event = anyio.Event()
        await self._synced_event.wait()

    @property
    def busy(self) -> bool:
        """Whether work is in flight: listing, dispatching, or behind the known log head."""
        if not self._running:
            return False
        if self._listing or self._dispatching:
            return True
        if self._head is None:
            return False
        position = self._last_applied
        stream_position = getattr(self._stream, "position", None)
        if isinstance(stream_position, int) and stream_position > position:
            position = stream_position
        return position < self._head()

    def mark_starting(self) -> None:
        """Count as busy from now until the first list is applied (call before scheduling
        `run`, so the activity never reads idle in between)."""
        self._running = True
        self._listing = True

    async def run(self) -> None:
        """List and watch until cancelled; errors other than `Expired` propagate."""
        self.mark_starting()
        try:
            while True:
                self._listing = True
                items, revision = await self._list_watcher.list(self._kind, self._namespace)
                self._replace(items, revision)
                self._listing = False
                if not self._synced:
                    self._synced = True
                    if self._synced_event is not None:
                        self._synced_event.set()
                await self._watch()
                self._relists += 1
        finally:
            self._running = False
            self._listing = False
            self._stream = None

    async def _watch(self) -> None:
        """Watch from the last applied revision until `Expired` (then return, to relist)."""
        lw = self._list_watcher
        while True:
            start = self._last_applied
            try:
                async with lw.watch(self._kind, self._namespace, resource_version=start) as stream:
                    self._stream = stream
                    if start == 0:
                        # "0" watches from the head at entry: list again so nothing written
                        # since the first list is missed (events up to it are skipped below).
                        self._listing = True
                        items, revision = await lw.list(self._kind, self._namespace)
                        self._replace(items, revision)
                        self._listing = False
                    async for event in stream:
                        self._apply(event)
            except Expired:
                return
            finally:
                self._stream = None
                self._listing = False
            if self._last_applied == 0:
                return  # the stream ended with nothing applied: relist

    def _apply(self, event: WatchEventLike) -> None:
        obj = event.object
        revision = _revision(obj)
        if revision and revision <= self._last_applied:
            return  # already reflected by a list
        self._dispatching = True
        try:
            if event.type == "DELETED":
                old = self._indexer.delete(object_key(obj))
                self._last_applied = max(self._last_applied, revision)
                if old is not None:
                    self._handler.on_delete(Deleted(obj))
            else:
                old = self._indexer.upsert(obj)
                self._last_applied = max(self._last_applied, revision)
                if old is None:
                    self._handler.on_add(obj)
                else:
                    self._handler.on_update(old, obj)
        finally:
            self._dispatching = False

    def _replace(self, items: Sequence[ApiStruct], revision: int) -> None:
        """Make the cache equal to `items` (read at `revision`), dispatching the difference."""
        indexer = self._indexer
        handler = self._handler
        self._dispatching = True
        try:
            seen: set[str] = set()
            for obj in items:
                key = object_key(obj)
                seen.add(key)
                current = indexer.get_by_key(key)
                if current is not None and (
                    meta_of(current).resource_version == meta_of(obj).resource_version
                ):
                    continue
                old = indexer.upsert(obj)
                if old is None:
                    handler.on_add(obj)
                else:
                    handler.on_update(old, obj)
            for key in indexer.sorted_keys():
                if key not in seen:
                    gone = indexer.delete(key)
                    if gone is not None:
                        handler.on_delete(Deleted(gone, final_state_unknown=True))
            self._last_applied = max(self._last_applied, revision)
        finally:
            self._dispatching = False
