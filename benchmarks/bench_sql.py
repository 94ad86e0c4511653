"""SqlStorage: counters pushed down to SQLite (and PostgreSQL when CRMCOUNTERS_PG_DSN is set).

Two portals: one user with about 50,000 open activities, and a portal of
1,000,000 activities. In-memory baselines, measured in the same run on the same
data and checked to give the same numbers: a `CounterIndex` read (what a host
keeping the index pays per page view) and `counters_of` (a full recompute over
InMemoryStorage); and `counters_of` over SqlStorage's row reads (what a host
gets without the pushed-down queries).
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    CounterIndex,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    User,
    counters_of,
    summed_counters,
)
from crmcounters.sql import CounterTotals, SqlStorage

from ._harness import figure, header, median_seconds, note, scaled, timed

NOW = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
_BATCH = 50_000
EVERYONE = AccessPolicy(default=AccessLevel.ALL)


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


def load(memory: InMemoryStorage, storage: SqlStorage) -> None:
    """Copy a portal into SQL, a batch of at most 50,000 records per transaction."""
    storage.add(*memory.users(), *memory.departments())
    storage.add_all(memory.pipelines())
    for records in (list(memory.items()), list(memory.activities())):
        for start in range(0, len(records), _BATCH):
            storage.add_all(records[start : start + _BATCH])


def compare(title: str, memory: InMemoryStorage, user: str, department: bool) -> None:
    """Load `memory` into each database and time the counters against the in-memory ones."""
    header(title)
    index, built = timed(lambda: CounterIndex.build(memory, NOW))
    opens = len(memory.open_activities_of_user(user))
    note(f"{len(memory.activities())} activities; CounterIndex built in {built:.1f} s")
    read = median_seconds(lambda: index.counters(user), number=1_000)
    figure(f"in-memory CounterIndex.counters({user!r}) (read)", read)
    full = median_seconds(lambda: counters_of(memory, user, NOW), repeat=3)
    figure(f"in-memory counters_of for {user} ({opens} open activities)", full)
    result = counters_of(memory, user, NOW)
    assert not result.blocked
    assert index.counters(user) == result
    expected = CounterTotals.of(result)
    if department:
        summed = summed_counters(memory, NOW, viewer_id=user, policy=EVERYONE)
        assert index.summed(viewer_id=user, policy=EVERYONE) == summed
        everyone_read = median_seconds(
            lambda: index.summed(viewer_id=user, policy=EVERYONE), repeat=3
        )
        everyone_full = median_seconds(
            lambda: summed_counters(memory, NOW, viewer_id=user, policy=EVERYONE), repeat=1
        )
    for name, storage in _databases():
        _, seconds = timed(lambda storage=storage: load(memory, storage))  # type: ignore[misc]
        note(f"{name}: {len(memory.activities())} activities loaded in {seconds:.1f} s")
        assert storage.counter_totals(user, NOW) == expected
        pushed = median_seconds(lambda storage=storage: storage.counter_totals(user, NOW))
        label = f"{name}: counter_totals (pushed down)"
        figure(label, pushed, baseline=("counters_of in memory", full))
        figure(f"in-memory CounterIndex read, against {name}", read, baseline=(label, pushed))
        rows, rows_seconds = timed(lambda storage=storage: counters_of(storage, user, NOW))
        assert CounterTotals.of(rows) == expected
        figure(label, pushed, baseline=("counters_of over fetched rows", rows_seconds))
        figure(
            f"{name}: view_columns (pushed down)",
            median_seconds(lambda storage=storage: storage.view_columns(user, NOW), repeat=3),
        )
        if department:
            assert storage.department_totals("all", NOW) == CounterTotals.of(summed)
            label = f"{name}: department_totals (all users)"
            everyone = median_seconds(
                lambda storage=storage: storage.department_totals("all", NOW), repeat=3
            )
            figure(label, everyone, baseline=("summed_counters in memory", everyone_full))
            figure(
                f"in-memory CounterIndex.summed, against {name}",
                everyone_read,
                baseline=(label, everyone),
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
