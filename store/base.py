"""What every backend shares: the writer task, write validation, head reads and watches.

A backend subclasses `LogBase` and supplies persistence (`_persist`, `_persist_compaction`)
and history reads (`_history`, `_get_at`, `_range_at`). Everything else is here, once.

Write path: `create`/`update`/`delete` check their arguments, queue a `Write` and await its
future. The writer task takes the queued writes as a batch, validates them in order against
the latest index (plus writes accepted but not yet applied), numbers the accepted ones with the
next revisions, persists them in one step, then — and only then — applies them to the index,
appends their events to the window, wakes the watchers and resolves the futures, in order.
Nothing is visible before it is durable, and a failed persist changes nothing. Backends with
nothing to persist (memory) commit a write in the caller's own step instead.

Write-behind (`_write_behind`, SQLite's `?durability=deferred`): a write commits in the
caller's step as with memory — visible, numbered and acknowledged at once, so the log is the
same event for event as the memory backend's for the same inputs — and the writer task
persists what was committed, in order, in batches behind it. `flush()` is the durability
barrier: it returns once everything committed before the call is persisted (or raises if
persisting failed). An acknowledged write is durable only after a `flush()` that returned;
a crash loses at most the writes after the last one. Reads of history at revisions not yet
persisted wait for them; the backlog is bounded (`_BEHIND_LIMIT` writes: a writer then waits).
If persisting fails, the log refuses every later write and flush with that error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Final, Self

import anyio
import anyio.abc

from store.errors import Compacted, FutureRevision, StoreClosed, StoreError
from store.index import EventWindow, LatestIndex
from store.types import Event, KeyValue, RangeResult
from store.validate import check_key, check_prefix, check_revision, check_value, check_write_meta
from store.watch import LogWatch
from store.writes import CREATE, DELETE, UPDATE, Accepted, Write, accept, plain_write

__all__ = ["DEFAULT_WINDOW", "Accepted", "LogBase"]

#: Events a watcher can lag behind the head and still read from memory (per log, shared).
DEFAULT_WINDOW: Final = 65_536
#: An inline-committing backend yields to the event loop once per this many writes, so a
#: writer in a tight loop cannot starve watchers (memory fan-out p99 went from 239 ms to
#: milliseconds). The yield falls on revisions that are multiples of it, so where a writer
#: yields depends on the log alone, never on how long this process has had the log open (a
#: reopened log interleaves its writers exactly as one kept open: `cpemu replay --verify`).
_INLINE_YIELD_EVERY: Final = 32
#: Events read from the window or history per step of `events()` or of a lagging watcher.
_READ_CHUNK: Final = 4096
#: Write-behind: the most committed-but-unpersisted writes before a writer waits for the disk.
#: Far below the window, so history reads (older than the window) are always persisted.
_BEHIND_LIMIT: Final = 16_384


def _fail(batch: list[Write], error: StoreError) -> None:
    for write in batch:
        if write.future is not None and not write.future.done():
            write.future.set_exception(error)


class LogBase:
    """The shared half of an event log. Use it through `store.open_log`."""

    #: True for backends with nothing to persist: a write then commits in the caller's step,
    #: which is as sequential as the writer task (one event loop) and skips a task switch.
    _commits_inline: bool = False
    #: The most writes the writer task persists in one step.
    _max_batch: int = 1 << 30

    def __init__(self, *, head: int, compacted: int, window: int = DEFAULT_WINDOW) -> None:
        self._index = LatestIndex()
        self._head = head
        self._compacted = compacted
        self._compacting_to = compacted  # raised before a compaction runs, for racing reads
        self._window = EventWindow(head + 1)
        self._window_size = window
        self._pending: list[Write] = []
        self._compactions: list[tuple[int, asyncio.Future[int]]] = []
        self._wake: asyncio.Future[None] | None = None
        self._committed: asyncio.Event | None = None  # exists while a watcher waits
        self._closing = False  # no new writes (set by aclose, or when the writer task fails)
        self._stopping = False  # aclose has begun
        self._closed = False
        self._task_group: anyio.abc.TaskGroup | None = None
        #: Write-behind state: committed writes not yet persisted (oldest first), the newest
        #: persisted revision, a waiter event for `flush`, and the persist error, if any.
        self._write_behind = False
        self._unpersisted: list[Accepted] = []
        self._persisted = head
        self._persisted_event: asyncio.Event | None = None
        self._behind_error: StoreError | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._persisted = self._head  # a backend may have loaded its head since __init__
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        task_group.start_soon(self._writer_loop)
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Finish every queued write, stop the writer, end watches, release the backend."""
        if self._stopping:
            return
        self._stopping = self._closing = True
        self._wake_writer()
        try:
            if self._task_group is not None:
                await self._task_group.__aexit__(None, None, None)
        finally:
            self._closed = True
            self._notify_watchers()
            with anyio.CancelScope(shield=True):  # release files even when cancelled
                await self._close_backend()

    @property
    def revision(self) -> int:
        return self._head

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def window(self) -> EventWindow:
        """The newest events, shared by every watcher (read-only outside this class)."""
        return self._window

    async def wait_for_commit(self) -> None:
        """Return after the next batch becomes visible, or the log closes."""
        if self._closed:
            return
        if self._committed is None:
            self._committed = asyncio.Event()
        await self._committed.wait()

    async def flush(self) -> None:
        """Return once every write committed before the call is persisted (at once unless the
        log writes behind); raises the persist error if persisting failed."""
        await self._until_persisted(self._head)

    async def _until_persisted(self, revision: int) -> None:
        while True:
            if self._behind_error is not None:
                raise self._behind_error
            if self._persisted >= revision or not self._write_behind:
                return
            if self._persisted_event is None:
                self._persisted_event = asyncio.Event()
            await self._persisted_event.wait()

    def wake_watchers(self) -> None:
        """Wake every watcher waiting for a commit, to re-check its state."""
        self._notify_watchers()

    def _start_background(self, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `task` in the log's task group; closing the log waits for it."""
        if self._task_group is not None:
            self._task_group.start_soon(task)

    def _check_open(self) -> None:
        if self._closing:
            raise StoreClosed()

    # -- writes ----------------------------------------------------------------------------

    async def create(
        self, key: str, value: bytes, *, actor: str = "user", cause: int = 0, time: float = 0.0
    ) -> int:
        if not plain_write(key, value, actor, cause, time):
            check_key(key)
            check_value(key, value)
            check_write_meta(actor, cause, time)
        return await self._submit(CREATE, key, value, None, actor, cause, time)

    async def update(
        self,
        key: str,
        value: bytes,
        *,
        expected: int,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int:
        if not (
            plain_write(key, value, actor, cause, time) and type(expected) is int and expected >= 0
        ):
            check_key(key)
            check_value(key, value)
            check_revision("expected", expected)
            check_write_meta(actor, cause, time)
        return await self._submit(UPDATE, key, value, expected, actor, cause, time)

    async def delete(
        self,
        key: str,
        *,
        expected: int | None = None,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int:
        check_key(key)
        if expected is not None:
            check_revision("expected", expected)
        check_write_meta(actor, cause, time)
        return await self._submit(DELETE, key, None, expected, actor, cause, time)

    async def compact(self, revision: int) -> None:
        check_revision("revision", revision)
        self._check_open()
        if revision > self._head:
            raise FutureRevision(revision, self._head)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._compactions.append((revision, future))
        self._wake_writer()
        await future

    async def _submit(
        self,
        op: int,
        key: str,
        value: bytes | None,
        expected: int | None,
        actor: str,
        cause: int,
        time: float,
    ) -> int:
        if self._closing:
            raise StoreClosed()
        if self._write_behind:
            return await self._submit_behind(
                Write(op, key, value, expected, actor, cause, float(time), None)
            )
        if self._commits_inline and not self._pending and not self._compactions:
            write = Write(op, key, value, expected, actor, cause, float(time), None)
            revision = self._commit_inline(write)
            if revision % _INLINE_YIELD_EVERY == 0:  # let watchers and others run
                await asyncio.sleep(0)
            return revision
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(Write(op, key, value, expected, actor, cause, float(time), future))
        self._wake_writer()
        return await future

    async def _submit_behind(self, write: Write) -> int:
        """Write-behind: commit in the caller's step, queue the persist, bound the backlog."""
        if self._behind_error is not None:
            raise self._behind_error
        index = self._index
        item = accept(
            write, index.live.get(write.key), index.last_revision.get(write.key), self._head + 1
        )
        if not isinstance(item, Accepted):
            raise item
        self._apply((item,))
        self._unpersisted.append(item)
        self._wake_writer()
        revision = item.event.revision
        if len(self._unpersisted) >= _BEHIND_LIMIT:
            await self._until_persisted(revision - _BEHIND_LIMIT // 2)
        elif revision % _INLINE_YIELD_EVERY == 0:
            await asyncio.sleep(0)
        return revision

    async def _persist_behind(self) -> None:
        """Write-behind: persist the oldest committed writes (one batch), in order."""
        batch = self._unpersisted[: self._max_batch]
        del self._unpersisted[: len(batch)]
        try:
            await self._persist(batch, batch[0].event.revision - 1)
        except Exception as exc:
            error = StoreError(
                f"persisting revisions {batch[0].event.revision}..{batch[-1].event.revision} "
                f"failed; writes after revision {self._persisted} are lost: {exc!r}"
            )
            error.__cause__ = exc
            self._behind_error = error
            self._unpersisted.clear()
        else:
            self._persisted = batch[-1].event.revision
            self._after_persist(batch)
        waiters = self._persisted_event
        if waiters is not None:
            self._persisted_event = None
            waiters.set()

    def _commit_inline(self, write: Write) -> int:
        """Validate, number and apply one write at once (backends whose persist is a no-op)."""
        index = self._index
        key = write.key
        item = accept(write, index.live.get(key), index.last_revision.get(key), self._head + 1)
        if not isinstance(item, Accepted):
            raise item
        self._apply((item,))
        return item.event.revision

    def _wake_writer(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # -- the writer task -------------------------------------------------------------------
    #
    # One batch at a time: take the queued writes, validate and number them, persist them,
    # apply, acknowledge. (Two batches in flight measured slower: with every writer waiting on
    # the batch in flight there is nothing to overlap, and batches only got smaller.)
    # A backend persists a batch only if the log's head is still the revision the batch was
    # numbered after, so a batch can never land on top of one that failed.

    async def _writer_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._unpersisted:  # write-behind: the disk catches up before anything else
                    await self._persist_behind()
                elif self._compactions:
                    await self._run_compaction(*self._compactions.pop(0))
                elif self._maintenance_due():
                    await self._maintain()
                elif self._pending:
                    await self._commit(self._take_batch())
                elif self._closing:
                    return
                else:
                    self._wake = loop.create_future()
                    await self._wake
        except BaseException as exc:
            self._closing = True
            error = StoreError(f"the writer task stopped: {exc!r}")
            _fail(self._pending, error)
            if self._unpersisted:  # write-behind: what was not persisted is lost
                self._behind_error = error
                self._unpersisted.clear()
                if self._persisted_event is not None:
                    self._persisted_event.set()
            for _, future in self._compactions:
                if not future.done():
                    future.set_exception(error)
            raise

    def _take_batch(self) -> list[Write]:
        pending = self._pending
        if len(pending) <= self._max_batch:
            self._pending = []
            return pending
        self._pending = pending[self._max_batch :]
        return pending[: self._max_batch]

    async def _commit(self, batch: list[Write]) -> None:
        accepted, outcomes = self._plan(batch)
        if accepted:
            try:
                await self._persist(accepted, self._head)
            except Exception as exc:  # nothing was applied: fail the whole batch
                error = StoreError(f"write failed, nothing was committed: {exc!r}")
                error.__cause__ = exc
                _fail(batch, error)
                return
            self._apply(accepted)
        for write, outcome in zip(batch, outcomes, strict=True):
            future = write.future
            if future is None or future.done():  # the caller was cancelled; the write stands
                continue
            if isinstance(outcome, int):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    def _plan(self, batch: list[Write]) -> tuple[list[Accepted], list[int | StoreError]]:
        """Validate the batch in order (each write sees the batch's earlier ones) and number
        the accepted writes after the head. Changes no state."""
        live = self._index.live
        last_revision = self._index.last_revision
        overlay: dict[str, Accepted] = {}  # each key's newest accepted write in this batch
        accepted: list[Accepted] = []
        outcomes: list[int | StoreError] = []
        revision = self._head
        for write in batch:
            key = write.key
            earlier = overlay.get(key)
            if earlier is not None:
                item = accept(write, earlier.kv, earlier.event.revision, revision + 1)
            else:
                item = accept(write, live.get(key), last_revision.get(key), revision + 1)
            if isinstance(item, Accepted):
                revision += 1
                overlay[key] = item
                accepted.append(item)
                outcomes.append(revision)
            else:
                outcomes.append(item)
        return accepted, outcomes

    def _apply(self, accepted: Sequence[Accepted]) -> None:
        """Make a persisted batch visible: index, window, head, watchers."""
        index = self._index
        events = self._window.events
        for item in accepted:
            event = item.event
            if item.kv is not None:
                index.put(item.kv)
            else:
                index.remove(event.key, event.revision)
            events.append(event)
        self._head = accepted[-1].event.revision
        self._after_apply(accepted)
        self._notify_watchers()

    def _after_apply(self, accepted: Sequence[Accepted]) -> None:
        """Hook for backends, called when a batch became visible (before watchers wake)."""

    def _after_persist(self, accepted: Sequence[Accepted]) -> None:
        """Hook for write-behind backends, called when a committed batch was persisted."""

    def _maintenance_due(self) -> bool:
        """Hook for backends: True when `_maintain` should run once nothing is in flight."""
        return False

    async def _maintain(self) -> None:
        """Hook for backends: work such as checkpoints, run with nothing in flight."""

    def _notify_watchers(self) -> None:
        committed = self._committed
        if committed is not None:
            self._committed = None
            committed.set()

    async def _run_compaction(self, target: int, future: asyncio.Future[int]) -> None:
        """Compact to `target`. The newest event (the head) is always kept, tombstone or not,
        so the log's last row always holds the head revision."""
        outcome: StoreError | None = None
        if target < self._compacted:
            outcome = Compacted(target, self._compacted)
        elif target > self._compacted:
            self._compacting_to = target
            try:
                await self._persist_compaction(target)
            except Exception as exc:
                self._compacting_to = self._compacted
                outcome = StoreError(f"compaction to {target} failed: {exc!r}")
                outcome.__cause__ = exc
            else:
                self._compacted = target
                self._index.forget_tombstones(min(target, self._head - 1))
        if not future.done():
            if outcome is None:
                future.set_result(target)
            else:
                future.set_exception(outcome)

    # -- reads -----------------------------------------------------------------------------

    def _check_read_revision(self, at: int | None) -> int | None:
        """None for a read at the head, else the checked revision."""
        if self._closing:
            raise StoreClosed()
        if at is None:
            return None
        check_revision("at", at)
        if at > self._head:
            raise FutureRevision(at, self._head)
        if at < self._compacted:
            raise Compacted(at, self._compacted)
        return at

    def _check_not_compacted(self, revision: int) -> None:
        """After an awaited history read: fail if a compaction overtook it."""
        floor = max(self._compacted, self._compacting_to)
        if revision < floor:
            raise Compacted(revision, floor)

    async def get(self, key: str, *, at: int | None = None) -> KeyValue | None:
        check_key(key)
        at = self._check_read_revision(at)
        last = self._index.last_revision.get(key)
        if at is None or last is None or last <= at:
            # The head answers: the key's newest event is at or before `at`, or it has none.
            return self._index.live.get(key) if last is not None else None
        await self._until_persisted(at)
        kv = await self._get_at(key, at)
        self._check_not_compacted(at)
        return kv

    async def range(
        self, prefix: str, *, at: int | None = None, limit: int | None = None
    ) -> RangeResult:
        check_prefix(prefix)
        if limit is not None:
            check_revision("limit", limit)
            limit = limit or None  # etcd: a limit of 0 means no limit
        at = self._check_read_revision(at)
        if at is None or at == self._head:
            return RangeResult(self._index.range(prefix, limit), self._head)
        await self._until_persisted(at)
        items = await self._range_at(prefix, at, limit)
        self._check_not_compacted(at)
        return RangeResult(items, at)

    def watch(self, prefix: str, *, after: int) -> LogWatch:
        check_prefix(prefix)
        check_revision("after", after)
        self._check_open()
        if after < self._compacted:
            raise Compacted(after, self._compacted)
        return LogWatch(self, prefix, after)

    def events(
        self, *, after: int = 0, until: int | None = None, prefix: str = ""
    ) -> AsyncIterator[Event]:
        check_prefix(prefix)
        check_revision("after", after)
        self._check_open()
        head = self._head
        if until is None:
            until = head
        else:
            check_revision("until", until)
            if until > head:
                raise FutureRevision(until, head)
        if after > head:
            raise FutureRevision(after, head)
        if after < self._compacted:
            raise Compacted(after, self._compacted)
        return self._iter_events(after, until, prefix)

    async def _iter_events(self, after: int, until: int, prefix: str) -> AsyncIterator[Event]:
        position = after
        while position < until:
            events, position = await self.read_events(prefix, position, until)
            for event in events:
                yield event

    async def read_events(self, prefix: str, after: int, until: int) -> tuple[list[Event], int]:
        """Events in (after, until] matching `prefix`, from the window when it reaches back
        far enough, else a chunk of history. Returns them and the revision scanned up to."""
        window = self._window
        if after + 1 >= window.base:
            events = window.events
            start = after + 1 - window.base
            stop = min(until + 1 - window.base, start + _READ_CHUNK)
            chunk = events[start:stop]
            if prefix:
                chunk = [e for e in chunk if e.key.startswith(prefix)]
            return chunk, min(stop, len(events)) + window.base - 1
        self._check_not_compacted(after)
        await self._until_persisted(min(until, window.base - 1))
        events, scanned = await self._history(prefix, after, min(until, window.base - 1))
        self._check_not_compacted(after)
        return events, scanned

    # -- backend hooks ---------------------------------------------------------------------

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        """Durably append the batch, whose first revision is `after + 1`, only if the log's
        head is still `after`; raise if anything was not written."""
        raise NotImplementedError

    async def _persist_compaction(self, revision: int) -> None:
        raise NotImplementedError

    async def _history(self, prefix: str, after: int, until: int) -> tuple[list[Event], int]:
        """A chunk of events in (after, until] with `prefix`, and the revision scanned to."""
        raise NotImplementedError

    async def _get_at(self, key: str, at: int) -> KeyValue | None:
        raise NotImplementedError

    async def _range_at(self, prefix: str, at: int, limit: int | None) -> list[KeyValue]:
        raise NotImplementedError

    async def _close_backend(self) -> None:
        """Release backend resources after the writer stopped."""
