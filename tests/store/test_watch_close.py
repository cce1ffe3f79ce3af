"""Closing a watch from another task while its reader waits in it ends the reader's loop."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from store import Event, EventLog

pytestmark = pytest.mark.anyio


async def test_closing_a_watch_from_another_task_ends_the_waiting_reader(log: EventLog) -> None:
    watch = log.watch("/", after=0)
    seen: list[Event] = []
    got_one = anyio.Event()
    ended = anyio.Event()

    async def read() -> None:
        async for event in watch:
            seen.append(event)
            got_one.set()
        ended.set()

    with anyio.fail_after(5):  # a hang guard only
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await log.create("/a", b"1")
            await got_one.wait()  # the reader took the event and waits in the watch again
            await anyio.lowlevel.checkpoint()
            await watch.aclose()
            await ended.wait()
    assert [e.key for e in seen] == ["/a"]
    await log.create("/b", b"2")
    assert [e.key for e in seen] == ["/a"]


async def test_closing_a_watch_between_reads_stops_it(log: EventLog) -> None:
    for key in ("/a", "/b", "/c"):
        await log.create(key, b"v")
    watch = log.watch("/", after=0)
    assert (await watch.__anext__()).key == "/a"
    await watch.aclose()
    with pytest.raises(StopAsyncIteration):
        await watch.__anext__()
