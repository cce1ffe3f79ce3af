"""Shared informers: one cache and one watch per kind, for every controller of the process.

    factory = SharedInformerFactory(server, activity, head=lambda: server.log.revision)
    pods = factory.informer_for("Pod")
    remove = pods.add_handler(handler)            # on_add / on_update / on_delete(Deleted)
    lister = pods.lister(Pod)                     # Lister[Pod]
    async with factory:                           # starts every informer in its task group
        await factory.wait_for_sync()
        ...                                       # leaving the block stops them

Guarantees:
- One `SharedInformer` (one list+watch, one cache of frozen objects) per kind per factory;
  `informer_for` returns the same one to every caller.
- Handlers run synchronously, in registration order, after the cache holds the change, in
  revision order; a handler added late first gets an `on_add` for each cached object.
- While an informer is listing, applying an event, or (with `head`) behind the log head, the
  factory's `Activity` is not idle (a busy-probe per informer), so a virtual clock cannot jump
  before handlers saw a write.
- Informers added after the factory started are started at once, in the same task group.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

import anyio
import anyio.abc

from cp.api.meta import ApiStruct
from cp.clock.activity import Activity
from cp.informer.cache import Indexer, InformerError, Lister
from cp.informer.reflector import Deleted, EventHandler, ListWatcher, Reflector

__all__ = ["Handlers", "SharedInformer", "SharedInformerFactory"]

T = TypeVar("T", bound=ApiStruct)


def _ignore_add(obj: ApiStruct) -> None:
    return None


def _ignore_update(old: ApiStruct, new: ApiStruct) -> None:
    return None


def _ignore_delete(deleted: Deleted) -> None:
    return None


class Handlers:
    """An `EventHandler` from plain functions (any of them may be left out)."""

    __slots__ = ("_add", "_delete", "_update")

    def __init__(
        self,
        on_add: Callable[[ApiStruct], None] = _ignore_add,
        on_update: Callable[[ApiStruct, ApiStruct], None] = _ignore_update,
        on_delete: Callable[[Deleted], None] = _ignore_delete,
    ) -> None:
        self._add = on_add
        self._update = on_update
        self._delete = on_delete

    def on_add(self, obj: ApiStruct) -> None:
        self._add(obj)

    def on_update(self, old: ApiStruct, new: ApiStruct) -> None:
        self._update(old, new)

    def on_delete(self, deleted: Deleted) -> None:
        self._delete(deleted)


class SharedInformer:
    """One kind's cache, reflector and handlers (made by `SharedInformerFactory.informer_for`)."""

    __slots__ = ("_handlers", "_indexer", "_kind", "_reflector")

    def __init__(
        self,
        list_watcher: ListWatcher,
        kind: str,
        *,
        namespace: str | None = None,
        head: Callable[[], int] | None = None,
    ) -> None:
        self._kind = kind
        self._indexer = Indexer()
        self._handlers: tuple[EventHandler, ...] = ()
        self._reflector = Reflector(
            list_watcher, kind, self._indexer, self, namespace=namespace, head=head
        )

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def indexer(self) -> Indexer:
        return self._indexer

    @property
    def reflector(self) -> Reflector:
        return self._reflector

    @property
    def has_synced(self) -> bool:
        return self._reflector.has_synced

    @property
    def last_applied_revision(self) -> int:
        return self._reflector.last_applied_revision

    @property
    def busy(self) -> bool:
        return self._reflector.busy

    def lister(self, cls: type[T]) -> Lister[T]:
        """A typed view of the cache (`cls` is the kind's Struct, e.g. `Pod`)."""
        return Lister(self._indexer, cls)

    def add_handler(self, handler: EventHandler) -> Callable[[], None]:
        """Register `handler` (replaying the cache to it as adds); returns its remover."""
        self._handlers = (*self._handlers, handler)
        for key in self._indexer.sorted_keys():
            obj = self._indexer.get_by_key(key)
            if obj is not None:
                handler.on_add(obj)

        def remove() -> None:
            self._handlers = tuple(h for h in self._handlers if h is not handler)

        return remove

    async def wait_for_sync(self) -> None:
        """Return once the first list is in the cache and its handlers ran."""
        await self._reflector.wait_for_sync()

    async def run(self) -> None:
        """The reflector, until cancelled (run by the factory's task group)."""
        await self._reflector.run()

    # -- EventHandler: fan out to the registered handlers -------------------------------------

    def on_add(self, obj: ApiStruct) -> None:
        for handler in self._handlers:
            handler.on_add(obj)

    def on_update(self, old: ApiStruct, new: ApiStruct) -> None:
        for handler in self._handlers:
            handler.on_update(old, new)

    def on_delete(self, deleted: Deleted) -> None:
        for handler in self._handlers:
            handler.on_delete(deleted)


class SharedInformerFactory:
    """Makes and runs the shared informers of one process (see the module docstring)."""

    __slots__ = ("_activity", "_head", "_informers", "_list_watcher", "_probes", "_task_group")

    def __init__(
        self,
        list_watcher: ListWatcher,
        activity: Activity,
        *,
        head: Callable[[], int] | None = None,
    ) -> None:
        self._list_watcher = list_watcher
        self._activity = activity
        self._head = head
        self._informers: dict[str, SharedInformer] = {}
        self._probes: list[Callable[[], None]] = []
        self._task_group: anyio.abc.TaskGroup | None = None

    @property
    def informers(self) -> tuple[SharedInformer, ...]:
        return tuple(self._informers.values())

    def informer_for(self, kind: str) -> SharedInformer:
        """The informer of `kind` (all namespaces), made on first use."""
        informer = self._informers.get(kind)
        if informer is None:
            informer = SharedInformer(self._list_watcher, kind, head=self._head)
            self._informers[kind] = informer
            if self._task_group is not None:
                self._start(informer, self._task_group)
        return informer

    def _start(self, informer: SharedInformer, tg: anyio.abc.TaskGroup) -> None:
        informer.reflector.mark_starting()
        reflector = informer.reflector
        self._probes.append(self._activity.add_probe(lambda: reflector.busy))
        tg.start_soon(informer.run)

    async def __aenter__(self) -> Self:
        if self._task_group is not None:
            raise InformerError("the informer factory is already running")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        for informer in self._informers.values():
            self._start(informer, tg)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._task_group
        if tg is None:
            return None
        tg.cancel_scope.cancel()
        try:
            return await tg.__aexit__(exc_type, exc, tb)
        finally:
            self._task_group = None
            for remove in self._probes:
                remove()
            self._probes.clear()

    async def wait_for_sync(self) -> None:
        """Return once every informer made so far has synced (the factory must be running)."""
        if self._task_group is None:
            raise InformerError("start the informer factory (`async with factory:`) first")
        for informer in tuple(self._informers.values()):
            await informer.wait_for_sync()
