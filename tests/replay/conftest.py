"""Fixtures for the replay tests: the asyncio backend only."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
