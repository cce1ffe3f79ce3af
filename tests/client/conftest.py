"""Fixtures of the client tests: an ApiServer on a memory log with a fixed clock and counter ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

import store
from cp.apiserver import ApiServer
from cp.client.inprocess import InProcessClient

NOW = 1_700_000_000.0
CREATED = "2023-11-14T22:13:20Z"


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
async def log() -> AsyncIterator[store.EventLog]:
    async with store.open_log("memory://") as opened:
        yield opened


@pytest.fixture
def client(log: store.EventLog) -> InProcessClient:
    return InProcessClient(ApiServer(log, clock_now=lambda: NOW, ids=counter_ids()))
