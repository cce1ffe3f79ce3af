"""Fixtures for the store conformance suite: every test runs on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

import store
from tests.store import OpenLog

#: "sqlite-deferred" is SQLite writing behind (`?durability=deferred`): the same contract.
BACKENDS = ("memory", "sqlite", "sqlite-deferred")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def open_backend(tmp_path: Path) -> OpenLog:
    """`open_backend(name, db="log.db")` opens a log; for sqlite the same `db` reopens the file."""

    def opener(name: str, db: str = "log.db") -> AbstractAsyncContextManager[store.EventLog]:
        if name == "memory":
            return store.open_log("memory://")
        if name == "sqlite":
            return store.open_log(f"sqlite://{tmp_path / db}")
        if name == "sqlite-deferred":
            return store.open_log(f"sqlite://{tmp_path / db}?durability=deferred")
        raise ValueError(f"unknown backend {name!r}")

    return opener


@pytest.fixture
async def log(backend: str, open_backend: OpenLog) -> AsyncIterator[store.EventLog]:
    async with open_backend(backend) as opened:
        yield opened
