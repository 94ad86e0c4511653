"""SqlStorage: counters pushed down to SQLite (and PostgreSQL when CRMCOUNTERS_PG_DSN is set).

Two portals: one user with 50,000 open activities (the C8 cap), and a portal
of 1,000,000 activities. Baselines, measured in the same run: a straightforward
count over InMemoryStorage, and the same count through SqlStorage's row reads
(what a host gets without the pushed-down queries).
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from crmcounters import (
    Activity,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    Storage,
    User,
)
from crmcounters.sql import SqlStorage

from ._harness import figure, header, median_seconds, note, scaled, timed

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
_BATCH = 50_000


def build(users: int, items_per_user: int, activities_per_item: int) -> InMemoryStorage:
    """Users in one department, each owning items with a mix of open activities."""
    rng = random.Random(8)
    storage = InMemoryStorage(Settings())
    storage.add(
        Department(id="all", name="All"),
        *(
            User(id=f"u{u}", name=f"User {u}", time_zone="Europe/Warsaw", department_id="all")
            for u in range(users)
        ),
    )
    storage.add(Pipeline(id="p", entity_type="deal", stages=(Stage(id="s", name="S"),)))
    storage.add_all(
        Item(
            id=f"i{u}-{n}",
            entity_type="deal",
            pipeline_id="p",
            stage_id="s",
            responsible_id=f"u{u}",
            created_at=NOW - timedelta(days=30),
        )
        for u in range(users)
        for n in range(items_per_user)
    )

    def activity(u: int, n: int, k: int) -> Activity:
        incoming = rng.random() < 0.1
        return Activity(
            id=f"a{u}-{n}-{k}",
            item_ids=(f"i{u}-{n}",),
            kind="call" if incoming else "todo",
            responsible_id=f"u{u}",
            created_at=NOW - timedelta(days=30),
            deadline=None if incoming else NOW + timedelta(minutes=rng.randint(-20_000, 20_000)),
            completed_at=NOW - timedelta(days=1) if rng.random() < 0.1 else None,
            incoming=incoming,
        )

    storage.add_all(
        activity(u, n, k)
        for u in range(users)
        for n in range(items_per_user)
        for k in range(activities_per_item)
    )
    return storage


def in_memory_count(storage: Storage, user_id: str) -> tuple[int, int]:
    """Incoming and Planned by walking the user's items (C2-C4): the baseline."""
    offset = storage.settings.urgency_offset_minutes
    incoming = planned = 0
    for item in storage.items_of(user_id):
        for activity in storage.open_activities_of_item(item.id):
            if activity.incoming:
                incoming += 1
            else:
                lit = activity.lit_at(offset)
                planned += lit is not None and lit <= NOW
    return incoming, planned


def load(memory: InMemoryStorage, storage: SqlStorage) -> None:
    """Copy a portal into SQL, a batch of at most 50,000 records per transaction."""
    storage.add(*memory.users(), *memory.departments())
    storage.add_all(memory.pipelines())
    for records in (list(memory.items()), list(memory.activities())):
        for start in range(0, len(records), _BATCH):
            storage.add_all(records[start : start + _BATCH])


def compare(title: str, memory: InMemoryStorage, user: str, department: bool) -> None:
    """Load `memory` into each database and time the counters against the baselines."""
    header(title)
    base = median_seconds(lambda: in_memory_count(memory, user), repeat=3)
    opens = len(memory.open_activities_of_user(user))
    figure(f"in-memory count for {user} ({opens} open activities)", base)
    expected = in_memory_count(memory, user)
    for name, storage in _databases():
        _, seconds = timed(lambda storage=storage: load(memory, storage))  # type: ignore[misc]
        note(f"{name}: {len(memory.activities())} activities loaded in {seconds:.1f} s")
        totals = storage.counter_totals(user, NOW)
        assert (totals.incoming, totals.planned) == expected
        pushed = median_seconds(lambda storage=storage: storage.counter_totals(user, NOW))
        figure(f"{name}: counter_totals (pushed down)", pushed, baseline=("in-memory count", base))
        rows, rows_seconds = timed(lambda storage=storage: in_memory_count(storage, user))
        assert rows == expected
        figure(
            f"{name}: counter_totals (pushed down)",
            pushed,
            baseline=("the same count over fetched rows", rows_seconds),
        )
        figure(
            f"{name}: view_columns (pushed down)",
            median_seconds(lambda storage=storage: storage.view_columns(user, NOW), repeat=3),
        )
        if department:
            everyone = median_seconds(
                lambda: [in_memory_count(memory, u.id) for u in memory.users()], repeat=1
            )
            figure(
                f"{name}: department_totals (all users)",
                median_seconds(
                    lambda storage=storage: storage.department_totals("all", NOW), repeat=3
                ),
                baseline=("in-memory count per user, summed", everyone),
            )


def _databases() -> Iterator[tuple[str, SqlStorage]]:
    yield "sqlite", SqlStorage.create(sqlite3.connect(":memory:"))
    dsn = os.environ.get("CRMCOUNTERS_PG_DSN")
    if not dsn:
        note("postgres: skipped (CRMCOUNTERS_PG_DSN is not set)")
        return
    import psycopg

    connection = psycopg.connect(dsn, autocommit=True)
    schema = f"crmcounters_bench_{os.getpid()}"
    connection.execute(f"CREATE SCHEMA {schema}")
    connection.execute(f"SET search_path TO {schema}")
    try:
        yield "postgres", SqlStorage.create(connection)
    finally:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
        connection.close()


def main() -> None:
    """Print pushed-down counter times against in-memory and row-fetching baselines."""
    one_user = build(1, scaled(5_556, 2), 10)  # about 50,000 open of 55,560
    compare("sql: one user with 50,000 open activities", one_user, "u0", department=False)
    del one_user
    portal = build(scaled(1_000, 2), 100, 10)
    compare("sql: a portal of 1,000,000 activities", portal, "u1", department=True)
