"""SQLite writing behind (`?durability=deferred`): commits like memory (the same log for the
same writes), persists behind, `flush()` is the durability barrier, a failed persist refuses
every later write and flush, and a SIGKILL loses nothing that a returned `flush()` covered."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

import store
from store.base import Accepted
from store.sqlite import SqliteLog

pytestmark = pytest.mark.anyio


class FailingBehind(SqliteLog):
    """Writes behind; fails the persist of its `fail_at`-th batch."""

    def __init__(self, path: str, fail_at: int) -> None:
        super().__init__(path, write_behind=True)
        self.fail_at = fail_at
        self.batches = 0

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        self.batches += 1
        if self.batches == self.fail_at:
            raise OSError("disk full (injected)")
        await super()._persist(accepted, after)


async def _events(log: store.EventLog) -> list[tuple[object, ...]]:
    return [
        (e.revision, e.type, e.key, e.value, e.prev_value, e.actor, e.cause, e.time)
        async for e in log.events()
    ]


async def _script(log: store.EventLog) -> None:
    async def writer(w: int) -> None:
        for i in range(50):
            key = f"/k/{w}/{i % 7}"
            current = await log.get(key)
            if current is None:
                await log.create(key, f"{w}.{i}".encode(), actor=f"w{w}", cause=i, time=i)
            elif i % 5 == 0:
                await log.delete(key, expected=current.mod_revision, actor=f"w{w}")
            else:
                await log.update(key, b"x" * i, expected=current.mod_revision, time=i)

    async with anyio.create_task_group() as tg:
        for w in range(8):
            tg.start_soon(writer, w)


async def test_the_same_writes_give_the_memory_log_event_for_event(tmp_path: Path) -> None:
    async with store.open_log("memory://") as memory:
        await _script(memory)
        expected = await _events(memory)
    url = f"sqlite://{tmp_path / 'log.db'}?durability=deferred"
    async with store.open_log(url) as behind:
        await _script(behind)
        assert await _events(behind) == expected
    async with store.open_log(f"sqlite://{tmp_path / 'log.db'}") as reopened:
        assert await _events(reopened) == expected  # closing flushed everything


async def test_flush_persists_what_was_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with store.open_log(f"sqlite://{path}?durability=deferred") as log:
        for i in range(100):
            await log.create(f"/k/{i}", b"v")
        await log.flush()
        # another connection sees every row: they are in the file, not only in memory
        with sqlite3.connect(path) as db:
            (count,) = db.execute("SELECT count(*) FROM log").fetchone()
        assert count == 100


async def test_a_failed_persist_refuses_later_writes_and_flushes(tmp_path: Path) -> None:
    async with FailingBehind(str(tmp_path / "log.db"), fail_at=1) as log:
        assert await log.create("/a", b"1") == 1  # acknowledged at once
        with pytest.raises(store.StoreError, match=r"disk full.*|.*are lost"):
            await log.flush()
        with pytest.raises(store.StoreError, match="writes after revision 0 are lost"):
            await log.create("/b", b"2")
        with pytest.raises(store.StoreError, match="are lost"):
            await log.flush()


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import store

    async def main(url):
        async with store.open_log(url) as log:
            i = 0
            while True:
                for _ in range(200):
                    await log.create(f"/k/{i:08d}", str(i).encode())
                    i += 1
                await log.flush()
                print(i, flush=True)  # every key below i is durable now

    asyncio.run(main(sys.argv[1]))
    """
)


def test_sigkill_loses_nothing_a_returned_flush_covered(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'log.db'}?durability=deferred"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    flushed = 0
    for line in child.stdout:
        flushed = int(line)
        if flushed >= 3000:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert flushed >= 3000

    async def check() -> None:
        async with store.open_log(url) as log:
            assert log.revision >= flushed
            items = (await log.range("/k/")).items
            assert [kv.key for kv in items] == [f"/k/{i:08d}" for i in range(log.revision)]
            assert all(kv.value == str(i).encode() for i, kv in enumerate(items))
            assert await log.create("/after", b"x") == log.revision

    anyio.run(check)
