"""`sqlite:///path.db?mode=ro`: an existing log read without writing to the file at all, even
while another process (or another connection) writes to it."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

import store
from store.sqlite import ReadOnlySqliteLog, SqliteLog

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]

#: Opens the log read-only in a fresh interpreter and prints what it sees, as JSON.
READER = """
import anyio, json, sys
import store

async def main(url):
    async with store.open_log(url) as log:
        head = await log.range("/")
        events = [e.revision async for e in log.events()]
        print(json.dumps({
            "revision": log.revision,
            "keys": [kv.key for kv in head.items],
            "events": events,
        }))

anyio.run(main, sys.argv[1])
"""


def _ro(path: Path) -> str:
    return f"sqlite://{path}?mode=ro"


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _files(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Size, mtime and bytes of the database and its `-wal`, where they exist."""
    out = {}
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            stat = file.stat()
            out[file.name] = (stat.st_size, stat.st_mtime_ns, file.read_bytes())
    return out


async def _fill(path: Path, n: int) -> None:
    async with store.open_log(f"sqlite://{path}") as log:
        for i in range(n):
            await log.create(f"/k/{i:03d}", b"v1")
        await log.update("/k/000", b"v2", expected=1)
        await log.delete("/k/001")


async def test_reads_see_the_log(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    await _fill(path, 5)  # revisions 1..5 creates, 6 update, 7 delete
    async with store.open_log(_ro(path)) as log:
        assert isinstance(log, ReadOnlySqliteLog)
        assert log.revision == 7
        assert (await log.get("/k/000")) == store.KeyValue("/k/000", b"v2", 1, 6, 2)
        assert await log.get("/k/001") is None
        assert [kv.key for kv in (await log.range("/k/")).items] == [
            "/k/000",
            "/k/002",
            "/k/003",
            "/k/004",
        ]
        at5 = await log.range("/k/", at=5)
        assert [(kv.key, kv.value) for kv in at5.items[:2]] == [
            ("/k/000", b"v1"),
            ("/k/001", b"v1"),
        ]
        assert (await log.get("/k/000", at=5)) == store.KeyValue("/k/000", b"v1", 1, 1, 1)
        events = [e async for e in log.events(after=4)]
        assert [(e.revision, e.type, e.key) for e in events] == [
            (5, "PUT", "/k/004"),
            (6, "PUT", "/k/000"),
            (7, "DELETE", "/k/001"),
        ]
        assert events[1].prev_value == b"v1"
        async with log.watch("/k/00", after=5) as watch:
            seen = []
            async for event in watch:
                seen.append(event.revision)
                if event.revision == 7:
                    break
        assert seen == [6, 7]


async def test_open_and_close_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    await _fill(path, 50)
    before = _files(path)
    async with store.open_log(_ro(path)) as log:
        assert log.revision == 52
        _ = [e async for e in log.events()]
        await log.range("/k/", at=10)
    after = _files(path)
    assert after[path.name] == before[path.name]
    wal = after.get(path.name + "-wal")  # SQLite may create an empty one to read through
    assert wal is None or wal[0] == 0


async def test_no_checkpoint_of_a_tail(tmp_path: Path) -> None:
    """A log whose last rows are after its `state` checkpoint (the writer still has it open)
    loads them, and closing the read-only log checkpoints neither `state` nor the WAL."""
    path = tmp_path / "log.db"
    async with SqliteLog(str(path), checkpoint_every=10**9) as writer:
        for i in range(20):
            await writer.create(f"/k/{i:02d}", b"v")
        wal_before = _files(path)
        async with store.open_log(_ro(path)) as log:
            assert log.revision == 20
            assert len((await log.range("/k/")).items) == 20
        assert _files(path) == wal_before
        assert writer._state_revision == 0  # nothing checkpointed it behind the writer's back


WRITES: dict[str, Callable[[store.EventLog], Awaitable[object]]] = {
    "create": lambda log: log.create("/new", b"x"),
    "update": lambda log: log.update("/k/000", b"x", expected=4),
    "delete": lambda log: log.delete("/k/000"),
    "compact": lambda log: log.compact(2),
}


@pytest.mark.parametrize("op", sorted(WRITES))
async def test_every_write_is_refused(tmp_path: Path, op: str) -> None:
    path = tmp_path / "log.db"
    await _fill(path, 3)
    before = _files(path)
    async with store.open_log(_ro(path)) as log:
        with pytest.raises(store.InvalidArgument, match="opened read-only") as info:
            await WRITES[op](log)
        assert str(path) in str(info.value)
        assert log.revision == 5
        assert (await log.get("/k/000")) == store.KeyValue("/k/000", b"v2", 1, 4, 2)
        assert log.compacted_revision == 0
    assert _files(path)[path.name] == before[path.name]


async def test_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(store.InvalidArgument, match="no such file") as info:
        async with store.open_log(_ro(path)):
            pass
    assert str(path) in str(info.value)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("content", [b"", b"hello, not a database\n"])
async def test_not_a_log_is_refused_and_left_alone(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(content)
    with pytest.raises(store.InvalidArgument, match="not a cpemu log") as info:
        async with store.open_log(_ro(path)):
            pass
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


async def test_other_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t(x)")
    db.close()
    content = path.read_bytes()
    with pytest.raises(store.InvalidArgument, match="not a cpemu log"):
        async with store.open_log(_ro(path)):
            pass
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("mode=rx", "mode must be one of rw, ro"),
        ("mode=ro&synchronous=FULL", "mode=ro takes no other option"),
        ("mode=ro&durability=deferred", "mode=ro takes no other option"),
    ],
)
async def test_bad_mode_options(tmp_path: Path, query: str, message: str) -> None:
    with pytest.raises(store.InvalidArgument, match=message):
        async with store.open_log(f"sqlite://{tmp_path / 'log.db'}?{query}"):
            pass
    assert not (tmp_path / "log.db").exists()


async def test_mode_rw_is_the_default_writer(tmp_path: Path) -> None:
    async with store.open_log(f"sqlite://{tmp_path / 'log.db'}?mode=rw") as log:
        assert await log.create("/a", b"1") == 1


async def test_reader_process_beside_a_writer(tmp_path: Path) -> None:
    """A second process opens the file read-only while this one has it open for writing and
    keeps writing: it sees every committed row, and the writer is never blocked."""
    path = tmp_path / "log.db"
    async with SqliteLog(str(path), checkpoint_every=64) as writer:  # state + a tail
        for i in range(100):
            await writer.create(f"/k/{i:03d}", b"v")
        done = await anyio.run_process([sys.executable, "-c", READER, _ro(path)], cwd=ROOT)
        seen = json.loads(done.stdout)
        assert seen["revision"] == 100
        assert seen["keys"] == [f"/k/{i:03d}" for i in range(100)]
        assert seen["events"] == list(range(1, 101))

        async with store.open_log(_ro(path)) as reader:
            with anyio.fail_after(5):  # the reader's open snapshot holds no lock
                for i in range(100, 150):
                    await writer.create(f"/k/{i:03d}", b"v")
            assert reader.revision == 100  # the snapshot at open
            assert len((await reader.range("/k/")).items) == 100
            assert [e.revision async for e in reader.events(after=98)] == [99, 100]

        done = await anyio.run_process([sys.executable, "-c", READER, _ro(path)], cwd=ROOT)
        assert json.loads(done.stdout)["revision"] == 150


async def test_compaction_by_the_writer_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with SqliteLog(str(path)) as writer:
        await writer.create("/a", b"1")
        for i in range(2, 6):
            await writer.update("/a", str(i).encode(), expected=i - 1)
        async with store.open_log(_ro(path)) as reader:
            assert (await reader.get("/a", at=2)) is not None
            await writer.compact(4)
            with pytest.raises(store.Compacted):
                await reader.get("/a", at=2)
            assert reader.compacted_revision == 4
            assert (await reader.get("/a", at=4)) == store.KeyValue("/a", b"4", 1, 4, 4)


async def _random_history(
    log: store.EventLog, *, seed: int, writes: int
) -> list[dict[str, store.KeyValue]]:
    """Random creates, updates and deletes (re-creating deleted keys too) over a few keys and
    two prefixes; returns the model: the live versions after each revision (index = rev)."""
    rng = random.Random(seed)
    model: list[dict[str, store.KeyValue]] = [{}]
    live: dict[str, store.KeyValue] = {}
    for n in range(writes):
        key = f"/{rng.choice('ab')}/{rng.randrange(12)}"
        current = live.get(key)
        if current is None:
            rev = await log.create(key, f"{n}".encode())
            live[key] = store.KeyValue(key, f"{n}".encode(), rev, rev, 1)
        elif rng.random() < 0.3:
            await log.delete(key, expected=current.mod_revision)
            del live[key]
        else:
            rev = await log.update(key, f"{n}".encode(), expected=current.mod_revision)
            live[key] = store.KeyValue(
                key, f"{n}".encode(), current.create_revision, rev, current.version + 1
            )
        model.append(dict(live))
    return model


def _expected(model: list[dict[str, store.KeyValue]], prefix: str, at: int) -> list[store.KeyValue]:
    return [kv for key, kv in sorted(model[at].items()) if key.startswith(prefix)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_reads_at_every_revision_match_a_model(tmp_path: Path, seed: int) -> None:
    """`range`/`get` at every revision, on the writer (state checkpoints every 37 revisions,
    so reads cross a checkpoint and a tail) and on read-only opens (with the writer open, and
    after it closed), near the head (walking `prev_rev` back) and far back (a scan); then
    again above a compaction."""
    path = tmp_path / "log.db"
    async with SqliteLog(str(path), checkpoint_every=37) as writer:
        model = await _random_history(writer, seed=seed, writes=300)
        head = writer.revision
        async with store.open_log(_ro(path)) as reader:
            for log in (writer, reader):
                for at in range(head + 1):
                    for prefix in ("", "/a/", "/b/"):
                        got = await log.range(prefix, at=at)
                        assert got.items == _expected(model, prefix, at), (log, prefix, at)
                    for key in ("/a/0", "/b/5", "/a/11"):
                        assert await log.get(key, at=at) == model[at].get(key), (log, key, at)
                assert (await log.range("/a/")).items == _expected(model, "/a/", head)
        await writer.compact(head // 2)
        async with store.open_log(_ro(path)) as reader:
            for log in (writer, reader):
                for at in range(head // 2, head + 1, 7):
                    assert (await log.range("", at=at)).items == _expected(model, "", at)
                with pytest.raises(store.Compacted):
                    await log.range("", at=head // 2 - 1)
    async with store.open_log(_ro(path)) as reader:  # the writer's close checkpointed all
        assert reader.revision == head
        for at in range(head // 2, head + 1, 5):
            assert (await reader.range("/b/", at=at)).items == _expected(model, "/b/", at)
