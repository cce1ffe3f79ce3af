"""The state file of the `cpemu` command: its path, its lock, and how a verb opens it.

    with StateFile("./.cpemu/state.db") as state:
        state.acquire(create=True)                       # mutating verbs: `<path>.lock`
        async with state.reader(at=None) as view: ...    # read-only verbs: no lock, no write

The mutating verbs' plane is opened by the runner (`cp.cli.runner.Run.mutate`), which also
records the command in the log.

One `cpemu` process at a time changes a state file: `flock` on `<path>.lock`, non-blocking; a
second writer fails at once with `StateInUse` (the store also refuses a second writer, but
the lock says so before anything is opened). Read-only verbs take no lock: they open the log
read-only (`?mode=ro`: nothing is written to the file, not even a checkpoint) and see what was
committed when they opened it, even while a writer runs; an `ApiServer` over it, with no
controllers, no informers and no nodes registered. A state file that does not exist reads as
an empty cluster (nothing is created).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

import store
from cp.apiserver import ApiServer
from cp.clock import VIRTUAL_EPOCH

__all__ = ["DEFAULT_STATE", "ReadView", "StateFile", "StateInUse"]

#: Where the state lives unless `--state` says otherwise.
DEFAULT_STATE: Final = "./.cpemu/state.db"


class StateInUse(Exception):
    """Another `cpemu` process holds the state file's lock."""


@dataclass(frozen=True, slots=True)
class ReadView:
    """A read-only look at the state: the API server, the revision to read at (`at`, None for
    the head: pass it to `server.get/list(..., at=view.at)`) and the virtual time of that
    revision's event (`now`, what AGE is measured from)."""

    server: ApiServer
    now: float
    at: int | None = None


def _no_ids() -> str:
    raise RuntimeError("a read-only view creates nothing")  # pragma: no cover


async def last_event_time(log: store.EventLog, at: int | None = None) -> float:
    """The `time` of the event at revision `at` (default: the log's last event, where the
    virtual clock resumes), or the epoch."""
    head = log.revision if at is None else min(at, log.revision)
    if head <= 0:
        return VIRTUAL_EPOCH
    try:
        async for event in log.events(after=head - 1, until=head):
            return max(VIRTUAL_EPOCH, event.time)
    except store.Compacted:
        pass
    return VIRTUAL_EPOCH


class StateFile:
    """The state file at `path` (made absolute); a context manager holding its lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._lock: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"sqlite://{self.path}"  # the path is absolute: sqlite:///abs/path.db

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.exists()

    def acquire(self, *, create: bool) -> None:
        """Take the lock; with `create`, make the parent folder first. Without `create` and
        with no parent folder there is nothing to lock (and nothing to read)."""
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.parent.is_dir():
            return
        handle = open(self.lock_path, "ab")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateInUse(
                f"the state file {self.path} is in use by another cpemu process"
            ) from None
        except BaseException:
            handle.close()
            raise
        self._lock = handle

    def busy(self) -> bool:
        """Whether another process holds the lock now (a command is running on the file)."""
        if self._lock is not None or not self.lock_path.exists():
            return False
        with open(self.lock_path, "ab") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @asynccontextmanager
    async def reader(self, at: int | None = None) -> AsyncIterator[ReadView]:
        """A read-only view at revision `at` (the head when None); an empty one (memory) when
        the file does not exist."""
        url = f"{self.url}?mode=ro" if self.exists() else "memory://"
        async with store.open_log(url) as log:
            if at is not None and at > log.revision:
                raise store.FutureRevision(at, log.revision)
            now = await last_event_time(log, at)
            server = ApiServer(log, clock_now=lambda: now, ids=_no_ids)
            yield ReadView(server, now, at)
