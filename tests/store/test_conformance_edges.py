"""The conformance suite, continued: bad input, closing, and what only SQLite has (reopening,
foreign files, URL options). Runs on every backend, per store/__init__.py.

Names say what each test checks (kine style). Watch delivery is awaited by reading an
expected number of events under `anyio.fail_after`, which only guards against a hang.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import store
from store import (
    Compacted,
    Event,
    EventLog,
    InvalidArgument,
    KeyExists,
    KeyValue,
    RevisionMismatch,
    StoreClosed,
)
from tests.store import (
    BIG_GUARD,
    HANG_GUARD,
    OpenLog,
    all_events,
    create_many,
    fill,
    keys,
    raises_on_call_or_iteration,
    take,
)

pytestmark = pytest.mark.anyio

# --- bad input ----------------------------------------------------------------------------


TOO_BIG = b"x" * (store.MAX_VALUE_BYTES + 1)

BAD_CALLS: list[tuple[str, Callable[[EventLog], Awaitable[Any]]]] = [
    ("create-int-key", lambda log: log.create(1, b"v")),  # type: ignore[arg-type]
    ("create-none-key", lambda log: log.create(None, b"v")),  # type: ignore[arg-type]
    ("create-bytes-key", lambda log: log.create(b"/k", b"v")),  # type: ignore[arg-type]
    ("create-empty-key", lambda log: log.create("", b"v")),
    ("create-str-value", lambda log: log.create("/new", "v")),  # type: ignore[arg-type]
    ("create-bytearray-value", lambda log: log.create("/new", bytearray(b"v"))),  # type: ignore[arg-type]
    ("create-memoryview-value", lambda log: log.create("/new", memoryview(b"v"))),  # type: ignore[arg-type]
    ("create-none-value", lambda log: log.create("/new", None)),  # type: ignore[arg-type]
    ("create-too-big", lambda log: log.create("/new", TOO_BIG)),
    ("create-negative-cause", lambda log: log.create("/new", b"v", cause=-1)),
    ("create-non-str-actor", lambda log: log.create("/new", b"v", actor=None)),  # type: ignore[arg-type]
    ("update-str-value", lambda log: log.update("/k", "v", expected=1)),  # type: ignore[arg-type]
    ("update-bytearray", lambda log: log.update("/k", bytearray(b"v"), expected=1)),  # type: ignore[arg-type]
    ("update-too-big", lambda log: log.update("/k", TOO_BIG, expected=1)),
    ("update-negative-expected", lambda log: log.update("/k", b"v", expected=-1)),
    ("update-empty-key", lambda log: log.update("", b"v", expected=1)),
    ("update-int-key", lambda log: log.update(7, b"v", expected=1)),  # type: ignore[arg-type]
    ("delete-negative-expected", lambda log: log.delete("/k", expected=-1)),
    ("delete-empty-key", lambda log: log.delete("")),
    ("delete-int-key", lambda log: log.delete(7)),  # type: ignore[arg-type]
    ("get-negative-at", lambda log: log.get("/k", at=-1)),
    ("get-int-key", lambda log: log.get(5)),  # type: ignore[arg-type]
    ("range-negative-at", lambda log: log.range("/", at=-1)),
    ("range-negative-limit", lambda log: log.range("/", limit=-1)),
    ("range-non-str-prefix", lambda log: log.range(None)),  # type: ignore[arg-type]
    ("compact-negative", lambda log: log.compact(-1)),
]


@pytest.mark.parametrize(("name", "call"), BAD_CALLS, ids=[name for name, _ in BAD_CALLS])
async def test_bad_input_raises_invalid_argument_and_writes_nothing(
    log: EventLog, name: str, call: Callable[[EventLog], Awaitable[Any]]
) -> None:
    await log.create("/k", b"v")
    with pytest.raises(InvalidArgument):
        await call(log)
    assert log.revision == 1
    assert log.compacted_revision == 0
    assert await log.get("/k") == KeyValue("/k", b"v", 1, 1, 1)
    assert keys(await log.range("")) == ["/k"]
    assert len(await all_events(log)) == 1


async def test_unencodable_text_fails_alone_or_not_at_all(log: EventLog) -> None:
    """A `str` with a lone surrogate cannot be UTF-8 encoded. Whether a backend stores it or
    refuses it (InvalidArgument), it must not fail the other writes committed with it."""
    outcomes: dict[str, int | str] = {}

    async def write(key: str, actor: str = "user") -> None:
        try:
            outcomes[key] = await log.create(key, b"v", actor=actor)
        except InvalidArgument:
            outcomes[key] = "refused"
        except store.StoreError as exc:
            outcomes[key] = f"failed: {exc!r}"

    async with anyio.create_task_group() as tg:
        for key, actor in [("/ok/1", "user"), ("/bad/\ud800", "user"), ("/bad/actor", "\udcff")]:
            tg.start_soon(write, key, actor)
        tg.start_soon(write, "/ok/2")
    accepted = {k: rev for k, rev in outcomes.items() if isinstance(rev, int)}
    assert {"/ok/1", "/ok/2"} <= accepted.keys(), outcomes
    assert all(isinstance(v, int) or v == "refused" for v in outcomes.values()), outcomes
    assert sorted(accepted.values()) == list(range(1, log.revision + 1))
    for key in accepted:
        assert await log.get(key) == KeyValue(key, b"v", accepted[key], accepted[key], 1)


async def test_negative_watch_or_events_bound_raises_invalid_argument(log: EventLog) -> None:
    await log.create("/k", b"v")
    await raises_on_call_or_iteration(InvalidArgument, lambda: log.watch("", after=-1))
    await raises_on_call_or_iteration(InvalidArgument, lambda: log.events(after=-1))
    await raises_on_call_or_iteration(InvalidArgument, lambda: log.events(until=-1))
    assert log.revision == 1


@pytest.mark.parametrize("url", ["bogus://x", "redis://localhost:6379", ""])
async def test_unknown_url_raises_invalid_argument(url: str) -> None:
    assert issubclass(InvalidArgument, store.StoreError)
    with pytest.raises(InvalidArgument):
        async with store.open_log(url):
            pass


# --- closing ------------------------------------------------------------------------------


async def test_use_after_close_raises_store_closed(backend: str, open_backend: OpenLog) -> None:
    async with open_backend(backend) as log:
        await log.create("/k", b"v")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: log.create("/k2", b"v"),
        lambda: log.update("/k", b"v2", expected=1),
        lambda: log.delete("/k"),
        lambda: log.get("/k"),
        lambda: log.range(""),
        lambda: log.compact(1),
    ]
    for call in calls:
        with pytest.raises(StoreClosed):
            await call()
    await raises_on_call_or_iteration(StoreClosed, lambda: log.watch("", after=0))
    await raises_on_call_or_iteration(StoreClosed, lambda: log.events())


async def test_closing_the_log_ends_watches_with_store_closed(
    backend: str, open_backend: OpenLog
) -> None:
    outcome: list[str] = []
    got_first = anyio.Event()
    with anyio.fail_after(HANG_GUARD):
        async with anyio.create_task_group() as tg, open_backend(backend) as log:
            w = log.watch("", after=0)

            async def reader() -> None:
                try:
                    async for _ in w:
                        got_first.set()
                except StoreClosed:
                    outcome.append("closed")
                else:
                    outcome.append("ended without StoreClosed")

            tg.start_soon(reader)
            await log.create("/k", b"v")
            await got_first.wait()
    assert outcome == ["closed"]


# --- SQLite only --------------------------------------------------------------------------


async def test_sqlite_reopen_continues_revisions_and_keeps_history(open_backend: OpenLog) -> None:
    async with open_backend("sqlite") as log:
        await fill(log)
        await log.update("/a/3", b"a3-v2", expected=6, actor="ctl", cause=6, time=3.25)
        before = await all_events(log)
        state = await log.range("")
        at4 = await log.range("", at=4)
    async with open_backend("sqlite") as log:
        assert log.revision == 8
        assert log.compacted_revision == 0
        assert await all_events(log) == before
        assert await log.range("") == state
        assert await log.range("", at=4) == at4
        assert await log.get("/a/2", at=4) == KeyValue("/a/2", b"a2-v1", 2, 2, 1)
        assert await log.get("/a/3") == KeyValue("/a/3", b"a3-v2", 6, 8, 2)
        with pytest.raises(KeyExists):
            await log.create("/a/1", b"dup")
        with pytest.raises(RevisionMismatch):
            await log.update("/a/1", b"x", expected=1)
        assert await log.create("/a/2", b"reborn") == 9
        assert await log.get("/a/2") == KeyValue("/a/2", b"reborn", 9, 9, 1)
        async with log.watch("/a/", after=7) as w:
            events = await take(w, 2)
        assert events == [before[7], Event(9, "PUT", "/a/2", b"reborn", None, "user", 0, 0.0)]
    async with open_backend("sqlite") as log:
        assert log.revision == 9
        assert len(await all_events(log)) == 9


async def test_sqlite_watch_reads_history_after_reopen_while_writing(
    open_backend: OpenLog,
) -> None:
    """After a reopen nothing is in memory: watchers start from the file (in several chunks)
    and must join the live writes without a gap or a duplicate."""
    preload = 10_000
    async with open_backend("sqlite") as log:
        async with anyio.create_task_group() as tg:
            for t in range(50):
                tg.start_soon(create_many, log, f"/h/{t:02}/", preload // 50)
        assert log.revision == preload
    async with open_backend("sqlite") as log:
        total = preload + 4 * 300
        seen: dict[tuple[str, int], list[Event]] = {}

        async def watcher(prefix: str, after: int) -> None:
            expected = total - after if not prefix else 200 + 300
            async with log.watch(prefix, after=after) as w:
                seen[prefix, after] = await take(w, expected, guard=BIG_GUARD)

        with anyio.fail_after(BIG_GUARD):
            async with anyio.create_task_group() as tg:
                for after in (0, 1, 4095, 4096, 9_000):
                    tg.start_soon(watcher, "", after)
                tg.start_soon(watcher, "/h/07/", 0)
                for n in range(4):
                    prefix = "/h/07/live/" if n == 0 else f"/live/{n}/"
                    tg.start_soon(create_many, log, prefix, 300)
        full = await all_events(log)
    assert [ev.revision for ev in full] == list(range(1, total + 1))
    for (prefix, after), events in seen.items():
        assert events == [ev for ev in full[after:] if ev.key.startswith(prefix)], (prefix, after)


@pytest.mark.slow
async def test_sqlite_slow_watcher_beyond_memory_window_reads_history(
    open_backend: OpenLog,
) -> None:
    """135k events: more than the in-memory window, so the watcher must catch up from disk."""
    tasks, per_task = 150, 900
    total = 1 + tasks * per_task
    async with open_backend("sqlite") as log:
        await log.create("/start", b"s")
        async with log.watch("", after=0) as w, log.watch("/big/7/", after=1) as wp:
            assert [ev.revision for ev in await take(w, 1)] == [1]
            with anyio.fail_after(BIG_GUARD):
                async with anyio.create_task_group() as tg:
                    for t in range(tasks):
                        tg.start_soon(create_many, log, f"/big/{t}/", per_task)
            rest = await take(w, total - 1, guard=BIG_GUARD)
            prefixed = await take(wp, per_task, guard=BIG_GUARD)
        assert [ev.revision for ev in rest] == list(range(2, total + 1))
        assert rest == await all_events(log, after=1)
        assert [ev.key for ev in prefixed] == [f"/big/7/{i:05}" for i in range(per_task)]


async def test_sqlite_reopen_after_compaction_keeps_compacted_revision(
    open_backend: OpenLog,
) -> None:
    async with open_backend("sqlite") as log:
        await fill(log)
        await log.compact(5)
        at5 = await log.range("", at=5)
    async with open_backend("sqlite") as log:
        assert log.compacted_revision == 5
        assert log.revision == 7
        assert await log.range("", at=5) == at5
        with pytest.raises(Compacted):
            await log.get("/a/1", at=4)
        with pytest.raises(Compacted):
            log.watch("", after=4)
        await raises_on_call_or_iteration(Compacted, lambda: log.events(after=0))
        assert [ev.revision for ev in await all_events(log, after=5)] == [6, 7]
        assert await log.create("/z", b"z") == 8


def _file_names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    "schema",
    [
        "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada')",
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value); INSERT INTO meta VALUES ('a', 1)",
        "CREATE VIEW answer AS SELECT 42",
        None,  # not SQLite at all
    ],
    ids=["table", "meta-table", "view-only", "garbage"],
)
async def test_sqlite_refuses_foreign_file_without_modifying_it(
    tmp_path: Path, schema: str | None
) -> None:
    path = tmp_path / "foreign.db"
    if schema is None:
        path.write_bytes(b"this is not a database\n" * 200)
    else:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.executescript(schema)
            conn.commit()
    original = path.read_bytes()
    with pytest.raises(InvalidArgument):
        async with store.open_log(f"sqlite://{path}"):
            pass
    assert path.read_bytes() == original
    assert _file_names(tmp_path) == ["foreign.db"]  # no -wal, -shm or -journal left behind


async def test_sqlite_url_synchronous_option_and_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with store.open_log("sqlite://rel.db?synchronous=FULL") as log:
        assert await log.create("/k", b"v") == 1
    async with store.open_log(f"sqlite://{tmp_path / 'rel.db'}") as log:
        assert await log.get("/k") == KeyValue("/k", b"v", 1, 1, 1)
    with pytest.raises(InvalidArgument):
        async with store.open_log(f"sqlite://{tmp_path / 'bad.db'}?synchronous=SOMETIMES"):
            pass
