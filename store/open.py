"""`open_log(url)`: the one place that turns a store URL into a backend.

- `memory://` — the memory backend.
- `sqlite:///abs/path.db`, `sqlite://relative/path.db` — the SQLite backend; the query
  `?synchronous=NORMAL|FULL` picks SQLite's durability level (NORMAL by default: in WAL mode a
  commit survives a killed process; FULL also survives power loss), and
  `?durability=ack|deferred` when a write is acknowledged: `ack` (default) once it is
  persisted; `deferred` at once, persisted behind, durable after the next `flush()` (see
  `store.base`; what the control plane uses, with a flush before it answers the user).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from store.base import LogBase
from store.errors import InvalidArgument
from store.memory import MemoryLog
from store.sqlite import SYNCHRONOUS_LEVELS, SqliteLog
from store.types import EventLog

__all__ = ["DURABILITY_MODES", "open_log"]

#: The `?durability=` values of a sqlite:// URL.
DURABILITY_MODES = ("ack", "deferred")


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
