"""The writer task: a failed batch fails alone and skips no revision; a second writer on the
same SQLite file is refused instead of interleaving revisions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest

import store
from store.base import Accepted
from store.sqlite import SqliteLog

pytestmark = pytest.mark.anyio


class FailingLog(SqliteLog):
    """Fails the persist of its `fail_at`-th batch (counting from 1), once."""

    def __init__(self, path: str, fail_at: int) -> None:
        super().__init__(path)
        self.fail_at = fail_at
        self.batches = 0

    async def _persist(self, accepted: list[Accepted], after: int) -> None:
        self.batches += 1
        if self.batches == self.fail_at:
            raise OSError("disk full (injected)")
        await super()._persist(accepted, after)


@pytest.mark.parametrize("fail_at", [1, 2, 3, 7])
async def test_failed_batch_fails_alone_and_skips_no_revision(tmp_path: Path, fail_at: int) -> None:
    path = str(tmp_path / "log.db")
    acked: dict[str, int] = {}
    failed: list[str] = []

    async with FailingLog(path, fail_at) as log:

        async def writer(w: int) -> None:
            for i in range(20):
                key = f"/k/{w}/{i}"
                try:
                    acked[key] = await log.create(key, b"v")
                except store.KeyExists:
                    raise
                except store.StoreError:
                    failed.append(key)

        async with anyio.create_task_group() as tg:
            for w in range(16):
                tg.start_soon(writer, w)

        assert failed, "the injected failure reached no caller"
        assert sorted(acked.values()) == list(range(1, len(acked) + 1))
        assert log.revision == len(acked)
        head = await log.range("")
        assert {kv.key: kv.mod_revision for kv in head.items} == acked

    async with store.open_log(f"sqlite://{path}") as reopened:
        events = [e async for e in reopened.events()]
        assert [e.revision for e in events] == list(range(1, len(acked) + 1))
        assert {e.key: e.revision for e in events} == acked
        assert await reopened.create("/after", b"x") == len(acked) + 1


async def test_second_writer_on_the_same_file_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path / 'log.db'}"
    async with store.open_log(url) as first, store.open_log(url) as second:
        assert await first.create("/a", b"1") == 1
        with pytest.raises(store.StoreError, match="last revision is not 0"):
            await second.create("/b", b"2")
        assert second.revision == 0
        assert await first.create("/c", b"3") == 2
    async with store.open_log(url) as log:
        assert [(e.revision, e.key) async for e in log.events()] == [(1, "/a"), (2, "/c")]


async def test_compaction_keeps_a_tombstone_at_the_head_so_revisions_continue(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path / 'log.db'}"
    async with store.open_log(url) as log:
        await log.create("/a", b"1")
        await log.delete("/a")
        await log.compact(2)
    async with store.open_log(url) as log:
        assert (log.revision, log.compacted_revision) == (2, 2)
        assert await log.create("/a", b"again") == 3
        assert await log.get("/a", at=2) is None


class BrokenMaintenanceLog(SqliteLog):
    """Its first maintenance step waits for `release`, then fails: the writer task stops."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.entered = anyio.Event()
        self.release = anyio.Event()

    def _maintenance_due(self) -> bool:
        return self.revision >= 1 and not self.entered.is_set()

    async def _maintain(self) -> None:
        self.entered.set()
        await self.release.wait()
        raise OSError("I/O error (injected)")


async def test_writer_task_failure_fails_queued_writes_and_closes_the_log(tmp_path: Path) -> None:
    path = str(tmp_path / "log.db")
    log = BrokenMaintenanceLog(path)
    outcomes: dict[str, object] = {}
    with pytest.raises(BaseExceptionGroup) as raised:  # noqa: PT012
        async with log:
            outcomes["a"] = await log.create("/a", b"1")
            await log.entered.wait()
            queued = asyncio.ensure_future(log.create("/b", b"2"))
            await asyncio.sleep(0)  # /b is queued behind the blocked writer
            log.release.set()
            # The failed writer cancels this block; the error surfaces on exit.
            await asyncio.wait([queued])
    assert raised.group_contains(OSError, match="injected")
    assert outcomes == {"a": 1}
    assert isinstance(queued.exception(), store.StoreError)
    assert "writer task stopped" in str(queued.exception())
    assert log.closed
    with pytest.raises(store.StoreClosed):
        await log.create("/c", b"3")
    async with store.open_log(f"sqlite://{path}") as reopened:
        assert [(e.revision, e.key) async for e in reopened.events()] == [(1, "/a")]
        assert await reopened.create("/b", b"2") == 2
