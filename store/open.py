"""`open_log(url)`: the one place that turns a store URL into a backend.

- `memory://` — the memory backend.
- `sqlite:///abs/path.db`, `sqlite://relative/path.db` — the SQLite backend; the query
  `?synchronous=NORMAL|FULL` picks SQLite's durability level (NORMAL by default: in WAL mode a
  commit survives a killed process; FULL also survives power loss), and
  `?durability=ack|deferred` when a write is acknowledged: `ack` (default) once it is
  persisted; `deferred` at once, persisted behind, durable after the next `flush()` (see
  `store.base`; what the control plane uses, with a flush before it answers the user).
- `sqlite:///abs/path.db?mode=ro` — an existing SQLite log, read-only (`mode=rw`, the default,
  opens it for writing, creating it when missing). Nothing is written to the file: no schema
  is created (a missing file, or one that is not a cpemu log, raises `InvalidArgument` naming
  the path), no pragma changes, no state or WAL checkpoint, not even on close; every write
  (`create`, `update`, `delete`, `compact`) raises `InvalidArgument` and changes nothing.
  Reads (`get`, `range`, `events`, `watch` of history) see the committed prefix at open, a
  consistent snapshot, and it opens while another process writes to the same file (WAL:
  readers never block the writer); writes committed after the open are not seen. It takes
  no `synchronous` or `durability` option (they are about writes). For read-only commands
  such as `cpemu get`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from store.base import LogBase
from store.errors import InvalidArgument
from store.memory import MemoryLog
from store.sqlite import SYNCHRONOUS_LEVELS, ReadOnlySqliteLog, SqliteLog
from store.types import EventLog

__all__ = ["DURABILITY_MODES", "OPEN_MODES", "open_log"]

#: The `?durability=` values of a sqlite:// URL.
DURABILITY_MODES = ("ack", "deferred")
#: The `?mode=` values of a sqlite:// URL: read-write (the default) or read-only.
OPEN_MODES = ("rw", "ro")


@asynccontextmanager
async def open_log(url: str) -> AsyncIterator[EventLog]:
    """Open the event log at `url`; close it (finishing queued writes) on exit."""
    log = _backend_for(url)
    async with log:
        yield log


def _backend_for(url: object) -> LogBase:
    if not isinstance(url, str):
        raise InvalidArgument(f"store URL must be str, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise InvalidArgument(f"bad store URL {url!r}: expected memory:// or sqlite://PATH")
    path, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
    if scheme == "memory":
        if options:  # a name after memory:// is allowed and means nothing
            raise InvalidArgument(f"bad store URL {url!r}: memory:// takes no options")
        return MemoryLog()
    if scheme == "sqlite":
        if not path:
            raise InvalidArgument(f"bad store URL {url!r}: sqlite:// needs a file path")
        mode = options.pop("mode", "rw").lower()
        if mode not in OPEN_MODES:
            raise InvalidArgument(
                f"bad store URL {url!r}: mode must be one of {', '.join(OPEN_MODES)}, not {mode!r}"
            )
        if mode == "ro":
            if options:
                raise InvalidArgument(
                    f"bad store URL {url!r}: mode=ro takes no other option "
                    f"({next(iter(options))!r})"
                )
            return ReadOnlySqliteLog(path)
        synchronous = options.pop("synchronous", "NORMAL").upper()
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise InvalidArgument(
                f"bad store URL {url!r}: synchronous must be one of "
                f"{', '.join(SYNCHRONOUS_LEVELS)}, not {synchronous!r}"
            )
        durability = options.pop("durability", "ack").lower()
        if durability not in DURABILITY_MODES:
            raise InvalidArgument(
                f"bad store URL {url!r}: durability must be one of "
                f"{', '.join(DURABILITY_MODES)}, not {durability!r}"
            )
        if options:
            raise InvalidArgument(f"bad store URL {url!r}: unknown option {next(iter(options))!r}")
        return SqliteLog(path, synchronous=synchronous, write_behind=durability == "deferred")
    raise InvalidArgument(f"bad store URL {url!r}: unknown scheme {scheme!r} (memory, sqlite)")
