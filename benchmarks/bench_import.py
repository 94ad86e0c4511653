"""Importing a whole portal into a database: `import_portal` against the 0.2.0 way.

The 0.2.0 way is what a host had to write: `add_all` in batches of 50,000
records (each batch checked with queries, written with executemany), measured
on the smaller portal only (it takes minutes at 1,000,000 on PostgreSQL).
`import_portal` checks the portal once in memory, bulk-inserts (COPY on
PostgreSQL) and builds the indexes at the end, in one transaction. Beside it:
reading the same portal from JSON, the CLI's other half of `crmcounters import`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from crmcounters import InMemoryStorage, Portal, dump_portal, load_portal
from crmcounters.sql import import_portal, open_storage

from ._harness import figure, header, note, scaled, timed
from .bench_sql import build, load


def _databases(folder: Path, name: str) -> Iterator[tuple[str, str]]:
    """(label, URL) of an empty SQLite file and, with CRMCOUNTERS_PG_DSN, a PostgreSQL schema."""
    yield "sqlite", str(folder / f"{name}.db")
    dsn = os.environ.get("CRMCOUNTERS_PG_DSN")
    if not dsn:
        return
    import psycopg

    schema = f"crmcounters_bench_import_{os.getpid()}_{name}"
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield "postgres", f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def _import(url: str, memory: InMemoryStorage) -> float:
    with open_storage(url, create=True) as storage:
        _, seconds = timed(lambda: import_portal(Portal(storage=memory), storage))
        assert len(storage) == len(memory)
    return seconds


def _old_way(url: str, memory: InMemoryStorage) -> float:
    with open_storage(url, create=True) as storage:
        _, seconds = timed(lambda: load(memory, storage))
        assert len(storage) == len(memory)
    return seconds


def _each_database(memory: InMemoryStorage, way: str) -> dict[str, float]:
    """Seconds per database label for one way of loading `memory` into a fresh database."""
    measure = _import if way == "new" else _old_way
    with tempfile.TemporaryDirectory() as folder:
        return {label: measure(url, memory) for label, url in _databases(Path(folder), way)}


def main() -> None:
    """Print import times per database, with the 0.2.0 way and JSON reading beside them."""
    small, big = scaled(100, 2), scaled(1_000, 2)  # users x 100 items x 10 activities
    header("import: a whole portal into an empty database")
    if not os.environ.get("CRMCOUNTERS_PG_DSN"):
        note("postgres: skipped (CRMCOUNTERS_PG_DSN is not set)")
    portal = build(small, 100, 10)
    count = len(portal.activities())
    document = dump_portal(Portal(storage=portal))
    _, parse = timed(lambda: load_portal(document))
    figure(f"load_portal: {count:,} activities from JSON ({len(document) >> 20} MB)", parse)
    old, new = _each_database(portal, "old"), _each_database(portal, "new")
    for label, seconds in new.items():
        figure(
            f"{label}: import_portal, {count:,} activities",
            seconds,
            baseline=("add_all in 50,000 batches", old[label]),
        )
    del portal
    portal = build(big, 100, 10)
    count = len(portal.activities())
    for label, seconds in _each_database(portal, "new").items():
        figure(
            f"{label}: import_portal, {count:,} activities",
            seconds,
            target="< 60 s for 1,000,000",
        )
        note(f"{label}: {count / seconds:,.0f} activities per second")
