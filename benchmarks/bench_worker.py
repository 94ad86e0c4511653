"""Due rule jobs per second, end to end (P1, P2): claim, engine, apply, commit.

A backlog of due jobs (each deal entered "New" an hour ago; one job writes a
history entry, the other a notification to the outbox) is run by `RuleHost`
over SQLite (one worker; a file in WAL mode, at the default synchronous=FULL
and at NORMAL) and PostgreSQL (one worker, then two processes), beside the
in-memory baselines measured in the same run: the engine's `run_due` alone,
and `RuleHost` over `InMemoryStorage`. The ratio to in-memory `run_due` is
the cost of durability per job.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crmcounters import (
    Department,
    InMemoryOutbox,
    InMemoryStorage,
    Item,
    Pipeline,
    RuleHost,
    Stage,
    StageChanged,
    User,
)
from crmcounters.rules import (
    AddHistoryEntry,
    Delay,
    NotifySupervisor,
    PendingJobs,
    Rule,
    RuleEngine,
    RuleSet,
    Timing,
)
from crmcounters.sql import SqlJobStore, SqlOutbox, SqlStorage
from crmcounters.testing import FixedClock

from ._harness import figure, header, note, scaled

ENTERED = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
NOW = ENTERED + timedelta(hours=2)
BATCH = 500
_HOUR = Timing(delay=Delay(after=1, unit="hours"))
RULES = RuleSet(
    rules=[
        Rule(
            id=rule_id,
            entity_type="deal",
            pipeline_id="p",
            stage_id="new",
            timing=_HOUR,
            action=action,
        )
        for rule_id, action in (
            ("r-note", AddHistoryEntry(text="an hour in {{Stage}}")),
            ("r-late", NotifySupervisor(text="{{Title}} waits for {{Responsible}}")),
        )
    ]
)


def backlog(deals: int) -> tuple[InMemoryStorage, PendingJobs]:
    """`deals` deals of 20 users in one team, each with its two jobs due at `NOW`."""
    storage = InMemoryStorage()
    storage.add(
        Department(id="d", name="Sales", head_id="boss"),
        User(id="boss", name="Boss", time_zone="Europe/Warsaw"),
        *(
            User(id=f"u{n}", name=f"User {n}", time_zone="Europe/Warsaw", department_id="d")
            for n in range(20)
        ),
        Pipeline(id="p", entity_type="deal", stages=[Stage(id="new", name="New")]),
    )
    items = [
        Item(
            id=f"deal-{n}",
            entity_type="deal",
            pipeline_id="p",
            stage_id="new",
            responsible_id=f"u{n % 20}",
            created_at=ENTERED,
            title=f"Deal {n}",
        )
        for n in range(deals)
    ]
    events = [
        StageChanged(
            id=f"enter-{item.id}",
            item_id=item.id,
            at=ENTERED,
            by_user_id=item.responsible_id,
            to_stage_id="new",
        )
        for item in items
    ]
    storage.add_all(items)
    storage.add_all(events)
    engine = RuleEngine.for_storage(RULES, storage)
    jobs = PendingJobs()
    for event in events:
        jobs.apply(engine.handle(event, storage, ENTERED, jobs))
    return storage, jobs


def copy(memory: InMemoryStorage, jobs: PendingJobs, storage: SqlStorage) -> None:
    """The backlog's portal and jobs into an empty database."""
    storage.add(*memory.users(), *memory.departments(), *memory.pipelines())
    storage.add_all(memory.items())
    storage.add_all(memory.events())
    SqlJobStore(storage).add(*jobs)


def _rate(jobs: int, seconds: float) -> str:
    return f"{jobs / seconds:,.0f} jobs/s"


#: This process's CPU seconds per job of the last `_per_job` run (the database server's and
#: the other workers' not included): a figure that a busy machine disturbs less than wall time.
_cpu: list[float] = [0.0]


def _per_job(jobs: int, run: Callable[[], int]) -> float:
    """Wall seconds per job of one run that must finish exactly `jobs` jobs."""
    start, cpu = time.perf_counter(), time.process_time()
    done = run()
    seconds = time.perf_counter() - start
    _cpu[0] = (time.process_time() - cpu) / jobs
    assert done == jobs, (done, jobs)
    return seconds / jobs


def in_memory(deals: int) -> tuple[float, float]:
    """Per job: the engine's `run_due` over memory, and `RuleHost` over memory."""
    storage, jobs = backlog(deals)
    engine = RuleEngine.for_storage(RULES, storage)
    total = len(jobs)

    def engine_only() -> int:
        return len(engine.run_due(storage, NOW, jobs).finished)

    pure = _per_job(total, engine_only)
    storage, jobs = backlog(deals)
    clock = FixedClock(NOW)
    host = RuleHost(
        engine, storage, jobs, InMemoryOutbox(clock=clock), clock=clock, batch_size=BATCH
    )
    hosted = _per_job(total, lambda: host.run_due().finished)
    assert len(storage.events()) == deals * 2  # entries and history
    return pure, hosted


def _host(storage: SqlStorage) -> RuleHost:
    clock = FixedClock(NOW)
    engine = RuleEngine.for_storage(RULES, storage)
    return RuleHost(
        engine,
        storage,
        SqlJobStore(storage),
        SqlOutbox(storage, clock=clock),
        clock=clock,
        batch_size=BATCH,
    )


def sqlite_file(deals: int, synchronous: str) -> float:
    """Per job, one worker over a SQLite file in WAL mode."""
    memory, jobs = backlog(deals)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        connection = sqlite3.connect(path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        storage = SqlStorage.create(connection)
        copy(memory, jobs, storage)
        seconds = _per_job(len(jobs), lambda: _host(storage).run_due().finished)
        assert len(SqlOutbox(storage)) == deals
        connection.close()
    return seconds


@contextmanager
def _postgres_schema() -> Iterator[str | None]:
    dsn = os.environ.get("CRMCOUNTERS_PG_DSN")
    if not dsn:
        yield None
        return
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"crmcounters_bench_worker_{os.getpid()}"
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(dsn, options=f"-c search_path={schema}")
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def _pg_storage(dsn: str) -> SqlStorage:
    import psycopg

    return SqlStorage(psycopg.connect(dsn, autocommit=True))


def _pg_worker(
    dsn: str,
    ready: multiprocessing.Queue[int],
    start: multiprocessing.synchronize.Event,
    done: multiprocessing.Queue[int],
) -> None:
    host = _host(_pg_storage(dsn))
    ready.put(0)
    start.wait()
    done.put(host.run_due().finished)


def postgres(deals: int, workers: int) -> float | None:
    """Per job (wall time over all workers), `workers` processes over one PostgreSQL database."""
    with _postgres_schema() as dsn:
        if dsn is None:
            return None
        import psycopg

        memory, jobs = backlog(deals)
        with psycopg.connect(dsn, autocommit=True) as connection:
            copy(memory, jobs, SqlStorage.create(connection))
        if workers == 1:
            storage = _pg_storage(dsn)
            seconds = _per_job(len(jobs), lambda: _host(storage).run_due().finished)
            storage.connection.close()
            return seconds
        context = multiprocessing.get_context("spawn")
        ready, start, done = context.Queue(), context.Event(), context.Queue()
        processes = [
            context.Process(target=_pg_worker, args=(dsn, ready, start, done))
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        for _ in processes:  # every process imported and connected before the clock starts
            ready.get(timeout=600)

        def run() -> int:
            start.set()
            return sum(done.get(timeout=600) for _ in processes)

        seconds = _per_job(len(jobs), run)
        for process in processes:
            process.join(timeout=60)
        return seconds


def main() -> None:
    """Print due jobs per second on SQLite and PostgreSQL beside the in-memory run_due."""
    deals = scaled(10_000, 5)
    total = deals * 2
    header(f"worker: {total} due jobs, claimed {BATCH} at a time, end to end")
    in_memory(scaled(1_000, 5))  # warm-up: imports, caches
    pure, hosted = in_memory(deals)
    base = ("in-memory run_due", pure)
    figure(f"in-memory engine run_due, per job ({_rate(1, pure)})", pure)
    figure(f"in-memory RuleHost.run_due, per job ({_rate(1, hosted)})", hosted, baseline=base)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    note(f"load average {load:.1f} on {os.cpu_count()} cores: wall times grow with it")
    for synchronous in ("FULL", "NORMAL"):
        seconds = sqlite_file(deals, synchronous)
        figure(
            f"SQLite file, WAL, synchronous={synchronous}, 1 worker ({_rate(1, seconds)})",
            seconds,
            baseline=base,
            target=">= 5,000 jobs/s" if synchronous == "FULL" else "",
        )
        note(f"  of which this process's CPU: {_cpu[0] * 1e6:.1f} µs per job")
    for workers in (1, 2):
        seconds = postgres(deals, workers)
        if seconds is None:
            note("postgres: skipped (CRMCOUNTERS_PG_DSN is not set)")
            break
        figure(
            f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''} ({_rate(1, seconds)})",
            seconds,
            baseline=base,
            target=">= 2,000 jobs/s",
        )
        if workers == 1:
            note(f"  of which this process's CPU: {_cpu[0] * 1e6:.1f} µs per job")
