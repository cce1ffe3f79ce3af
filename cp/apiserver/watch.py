"""Watches: store events of one kind (and namespace) as Kubernetes watch events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Self

import store
from cp.api.errors import BadRequest
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct
from cp.apiserver.keys import store_errors

__all__ = ["ApiWatch", "WatchEvent", "WatchEventType", "parse_resource_version"]

WatchEventType = Literal["ADDED", "MODIFIED", "DELETED"]

#: decode(value, revision) -> the object with `metadata.resourceVersion` set to `revision`
Decoder = Callable[[bytes, int], ApiStruct]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event; the object's resourceVersion is the revision of the event (for DELETED,
    the revision of the delete, on the last state, as etcd3's watcher does)."""

    type: WatchEventType
    object: ApiStruct


def parse_resource_version(text: str | int | None) -> int | None:
    """None for "from the head" (None, "" or "0"), else the revision; BadRequest if malformed."""
    if text is None or text in ("", "0", 0):
        return None
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    if isinstance(text, str) and text.isdigit():
        return int(text)
    raise BadRequest(f'invalid resource version "{text}"')


class ApiWatch:
    """`async with server.watch(...) as events: async for event in events: ...`

    Starts after `after` (the head at `__aenter__` when None: no initial list, as a watch with
    resourceVersion "0" or unset is here: list first, then watch from the list's revision).
    A start below the compacted revision raises `Expired` at `__aenter__`; a watcher whose
    position is compacted away later gets `Expired` from the iteration.
    """

    __slots__ = ("_after", "_decode", "_info", "_log", "_prefix", "_watch")

    def __init__(
        self, log: store.EventLog, info: KindInfo, prefix: str, after: int | None, decode: Decoder
    ) -> None:
        self._log = log
        self._info = info
        self._prefix = prefix
        self._after = after
        self._decode = decode
        self._watch: store.Watch | None = None

    async def __aenter__(self) -> Self:
        after = self._log.revision if self._after is None else self._after
        with store_errors(self._info):
            self._watch = self._log.watch(self._prefix, after=after)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._watch is not None:
            await self._watch.aclose()

    @property
    def position(self) -> int:
        """The store revision this watch has read up to (informers compare it with the head)."""
        if self._watch is not None:
            return self._watch.position
        return self._after or 0

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[WatchEvent]:
        if self._watch is None:
            raise RuntimeError("use the watch as `async with server.watch(...) as events`")
        decode = self._decode
        with store_errors(self._info):
            async for event in self._watch:
                if event.type == "DELETE":
                    if event.prev_value is not None:
                        yield WatchEvent("DELETED", decode(event.prev_value, event.revision))
                elif event.value is not None:
                    kind: WatchEventType = "ADDED" if event.prev_value is None else "MODIFIED"
                    yield WatchEvent(kind, decode(event.value, event.revision))
