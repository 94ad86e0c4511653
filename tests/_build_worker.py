"""Builders for the worker tests: a database holding a backlog of due rule jobs."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from _build_rules import HOUR, WARSAW, deal, make_storage, sales_rule
from _sql_backends import copy_into
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


def backlog(deals: int) -> tuple[InMemoryStorage, PendingJobs]:
    """`deals` deals that entered New at `ENTERED`, and their pending jobs (due an hour later)."""
    storage = make_storage()
    engine = RuleEngine.for_storage(BACKLOG_RULES, storage)
    jobs = PendingJobs()
    items, events = [], []
    for n in range(deals):
        item = deal(f"deal-{n:05d}", created_at=ENTERED)
        items.append(item)
        events.append(
            StageChanged(
                id=f"enter-{n:05d}",
                item_id=item.id,
                at=ENTERED,
                by_user_id=item.responsible_id,
                to_stage_id="new",
            )
        )
    storage.add_all(items)
    storage.add_all(events)
    for event in events:
        jobs.apply(engine.handle(event, storage, ENTERED, jobs))
    return storage, jobs


def fill(target: SqlStorage, deals: int) -> None:
    """Copy the backlog's portal and jobs into an empty database."""
    storage, jobs = backlog(deals)
    copy_into(storage, target)
    SqlJobStore(target).add(*jobs)


def sqlite_backlog(path: Path, deals: int) -> Path:
    """A SQLite file holding the backlog (WAL, as `crmcounters worker` opens it)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    fill(SqlStorage.create(connection), deals)
    connection.close()
    return path


def rules_file(path: Path) -> Path:
    """The backlog's rule set as a JSON file for `crmcounters worker --rules`."""
    path.write_text(dump_rule_set(BACKLOG_RULES), encoding="utf-8")
    return path
