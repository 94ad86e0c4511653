"""Builders for the worker tests: a database holding a backlog of due rule jobs."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from _build_rules import HOUR, WARSAW, deal, make_storage, sales_rule
from _sql_backends import PG_DSN, copy_into
from crmcounters import InMemoryStorage, StageChanged
from crmcounters.rules import (
    AddHistoryEntry,
    Delay,
    NotifySupervisor,
    PendingJobs,
    RuleEngine,
    RuleSet,
    Timing,
    dump_rule_set,
)
from crmcounters.sql import SqlJobStore, SqlStorage

#: Each deal entering New schedules two jobs due an hour later: a history entry (a row in
#: crm_events) and a notification (a row in crm_outbox).
BACKLOG_RULES = RuleSet(
    rules=[
        sales_rule(
            "r-note",
            timing=Timing(delay=Delay(after=1, unit="hours")),
            action=AddHistoryEntry(text="an hour in {{Stage}}"),
        ),
        sales_rule(
            "r-late",
            timing=Timing(delay=Delay(after=1, unit="hours")),
            action=NotifySupervisor(text="{{Title}} waits"),
        ),
    ]
)
JOBS_PER_DEAL = 2
#: When the backlog's deals entered New: in the past, so the worker (on the system clock)
#: finds their jobs due.
ENTERED = datetime(2025, 12, 1, 10, 0, tzinfo=WARSAW)
DUE = ENTERED + HOUR


def backlog(deals: int, entered: datetime = ENTERED) -> tuple[InMemoryStorage, PendingJobs]:
    """`deals` deals that entered New at `entered`, and their pending jobs (due an hour later)."""
    storage = make_storage()
    engine = RuleEngine.for_storage(BACKLOG_RULES, storage)
    jobs = PendingJobs()
    items, events = [], []
    for n in range(deals):
        item = deal(f"deal-{n:05d}", created_at=entered)
        items.append(item)
        events.append(
            StageChanged(
                id=f"enter-{n:05d}",
                item_id=item.id,
                at=entered,
                by_user_id=item.responsible_id,
                to_stage_id="new",
            )
        )
    storage.add_all(items)
    storage.add_all(events)
    for event in events:
        jobs.apply(engine.handle(event, storage, entered, jobs))
    return storage, jobs


def fill(target: SqlStorage, deals: int, entered: datetime = ENTERED) -> None:
    """Copy the backlog's portal and jobs into an empty database."""
    storage, jobs = backlog(deals, entered)
    copy_into(storage, target)
    SqlJobStore(target).add(*jobs)


def sqlite_backlog(path: Path, deals: int, entered: datetime = ENTERED) -> Path:
    """A SQLite file holding the backlog (WAL, as `crmcounters worker` opens it)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    fill(SqlStorage.create(connection), deals, entered)
    connection.close()
    return path


def rules_file(path: Path) -> Path:
    """The backlog's rule set as a JSON file for `crmcounters worker --rules`."""
    path.write_text(dump_rule_set(BACKLOG_RULES), encoding="utf-8")
    return path


@contextmanager
def backlog_database(
    kind: str, tmp_path: Path, deals: int, entered: datetime = ENTERED
) -> Iterator[str]:
    """A database holding the backlog, as `crmcounters worker --db` takes it: a SQLite file,
    or a PostgreSQL DSN whose search path is a schema of its own (dropped afterwards)."""
    if kind == "sqlite":
        yield str(sqlite_backlog(tmp_path / "portal.db", deals, entered))
        return
    import psycopg

    schema = f"crmcounters_worker_{os.getpid()}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in PG_DSN else "?"
    dsn = f"{PG_DSN}{joiner}options=-csearch_path%3D{schema}"  # a URL, as open_storage takes
    try:
        with psycopg.connect(dsn, autocommit=True) as connection:
            fill(SqlStorage.create(connection), deals, entered)
        yield dsn
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


_COUNTS = {
    "jobs": "SELECT COUNT(*) FROM crm_jobs",
    "leased": "SELECT COUNT(*) FROM crm_jobs WHERE lease_token IS NOT NULL",
    "history": "SELECT COUNT(*) FROM crm_events WHERE type = 'history'",
    "history_ids": "SELECT COUNT(DISTINCT id) FROM crm_events WHERE type = 'history'",
    "outbox": "SELECT COUNT(*) FROM crm_outbox",
    "outbox_ids": "SELECT COUNT(DISTINCT id) FROM crm_outbox",
}


class Counts:
    """What the database holds, read through a connection of its own: pending and leased
    jobs, history entries and outbox entries (and their distinct ids)."""

    def __init__(self, url: str) -> None:
        if url.endswith(".db"):
            self._connection: Any = sqlite3.connect(url, isolation_level=None)
        else:
            import psycopg

            self._connection = psycopg.connect(url, autocommit=True)

    def one(self, key: str) -> int:
        """One of the counts."""
        return int(self._connection.execute(_COUNTS[key]).fetchone()[0])

    def all(self) -> dict[str, int]:
        """Every count."""
        return {key: self.one(key) for key in _COUNTS}

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()
