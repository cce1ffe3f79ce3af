"""Model-based test: each backend against a trivial list-of-events model (hypothesis stateful).

The model is the list of events the log should hold; every state, range, error and watch
stream is derived from it by replay. Each machine runs its log on its own event loop through
an anyio blocking portal, since hypothesis drives the rules synchronously.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import store
from store import (
    Compacted,
    Event,
    EventLog,
    FutureRevision,
    InvalidArgument,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionMismatch,
    StoreClosed,
    Watch,
)
from tests.store import HANG_GUARD

KEYS = st.sampled_from(["/a/1", "/a/2", "/b/1", "/b/2"])
PREFIXES = st.sampled_from(["", "/a/", "/b/", "/a/1", "/b/2", "/c/"])
VALUES = st.sampled_from([b"", b"x", b"yy", b"\x00\xff", b"zzz"])
ACTORS = st.sampled_from(["user", "controller/deployment", "kubelet/node-1"])
CAUSES = st.integers(min_value=0, max_value=40)
TIMES = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


def replay(events: list[Event], at: int) -> dict[str, KeyValue]:
    """The live keys after applying the first `at` events."""
    state: dict[str, KeyValue] = {}
    for ev in events[:at]:
        old = state.pop(ev.key, None)
        if ev.type == "PUT":
            assert ev.value is not None
            created, version = (old.create_revision, old.version + 1) if old else (ev.revision, 1)
            state[ev.key] = KeyValue(ev.key, ev.value, created, ev.revision, version)
    return state


@dataclass
class OpenWatch:
    watch: Watch
    prefix: str
    delivered: int  # `after`, then the revision of the last event it yielded
    checked_to: int  # the head when it was last checked: it yielded everything up to here


async def _read(watch: Watch, n: int) -> tuple[list[Event], Compacted | StoreClosed | None]:
    """Up to `n` events, stopping early at `Compacted` or `StoreClosed` (returned)."""
    out: list[Event] = []
    with anyio.fail_after(HANG_GUARD):
        try:
            while len(out) < n:
                out.append(await watch.__anext__())
        except (Compacted, StoreClosed) as exc:
            return out, exc
    return out, None


class LogMachine(RuleBasedStateMachine):
    """Random create/update/delete/compact/get/range/watch/events against the model."""

    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.compacted = 0
        self.watches: list[OpenWatch] = []
        self.tmpdir: str | None = None
        if self.backend == "sqlite":
            self.tmpdir = tempfile.mkdtemp(prefix="cpemu-model-")
            url = f"sqlite://{Path(self.tmpdir) / 'model.db'}"
        else:
            url = "memory://"
        self.url = url
        self._portal_cm = start_blocking_portal("asyncio")
        self.portal: BlockingPortal = self._portal_cm.__enter__()
        self._log_cm: AbstractContextManager[EventLog] | None = None
        self.log = self._open()

    def _open(self) -> EventLog:
        self._log_cm = self.portal.wrap_async_context_manager(
            self.portal.call(partial(store.open_log, self.url))
        )
        log: EventLog = self._log_cm.__enter__()
        return log

    def _close(self) -> None:
        log_cm, self._log_cm = self._log_cm, None
        if log_cm is not None:
            log_cm.__exit__(None, None, None)

    # --- helpers --------------------------------------------------------------------------

    @property
    def head(self) -> int:
        return len(self.events)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.portal.call(partial(fn, *args, **kwargs))

    def expect_error(
        self, errors: tuple[type[Exception], ...], fn: Callable[..., Any], *args: Any, **kw: Any
    ) -> Exception:
        with pytest.raises(errors) as info:
            self.call(fn, *args, **kw)
        return info.value

    def read_errors(self, at: int | None) -> tuple[type[Exception], ...]:
        """The errors a read at `at` must raise (any of them), or () if it must succeed."""
        if at is None:
            return ()
        if at < 0:
            return (InvalidArgument,)
        if at > self.head:
            return (FutureRevision,)
        if at < self.compacted:
            return (Compacted,)
        return ()

    def draw_stale(self, data: Any, right: int) -> int:
        """Any revision in 0..head+1 but `right`."""
        drawn: int = data.draw(st.integers(min_value=0, max_value=self.head), label="stale")
        return drawn + 1 if drawn >= right else drawn

    def append(self, ev_type: str, key: str, value: bytes | None, meta: dict[str, Any]) -> None:
        live = replay(self.events, self.head)
        prev = live[key].value if key in live else None
        rev = self.head + 1
        actor, cause, time = meta["actor"], meta["cause"], meta["time"]
        self.events.append(Event(rev, ev_type, key, value, prev, actor, cause, time))  # type: ignore[arg-type]

    # --- writes ---------------------------------------------------------------------------

    @initialize(keys=st.lists(KEYS, unique=True), actor=ACTORS)
    def preload(self, keys: list[str], actor: str) -> None:
        """Start from a few live keys, so that every example has something to read."""
        for key in keys:
            self.create(key, key.encode(), actor, 0, 0.0)

    @rule(key=KEYS, value=VALUES, actor=ACTORS, cause=CAUSES, time=TIMES)
    def create(self, key: str, value: bytes, actor: str, cause: int, time: float) -> None:
        meta = {"actor": actor, "cause": cause, "time": time}
        live = replay(self.events, self.head)
        if key in live:
            exc = self.expect_error((KeyExists,), self.log.create, key, value, **meta)
            assert isinstance(exc, KeyExists)
            assert exc.revision == live[key].mod_revision
            return
        rev = self.call(self.log.create, key, value, **meta)
        self.append("PUT", key, value, meta)
        assert rev == self.head

    @rule(
        key=KEYS,
        value=VALUES,
        stale=st.booleans(),
        actor=ACTORS,
        cause=CAUSES,
        time=TIMES,
        data=st.data(),
    )
    def update(
        self, key: str, value: bytes, stale: bool, actor: str, cause: int, time: float, data: Any
    ) -> None:
        meta = {"actor": actor, "cause": cause, "time": time}
        live = replay(self.events, self.head)
        any_rev = st.integers(min_value=0, max_value=self.head + 1)
        if key not in live:
            expected = data.draw(any_rev, label="expected")
            self.expect_error(
                (KeyNotFound,), self.log.update, key, value, expected=expected, **meta
            )
            return
        right = live[key].mod_revision
        if stale:
            expected = self.draw_stale(data, right)
            exc = self.expect_error(
                (RevisionMismatch,), self.log.update, key, value, expected=expected, **meta
            )
            assert isinstance(exc, RevisionMismatch)
            assert (exc.expected, exc.actual) == (expected, right)
            return
        rev = self.call(self.log.update, key, value, expected=right, **meta)
        self.append("PUT", key, value, meta)
        assert rev == self.head

    @rule(
        key=KEYS,
        mode=st.sampled_from(["unconditional", "right", "stale"]),
        actor=ACTORS,
        cause=CAUSES,
        time=TIMES,
        data=st.data(),
    )
    def delete(self, key: str, mode: str, actor: str, cause: int, time: float, data: Any) -> None:
        meta = {"actor": actor, "cause": cause, "time": time}
        live = replay(self.events, self.head)
        any_rev = st.integers(min_value=0, max_value=self.head + 1)
        if key not in live:
            expected = None if mode == "unconditional" else data.draw(any_rev, label="expected")
            self.expect_error((KeyNotFound,), self.log.delete, key, expected=expected, **meta)
            return
        right = live[key].mod_revision
        if mode == "stale":
            expected = self.draw_stale(data, right)
            exc = self.expect_error(
                (RevisionMismatch,), self.log.delete, key, expected=expected, **meta
            )
            assert isinstance(exc, RevisionMismatch)
            assert (exc.expected, exc.actual) == (expected, right)
            return
        expected = None if mode == "unconditional" else right
        rev = self.call(self.log.delete, key, expected=expected, **meta)
        self.append("DELETE", key, None, meta)
        assert rev == self.head

    @rule(data=st.data())
    def compact(self, data: Any) -> None:
        rev = data.draw(st.integers(min_value=-1, max_value=self.head + 2), label="compact")
        errors = self.read_errors(rev)
        if errors:
            self.expect_error(errors, self.log.compact, rev)
            return
        self.call(self.log.compact, rev)
        self.compacted = rev

    # --- reads ----------------------------------------------------------------------------

    def draw_at(self, data: Any) -> int | None:
        at_rev = st.integers(min_value=-1, max_value=self.head + 2)
        at: int | None = data.draw(st.none() | at_rev, label="at")
        return at

    @rule(key=KEYS, data=st.data())
    def get_at(self, key: str, data: Any) -> None:
        at = self.draw_at(data)
        errors = self.read_errors(at)
        if errors:
            self.expect_error(errors, self.log.get, key, at=at)
            return
        got = self.call(self.log.get, key, at=at)
        assert got == replay(self.events, self.head if at is None else at).get(key)

    @rule(prefix=PREFIXES, limit=st.none() | st.integers(min_value=1, max_value=3), data=st.data())
    def range_at(self, prefix: str, limit: int | None, data: Any) -> None:
        at = self.draw_at(data)
        errors = self.read_errors(at)
        if errors:
            self.expect_error(errors, self.log.range, prefix, at=at, limit=limit)
            return
        got = self.call(self.log.range, prefix, at=at, limit=limit)
        revision = self.head if at is None else at
        state = replay(self.events, revision)
        items = [state[k] for k in sorted(state) if k.startswith(prefix)]
        assert got.items == items[:limit]
        assert got.revision == revision

    @rule(prefix=PREFIXES, data=st.data())
    def events_range(self, prefix: str, data: Any) -> None:
        after = data.draw(st.integers(min_value=-1, max_value=self.head + 2), label="after")
        until_rev = st.integers(min_value=max(after, -1), max_value=self.head + 2)
        until: int | None = data.draw(st.none() | until_rev, label="until")
        errors: tuple[type[Exception], ...] = ()
        if after < 0 or (until is not None and until < 0):
            errors = (InvalidArgument,)
        elif after > self.head or (until is not None and until > self.head):
            errors = (FutureRevision,)
        elif after < self.compacted:
            errors = (Compacted,)

        async def collect() -> list[Event]:
            return [ev async for ev in self.log.events(after=after, until=until, prefix=prefix)]

        if errors:
            self.expect_error(errors, collect)
            return
        end = self.head if until is None else until
        expected = [ev for ev in self.events[after:end] if ev.key.startswith(prefix)]
        assert self.portal.call(collect) == expected

    # --- watches --------------------------------------------------------------------------

    @rule(prefix=PREFIXES, data=st.data())
    def open_watch(self, prefix: str, data: Any) -> None:
        if len(self.watches) >= 4:
            return
        after = data.draw(st.integers(min_value=0, max_value=self.head + 3), label="after")
        if after < self.compacted:
            self.expect_error((Compacted,), self.log.watch, prefix, after=after)
            return
        watch = self.call(self.log.watch, prefix, after=after)
        self.watches.append(OpenWatch(watch, prefix, after, after))

    def pending(self, w: OpenWatch) -> list[Event]:
        """The events `w` must still yield, up to the head."""
        return [
            ev
            for ev in self.events[w.checked_to :]
            if ev.key.startswith(w.prefix) and ev.revision > w.delivered
        ]

    @rule()
    def check_watches(self) -> None:
        for w in list(self.watches):
            expected = self.pending(w)
            got, compacted = self.portal.call(_read, w.watch, len(expected))
            assert got == expected[: len(got)], f"watch {w.prefix!r} after {w.delivered}"
            if got:
                w.delivered = got[-1].revision
                event("a watch yielded events")
            if compacted is not None:
                assert isinstance(compacted, Compacted), repr(compacted)
                event("a lagging watch ended with Compacted")
                # Only a watcher whose position was compacted away may be ended.
                assert w.delivered < self.compacted, f"{compacted!r} at {w.delivered}"
                self.watches.remove(w)
                self.call(w.watch.aclose)
                continue
            w.checked_to = max(w.checked_to, self.head)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def head_and_compacted_revision_match(self) -> None:
        assert self.log.revision == self.head
        assert self.log.compacted_revision == self.compacted

    @invariant()
    def head_state_matches(self) -> None:
        got = self.call(self.log.range, "")
        state = replay(self.events, self.head)
        assert got.items == [state[k] for k in sorted(state)]
        assert got.revision == self.head

    def teardown(self) -> None:
        try:
            if self.watches:
                self.check_watches()
        finally:
            for w in self.watches:
                self.call(w.watch.aclose)
            self._close()
            self._portal_cm.__exit__(None, None, None)
            if self.tmpdir is not None:
                shutil.rmtree(self.tmpdir, ignore_errors=True)


class SqliteLogMachine(LogMachine):
    """The same rules on SQLite, plus closing and reopening the file."""

    backend = "sqlite"

    @rule()
    def reopen(self) -> None:
        """Close and reopen the file: everything carries on; open watches end with StoreClosed."""
        self._close()
        for w in self.watches:
            expected = self.pending(w)
            got, closed = self.portal.call(_read, w.watch, len(expected) + 1)
            assert got == expected[: len(got)]
            assert isinstance(closed, StoreClosed), f"watch ended with {closed!r}"
            self.call(w.watch.aclose)
        event(f"reopen with {len(self.watches)} open watches")
        self.watches = []
        self.log = self._open()


MODEL_SETTINGS = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TestMemoryLogMatchesModel = LogMachine.TestCase
TestMemoryLogMatchesModel.settings = MODEL_SETTINGS
TestSqliteLogMatchesModel = SqliteLogMachine.TestCase
TestSqliteLogMatchesModel.settings = MODEL_SETTINGS
