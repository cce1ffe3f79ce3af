"""The store's data types and the `EventLog` protocol (fixed contract 1 in DESIGN.md).

Values are opaque `bytes`; keys are non-empty `str`. Revisions are global, dense and start
at 1; revision 0 is the empty log before the first write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Literal, Protocol, Self

import msgspec

__all__ = ["MAX_VALUE_BYTES", "Event", "EventLog", "EventType", "KeyValue", "RangeResult", "Watch"]

#: etcd's default request size limit (--max-request-bytes, 1.5 MiB); larger values are refused.
MAX_VALUE_BYTES = 1536 * 1024

EventType = Literal["PUT", "DELETE"]


class KeyValue(msgspec.Struct, frozen=True, gc=False):
    """One version of a key: its value and etcd's revision bookkeeping.

    `create_revision` is the revision of the create that began this incarnation of the key,
    `mod_revision` the revision of this version, `version` counts writes since that create (1..).
    """

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int


class RangeResult(msgspec.Struct, frozen=True, gc=False):
    """Live keys in key order, read at `revision` (the head when the read asked for none)."""

    items: list[KeyValue]
    revision: int


class Event(msgspec.Struct, frozen=True, gc=False):
    """One entry of the log.

    A PUT carries the new `value` and, for an update, the previous one in `prev_value`
    (None for a create). A DELETE has `value=None` and the last state in `prev_value`.
    `actor` wrote it, `cause` is the revision of the event that led to it (0 for none),
    `time` is the writer's clock reading (virtual seconds).
    """

    revision: int
    type: EventType
    key: str
    value: bytes | None
    prev_value: bytes | None
    actor: str
    cause: int
    time: float


class Watch(Protocol):
    """An open watch: iterate for events; close it (or use `async with`) to stop."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def __anext__(self) -> Event: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def aclose(self) -> None: ...

    @property
    def position(self) -> int:
        """The revision this watch has read up to (delivered or skipped as not matching)."""
        ...


class EventLog(Protocol):
    """An append-only log with etcd's semantics; see DESIGN.md, fixed contract 1."""

    @property
    def revision(self) -> int:
        """The head revision: the revision of the last acknowledged write (0 when empty)."""
        ...

    @property
    def compacted_revision(self) -> int:
        """History at or above this revision is kept; below it, it is gone (0: nothing)."""
        ...

    async def create(
        self, key: str, value: bytes, *, actor: str = "user", cause: int = 0, time: float = 0.0
    ) -> int: ...

    async def update(
        self,
        key: str,
        value: bytes,
        *,
        expected: int,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int: ...

    async def delete(
        self,
        key: str,
        *,
        expected: int | None = None,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int: ...

    async def get(self, key: str, *, at: int | None = None) -> KeyValue | None: ...

    async def range(
        self, prefix: str, *, at: int | None = None, limit: int | None = None
    ) -> RangeResult: ...

    def watch(self, prefix: str, *, after: int) -> Watch: ...

    def events(
        self, *, after: int = 0, until: int | None = None, prefix: str = ""
    ) -> AsyncIterator[Event]: ...

    async def compact(self, revision: int) -> None: ...

    async def flush(self) -> None:
        """The durability barrier: every write acknowledged before the call is persisted when
        it returns (immediate unless the log writes behind: `?durability=deferred`)."""
        ...
