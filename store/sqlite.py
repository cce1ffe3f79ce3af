"""The SQLite backend: the durable, embedded default (aiosqlite, WAL).

Tables (schema 1)::

    meta(name PRIMARY KEY, value)  -- format='cpemu-log', schema=1, compacted, state_rev
    log(rev INTEGER PRIMARY KEY, key, value, prev_rev, create_rev, version, actor, cause, time)
    state(key PRIMARY KEY, rev)    -- each key's newest row, as of meta.state_rev

- `log` is the event log itself, one row per revision. A DELETE row has `value` NULL; `prev_rev`
  is the row of the key's previous event, so an event's `prev_value` is one primary-key join
  away and never stored twice.
- Only rows are appended; each batch of the writer task is one transaction. A transaction is
  atomic, so a killed process leaves every acknowledged write and no part of any other.
- `state` is a checkpoint of the latest-state index, rewritten for the keys changed since the
  last one every `checkpoint_every` revisions, after a compaction and on close. Reopening reads
  `state` (one row per key) plus the rows after `state_rev`, so its cost grows with the number
  of keys and not with the number of historic versions.
- Compaction deletes the rows superseded at or before the compacted revision, found through
  the `prev_rev` of the newer rows, and tombstones; the newest row of every key stays.
- Writes go through one connection (the writer task's); history reads use a second one, which
  in WAL mode sees only committed transactions and never blocks the writer.

`ReadOnlySqliteLog` (`sqlite:///path.db?mode=ro`) opens an existing log through one read-only
connection (`file:...?mode=ro`, `query_only`): no schema, no pragma that changes the file, no
checkpoint of either kind, and every write raises `InvalidArgument`. It loads no index: opening
reads the head revision (its snapshot), and every read is a query at that revision or below,
so it can be opened while another process writes to the file and sees the committed prefix at
open; a read fails with `Compacted` if the writer compacted what it asks for in the meantime.
SQLite itself may create the empty `-wal` and `-shm` side files a WAL database is read through
(its shared-memory index); the database file is never written.

Reads at a revision (`_walk_back`) start from each key's newest row (its `state` row or a
later one) and follow `prev_rev` back to the revision: the cost is the rows written after it,
not the log's length; a read far back scans the rows up to it instead.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Final, NoReturn, Self
from urllib.parse import quote

import aiosqlite

from store.base import DEFAULT_WINDOW, Accepted, LogBase
from store.errors import InvalidArgument, StoreError
from store.types import Event, KeyValue, RangeResult
from store.validate import check_key, check_prefix, check_revision

__all__ = ["SYNCHRONOUS_LEVELS", "ReadOnlySqliteLog", "SqliteLog"]

SYNCHRONOUS_LEVELS: Final = ("NORMAL", "FULL")
_FORMAT: Final = "cpemu-log"
_SCHEMA: Final = 1
_HISTORY_CHUNK: Final = 4096
#: Run a WAL checkpoint after about this much was written (SQLite's default is 1000 pages).
_WAL_CHECKPOINT_BYTES: Final = 4 << 20
_ROW_BYTES: Final = 96  # a rough size of a row without its value
#: A WAL this long (in pages, 64 MiB at 4 KiB) is truncated by the writer between batches.
_WAL_TRUNCATE_FRAMES: Final = 16_384
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"

_CREATE_SCHEMA: Final = (
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "CREATE TABLE log(rev INTEGER PRIMARY KEY, key TEXT NOT NULL, value BLOB,"
    " prev_rev INTEGER, create_rev INTEGER, version INTEGER,"
    " actor TEXT NOT NULL, cause INTEGER NOT NULL, time REAL NOT NULL)",
    "CREATE TABLE state(key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID",
)
_LOG_COLUMNS: Final = 9
_ROW_PLACEHOLDERS: Final = "(?,?,?,?,?,?,?,?,?)"
#: Rows per multi-row INSERT (one statement is one atomic transaction in autocommit mode).
_MAX_BATCH: Final = (32766 - 1) // _LOG_COLUMNS  # SQLite's smallest default variable limit
#: The head and compacted revisions, read together (one statement: one snapshot).
_SNAPSHOT: Final = (
    "SELECT max(coalesce((SELECT max(rev) FROM log), 0),"
    " (SELECT value FROM meta WHERE name = 'state_rev')),"
    " (SELECT value FROM meta WHERE name = 'compacted')"
)
_EVENT_COLUMNS: Final = (
    "SELECT l.rev, l.key, l.value, p.value, l.actor, l.cause, l.time"
    " FROM log l LEFT JOIN log p ON p.rev = l.prev_rev"
)


class SqliteLog(LogBase):
    """An event log in one SQLite file. Open it with `store.open_log("sqlite:///path.db")`."""

    _max_batch = _MAX_BATCH

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "NORMAL",
        window: int = DEFAULT_WINDOW,
        checkpoint_every: int = 50_000,
        write_behind: bool = False,
    ) -> None:
        super().__init__(head=0, compacted=0, window=window)
        self._write_behind = write_behind
        self._path = path
        self._synchronous = synchronous
        self._checkpoint_every = checkpoint_every
        self._state_revision = 0
        self._dirty: dict[str, int] = {}  # key -> newest row, changed since the checkpoint
        self._forgotten: list[str] = []  # keys compaction removed, still in `state`
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._insert_statements: dict[int, str] = {}
        self._wal_bytes = 0  # roughly what was appended to the WAL since its last checkpoint
        self._wal_checkpointing = False
        self._wal_truncate_due = False

    # -- opening ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            await self._open()
        except BaseException:
            await self._close_connections()
            raise
        return await super().__aenter__()

    async def _open(self) -> None:
        path = self._path
        _check_sqlite_header(path)
        try:
            writer = self._writer = await aiosqlite.connect(
                path, isolation_level=None, cached_statements=_MAX_BATCH + 64
            )
            await self._ensure_schema(writer)
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute(f"PRAGMA synchronous = {self._synchronous}")
            # No checkpoint inside a commit (it stalled commits for 10-40 ms); the reader
            # connection runs passive ones in the background instead (`_checkpoint_wal`).
            await writer.execute("PRAGMA wal_autocheckpoint = 0")
            reader = self._reader = await aiosqlite.connect(path)
            await reader.execute("PRAGMA query_only = 1")
            await self._load(reader)
        except sqlite3.DatabaseError as exc:
            raise InvalidArgument(f"{path}: cannot open as a cpemu log: {exc}") from exc

    async def _ensure_schema(self, writer: aiosqlite.Connection) -> None:
        """Create the schema in an empty database, or check an existing one is a cpemu log;
        one transaction, so a killed or concurrent opener never leaves half a schema."""
        await writer.execute("BEGIN IMMEDIATE")
        try:
            objects = await writer.execute_fetchall("SELECT type, name FROM sqlite_master")
            if not objects:
                for statement in _CREATE_SCHEMA:
                    await writer.execute(statement)
                await writer.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", _FORMAT), ("schema", _SCHEMA), ("compacted", 0), ("state_rev", 0)],
                )
            else:
                await self._check_schema(writer, _tables(objects))
        except BaseException:
            await _rollback(writer)
            raise
        await writer.execute("COMMIT")

    async def _check_schema(self, connection: aiosqlite.Connection, tables: set[str]) -> None:
        """Refuse a database that is not a cpemu log of this schema."""
        meta: dict[str, object] = {}
        if "meta" in tables:
            rows = await connection.execute_fetchall("SELECT name, value FROM meta")
            meta = {str(name): value for name, value in rows}
        if meta.get("format") != _FORMAT or not {"log", "state"} <= tables:
            raise InvalidArgument(f"{self._path}: a SQLite database, but not a cpemu log")
        if meta.get("schema") != _SCHEMA:
            raise InvalidArgument(
                f"{self._path}: cpemu log schema {meta.get('schema')!r}, this build reads {_SCHEMA}"
            )

    async def _load(self, reader: aiosqlite.Connection) -> None:
        """Rebuild the latest-state index: the checkpoint, then every row after it, read in
        one transaction (a consistent snapshot even while another process writes)."""
        await reader.execute("BEGIN")
        try:
            await self._load_snapshot(reader)
        finally:
            await reader.execute("COMMIT")

    async def _load_snapshot(self, reader: aiosqlite.Connection) -> None:
        rows = await reader.execute_fetchall("SELECT name, value FROM meta")
        meta: dict[str, int] = {str(name): value for name, value in rows}
        compacted = int(meta["compacted"])
        state_revision = int(meta["state_rev"])
        index = self._index
        checkpoint = await reader.execute_fetchall(
            "SELECT l.key, l.rev, l.value, l.create_rev, l.version"
            " FROM state s JOIN log l ON l.rev = s.rev"
        )
        tail = await reader.execute_fetchall(
            "SELECT key, rev, value, create_rev, version FROM log WHERE rev > ? ORDER BY rev",
            (state_revision,),
        )
        for key, rev, value, create_rev, version in (*checkpoint, *tail):
            if value is not None:
                index.put(KeyValue(key, value, create_rev, rev, version))
            elif key in index.live:
                index.remove(key, rev)
            else:
                index.last_revision[key] = rev
        ((max_revision,),) = await reader.execute_fetchall("SELECT max(rev) FROM log")
        head = max(max_revision or 0, compacted, state_revision)
        self._head = head
        self._compacted = self._compacting_to = compacted
        self._state_revision = state_revision
        self._window.base = head + 1
        self._dirty = {key: index.last_revision[key] for key, *_ in tail}

    # -- writing ---------------------------------------------------------------------------

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        """One INSERT statement: atomic on its own (autocommit), one hop to the connection's
        thread, and conditional on the log's last row still being `after`, so it never lands
        on top of a failed batch or of another process's writes."""
        params: list[object] = []
        extend = params.extend
        for item in accepted:
            e = item.event
            kv = item.kv
            if kv is None:
                extend(
                    (
                        e.revision,
                        e.key,
                        None,
                        item.prev_revision,
                        None,
                        None,
                        e.actor,
                        e.cause,
                        e.time,
                    )
                )
            else:
                extend(
                    (
                        e.revision,
                        e.key,
                        kv.value,
                        item.prev_revision,
                        kv.create_revision,
                        kv.version,
                        e.actor,
                        e.cause,
                        e.time,
                    )
                )
        params.append(after)
        cursor = await self._connection().execute(self._insert_statement(len(accepted)), params)
        if cursor.rowcount != len(accepted):
            raise StoreError(
                f"the log's last revision is not {after}: another process writes to {self._path}?"
            )

    def _insert_statement(self, rows: int) -> str:
        statement = self._insert_statements.get(rows)
        if statement is None:
            statement = (
                "INSERT INTO log SELECT * FROM (VALUES "
                + ",".join([_ROW_PLACEHOLDERS] * rows)
                + ") WHERE coalesce((SELECT max(rev) FROM log), 0) = ?"
            )
            self._insert_statements[rows] = statement
        return statement

    def _after_apply(self, accepted: Sequence[Accepted]) -> None:
        if not self._write_behind:
            self._account(accepted)
        window = self._window
        if len(window.events) >= 2 * self._window_size:
            window.trim_below(self._head + 1 - self._window_size)

    def _after_persist(self, accepted: Sequence[Accepted]) -> None:
        self._account(accepted)

    def _account(self, accepted: Sequence[Accepted]) -> None:
        """Note persisted rows: keys for the next state checkpoint, WAL growth."""
        dirty = self._dirty
        wal_bytes = self._wal_bytes
        for item in accepted:
            dirty[item.event.key] = item.event.revision
            wal_bytes += _ROW_BYTES if item.kv is None else _ROW_BYTES + len(item.kv.value)
        self._wal_bytes = wal_bytes
        if wal_bytes >= _WAL_CHECKPOINT_BYTES and not self._wal_checkpointing:
            self._wal_checkpointing = True
            self._start_background(self._checkpoint_wal)

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database without blocking the writer (PASSIVE). Under
        constant writes the WAL never gets back to empty that way, so once it is long the
        writer truncates it between two batches (`_maintain`)."""
        try:
            rows = await self._reading().execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            ((_, wal_frames, _),) = rows
            if wal_frames >= _WAL_TRUNCATE_FRAMES:
                self._wal_truncate_due = True
        finally:
            self._wal_bytes = 0
            self._wal_checkpointing = False

    def _maintenance_due(self) -> bool:
        return (
            self._wal_truncate_due
            or bool(self._forgotten)
            or self._head - self._state_revision >= self._checkpoint_every
        )

    async def _maintain(self) -> None:
        if self._wal_truncate_due:
            self._wal_truncate_due = False
            await self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._checkpoint()

    async def _checkpoint(self) -> None:
        """Write the keys changed since the last checkpoint into `state`, in one transaction."""
        if self._state_revision == self._head and not self._forgotten:
            return
        writer = self._connection()
        # Write-behind: the writer task checkpoints only with nothing left to persist, so the
        # persisted revision is the head the `dirty` rows describe (memory may be ahead now).
        head = self._persisted if self._write_behind else self._head
        dirty, forgotten = self._dirty, self._forgotten
        try:
            await writer.execute("BEGIN IMMEDIATE")
            await writer.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", dirty.items())
            await writer.executemany("DELETE FROM state WHERE key = ?", [(k,) for k in forgotten])
            await writer.execute("UPDATE meta SET value = ? WHERE name = 'state_rev'", (head,))
            await writer.execute("COMMIT")
        except BaseException:
            await _rollback(writer)
            raise
        self._dirty, self._forgotten, self._state_revision = {}, [], head

    async def _persist_compaction(self, revision: int) -> None:
        writer = self._connection()
        span = (self._compacted, revision)
        try:
            await writer.execute("BEGIN IMMEDIATE")
            await writer.execute(
                "DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log"
                " WHERE rev > ? AND rev <= ? AND prev_rev IS NOT NULL)",
                span,
            )
            await writer.execute(  # tombstones, but never the head row (see LogBase)
                "DELETE FROM log WHERE rev > ? AND rev <= ? AND value IS NULL AND rev < ?",
                (*span, self._head),
            )
            await writer.execute("UPDATE meta SET value = ? WHERE name = 'compacted'", (revision,))
            await writer.execute("COMMIT")
        except BaseException:
            await _rollback(writer)
            raise
        live = self._index.live
        forget_up_to = min(revision, self._head - 1)
        for key, last in self._index.last_revision.items():
            if last <= forget_up_to and key not in live:
                self._dirty.pop(key, None)
                self._forgotten.append(key)

    # -- reading history -------------------------------------------------------------------

    async def _history(self, prefix: str, after: int, until: int) -> tuple[list[Event], int]:
        where, params = _key_filter("l.key", prefix)
        rows = await self._reading().execute_fetchall(
            f"{_EVENT_COLUMNS} WHERE l.rev > ? AND l.rev <= ?{where} ORDER BY l.rev LIMIT ?",
            (after, until, *params, _HISTORY_CHUNK),
        )
        events = [
            Event(
                rev, "PUT" if value is not None else "DELETE", key, value, prev, actor, cause, time
            )
            for rev, key, value, prev, actor, cause, time in rows
        ]
        scanned = events[-1].revision if len(events) == _HISTORY_CHUNK else until
        return events, scanned

    async def _get_at(self, key: str, at: int) -> KeyValue | None:
        rows = await self._reading().execute_fetchall(
            _walk_back(" AND key = :key"), {"key": key, "at": at}
        )
        return next((KeyValue(*row) for row in rows), None)

    async def _range_at(self, prefix: str, at: int, limit: int | None) -> list[KeyValue]:
        """Live keys at `at`: near the head, each key's newest row walked back along
        `prev_rev` (cost: the rows written after `at`); far back, one scan of the rows up to
        `at` (cost: those rows; there is no index on `key`)."""
        if 3 * at < self._head:
            where, params = _key_filter("key", prefix)
            # SQLite takes the bare columns from the row holding max(rev) of each group.
            rows = await self._reading().execute_fetchall(
                "SELECT key, value, create_rev, max(rev), version FROM log"
                f" WHERE rev <= ?{where} GROUP BY key ORDER BY key",
                (at, *params),
            )
            items = [KeyValue(*row) for row in rows if row[1] is not None]
        else:
            where, named = _key_range(prefix)
            rows = await self._reading().execute_fetchall(_walk_back(where), {**named, "at": at})
            items = [KeyValue(*row) for row in sorted(rows, key=itemgetter(0))]
        return items if limit is None else items[:limit]

    # -- closing ---------------------------------------------------------------------------

    async def _close_backend(self) -> None:
        try:
            if self._writer is not None:
                await self._checkpoint()
        finally:
            await self._close_connections()

    async def _close_connections(self) -> None:
        for connection in (self._reader, self._writer):
            if connection is not None:
                await connection.close()
        self._reader = self._writer = None

    def _connection(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StoreError("the SQLite connection is closed")
        return self._writer

    def _reading(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StoreError("the SQLite connection is closed")
        return self._reader


class ReadOnlySqliteLog(SqliteLog):
    """An existing log, read-only: `store.open_log("sqlite:///path.db?mode=ro")`.

    Writes nothing to the database file (see the module doc): a missing file, or one that is
    not a cpemu log, raises `InvalidArgument`; `create`/`update`/`delete`/`compact` raise
    `InvalidArgument` and change nothing; reads see the committed prefix at open.
    """

    def __init__(self, path: str, *, window: int = DEFAULT_WINDOW) -> None:
        super().__init__(path, window=window)

    async def _open(self) -> None:
        path = self._path
        _require_file(path)
        _check_sqlite_header(path)
        try:
            reader = self._reader = await aiosqlite.connect(f"file:{quote(path)}?mode=ro", uri=True)
            await reader.execute("PRAGMA query_only = 1")
            objects = await reader.execute_fetchall("SELECT type, name FROM sqlite_master")
            await self._check_schema(reader, _tables(objects))
            rows = await reader.execute_fetchall(_SNAPSHOT)
        except sqlite3.DatabaseError as exc:
            raise InvalidArgument(f"{path}: cannot open as a cpemu log: {exc}") from exc
        ((head, compacted),) = rows
        self._head = head = max(int(head or 0), int(compacted))
        self._compacted = self._compacting_to = int(compacted)
        self._window.base = head + 1

    # No index in memory (a command reading one kind would pay for loading them all): every
    # read is a query at a revision, the snapshot's head by default (see `_walk_back`).

    async def get(self, key: str, *, at: int | None = None) -> KeyValue | None:
        check_key(key)
        revision = self._check_read_revision(at)
        revision = self._head if revision is None else revision
        kv = await self._get_at(key, revision)
        self._check_not_compacted(revision)
        return kv

    async def range(
        self, prefix: str, *, at: int | None = None, limit: int | None = None
    ) -> RangeResult:
        check_prefix(prefix)
        if limit is not None:
            check_revision("limit", limit)
            limit = limit or None  # etcd: a limit of 0 means no limit
        revision = self._check_read_revision(at)
        revision = self._head if revision is None else revision
        items = await self._range_at(prefix, revision, limit)
        self._check_not_compacted(revision)
        return RangeResult(items, revision)

    def _refuse(self) -> NoReturn:
        raise InvalidArgument(f"{self._path}: cannot write: the log is opened read-only")

    async def create(
        self, key: str, value: bytes, *, actor: str = "user", cause: int = 0, time: float = 0.0
    ) -> int:
        self._refuse()

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
        self._refuse()

    async def delete(
        self,
        key: str,
        *,
        expected: int | None = None,
        actor: str = "user",
        cause: int = 0,
        time: float = 0.0,
    ) -> int:
        self._refuse()

    async def compact(self, revision: int) -> None:
        self._refuse()

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        self._refuse()  # pragma: no cover (no write gets this far)

    async def _persist_compaction(self, revision: int) -> None:
        self._refuse()  # pragma: no cover

    def _maintenance_due(self) -> bool:
        return False  # no state checkpoint, no WAL checkpoint

    async def _close_backend(self) -> None:
        await self._close_connections()  # and nothing written on the way out

    # History reads query the file as it is now, which may have moved on since the snapshot:
    # rows up to the snapshot's head are the same unless another process compacted them, so
    # each read then looks at `compacted` (after the rows: a compaction committed before or
    # while they were read is seen) and the base class's check raises `Compacted`.

    async def _history(self, prefix: str, after: int, until: int) -> tuple[list[Event], int]:
        result = await super()._history(prefix, after, until)
        await self._note_compaction()
        return result

    async def _get_at(self, key: str, at: int) -> KeyValue | None:
        kv = await super()._get_at(key, at)
        await self._note_compaction()
        return kv

    async def _range_at(self, prefix: str, at: int, limit: int | None) -> list[KeyValue]:
        items = await super()._range_at(prefix, at, limit)
        await self._note_compaction()
        return items

    async def _note_compaction(self) -> None:
        rows = await self._reading().execute_fetchall(
            "SELECT value FROM meta WHERE name = 'compacted'"
        )
        for (compacted,) in rows:
            self._compacted = max(self._compacted, int(compacted))


def _tables(objects: Iterable[sqlite3.Row]) -> set[str]:
    """The table names among the rows of `SELECT type, name FROM sqlite_master`."""
    return {str(name) for kind, name in objects if kind == "table"}


def _require_file(path: str) -> None:
    if not os.path.exists(path):
        raise InvalidArgument(f"{path}: no such file, so no cpemu log to open read-only")


def _check_sqlite_header(path: str) -> None:
    """Refuse, without touching it, a file that exists but is not a SQLite database."""
    try:
        with open(path, "rb") as file:
            header = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InvalidArgument(f"{path}: cannot read: {exc.strerror}") from exc
    if header and header != _SQLITE_MAGIC:
        raise InvalidArgument(f"{path}: not a SQLite database, so not a cpemu log")


def _key_filter(column: str, prefix: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE fragment selecting keys that start with `prefix` through an index-friendly
    range (SQLite compares TEXT by UTF-8 bytes, which orders as Python orders `str`)."""
    if not prefix:
        return "", ()
    end = _prefix_end(prefix)
    if end is None:
        return f" AND {column} >= ?", (prefix,)
    return f" AND {column} >= ? AND {column} < ?", (prefix, end)


def _key_range(prefix: str) -> tuple[str, dict[str, str]]:
    """`_key_filter` on the column `key` with named parameters (`:lo`, `:hi`)."""
    if not prefix:
        return "", {}
    end = _prefix_end(prefix)
    if end is None:
        return " AND key >= :lo", {"lo": prefix}
    return " AND key >= :lo AND key < :hi", {"lo": prefix, "hi": end}


def _walk_back(where: str) -> str:
    """The live version at revision `:at` of each key `where` selects (a fragment on `key`),
    as `KeyValue` columns, in no order.

    Each key's newest row is the newer of its `state` checkpoint row and its rows after the
    checkpoint (the tail); from there the walk follows `prev_rev` (primary-key lookups)
    until a row at or before `:at`, which is the answer unless it is a DELETE. A row whose
    incarnation was created after `:at` (`create_rev > :at`) skips the rest of it: the walk
    goes on from its create row's `prev_rev` (the previous incarnation's DELETE). A key
    with no row at or before `:at` runs out of `prev_rev` (NULL) and is left out. One
    statement, so one snapshot, whatever a writer commits meanwhile; a row compaction
    deleted breaks its walk, which callers report as `Compacted` when `:at` is below the
    compacted revision (rows at or above it that a walk visits are never compacted).

    Example: pod `p` written at 10 (create), 40 (update), 90 (delete), 95 (create again),
    checkpoint at 60 (state: 40), read at 50: newest = 95 (tail); 95 was created after 50,
    so on from the create's prev_rev 90 (a DELETE, create_rev NULL) -> prev_rev 40 <= 50:
    the version of 40. Read at 5: ... 40, whose incarnation was created at 10 > 5 -> the
    create's prev_rev, NULL: no version at 5.
    """
    return (
        "WITH RECURSIVE newest(rev) AS ("
        f"SELECT max(rev) FROM (SELECT key, rev FROM state WHERE 1{where}"
        " UNION ALL SELECT key, rev FROM log"
        f" WHERE rev > (SELECT value FROM meta WHERE name = 'state_rev'){where})"
        " GROUP BY key),"
        " walk(rev) AS (SELECT rev FROM newest UNION ALL"
        " SELECT CASE WHEN l.create_rev > :at"
        " THEN (SELECT c.prev_rev FROM log c WHERE c.rev = l.create_rev) ELSE l.prev_rev END"
        " FROM walk w JOIN log l ON l.rev = w.rev WHERE w.rev > :at)"
        " SELECT l.key, l.value, l.create_rev, l.rev, l.version FROM walk w"
        " JOIN log l ON l.rev = w.rev WHERE w.rev <= :at AND l.value IS NOT NULL"
    )


def _prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`, if any."""
    chars = list(prefix)
    while chars:
        last = ord(chars[-1])
        if last < 0x10FFFF:
            bump = last + 1
            if 0xD800 <= bump <= 0xDFFF:  # surrogates cannot be encoded; skip them
                bump = 0xE000
            chars[-1] = chr(bump)
            return "".join(chars)
        chars.pop()
    return None


async def _rollback(connection: aiosqlite.Connection) -> None:
    """End a failed explicit transaction, if one is open."""
    try:
        if connection.in_transaction:
            await connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass
