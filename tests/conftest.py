"""Shared test setup: hypothesis profiles (dev by default, ci in .ci/run, nightly by hand),
and `sqlite_connect`, sqlite3.connect whose connections the test's end closes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly", max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def sqlite_connect() -> Iterator[Callable[..., sqlite3.Connection]]:
    """`sqlite3.connect` (an in-memory database by default) whose connections are closed when
    the test ends, passed or failed: Python 3.13 warns (ResourceWarning, an error here) about
    a connection left to the garbage collector."""
    opened: list[sqlite3.Connection] = []

    def connect(database: str | Path = ":memory:", **options: Any) -> sqlite3.Connection:
        connection = sqlite3.connect(database, **options)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()
