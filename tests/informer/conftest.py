"""Fixtures of the informer tests: an API server over a memory log, fixed clock, counter ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

import store
from cp.apiserver import ApiServer

NOW = 1_700_000_000.0


def counter_ids() -> Callable[[], str]:
    count = 0

    def ids() -> str:
        nonlocal count
        count += 1
        return f"00000000-0000-0000-0000-{count:012d}"

    return ids


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server() -> AsyncIterator[ApiServer]:
    async with store.open_log("memory://") as log:
        yield ApiServer(log, clock_now=lambda: NOW, ids=counter_ids())
