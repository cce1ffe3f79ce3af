"""Helpers shared by the store tests (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from store import Event, EventLog, RangeResult

HANG_GUARD = 5  # seconds; only to fail instead of hanging, never waited on in a passing run
BIG_GUARD = 60  # for the tests that write ten thousand events

OpenLog = Callable[..., AbstractAsyncContextManager[EventLog]]  # the `open_backend` fixture


async def take(watch: AsyncIterator[Event], n: int, guard: float = HANG_GUARD) -> list[Event]:
    """Read exactly `n` events from a watch, failing if they do not arrive."""
    out: list[Event] = []
    with anyio.fail_after(guard):
        while len(out) < n:
            out.append(await watch.__anext__())
    return out


async def all_events(log: EventLog, **kwargs: Any) -> list[Event]:
    return [ev async for ev in log.events(**kwargs)]


async def _start_and_read_one(start: Callable[[], Any]) -> None:
    it = start()
    with anyio.fail_after(HANG_GUARD):
        await it.__anext__()


async def raises_on_call_or_iteration(exc: type[BaseException], start: Callable[[], Any]) -> None:
    """`start()` returns an async iterator; the error may come at the call or the first read."""
    with pytest.raises(exc):
        await _start_and_read_one(start)


async def create_many(log: EventLog, prefix: str, n: int) -> None:
    for i in range(n):
        await log.create(f"{prefix}{i:05}", b"x" * 16)


async def fill(log: EventLog) -> dict[str, int]:
    """A small history used by several tests; returns the revision of each step.

    1 create /a/1   2 create /a/2   3 update /a/1   4 create /b/1   5 delete /a/2
    6 create /a/3   7 update /b/1
    """
    revs = {"a1": await log.create("/a/1", b"a1-v1")}
    revs["a2"] = await log.create("/a/2", b"a2-v1")
    revs["a1u"] = await log.update("/a/1", b"a1-v2", expected=revs["a1"])
    revs["b1"] = await log.create("/b/1", b"b1-v1")
    revs["a2d"] = await log.delete("/a/2", expected=revs["a2"])
    revs["a3"] = await log.create("/a/3", b"a3-v1")
    revs["b1u"] = await log.update("/b/1", b"b1-v2", expected=revs["b1"])
    assert list(revs.values()) == [1, 2, 3, 4, 5, 6, 7]
    return revs


def keys(result: RangeResult) -> list[str]:
    return [kv.key for kv in result.items]
