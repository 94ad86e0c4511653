"""Reminder pings delivered through the outbox (N1, P3): each once, with a stable id, by the
worker's "delivered up to" mark, moved in the transaction that puts them; two workers put
none twice; a failed step puts none and loses none."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from _build import small_storage, todo
from _sql_backends import BACKENDS, copy_into, fresh_database, inject_failure, run_statements
from crmcounters import (
    InMemoryOutbox,
    InMemoryStorage,
    OutboxEntry,
    RuleHost,
    ValidationError,
    Worker,
    reminder_feed,
)
from crmcounters.rules import PendingJobs, RuleEngine, RuleSet
from crmcounters.sql import SqlJobStore, SqlOutbox, SqlStorage, open_storage
from crmcounters.testing import ManualClock

T0 = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def busy_storage() -> InMemoryStorage:
    """small_storage with activities due every 10 minutes over 6 hours from T0, on two users."""
    storage = small_storage()
    storage.add_all(
        todo(
            f"a{n:02d}",
            "d1" if n % 2 else "d2",
            deadline=T0 + 10 * M * (n + 1),
            responsible_id="rep" if n % 2 else "lead",
        )
        for n in range(36)
    )
    return storage


def memory_host(storage: InMemoryStorage, clock: ManualClock) -> RuleHost:
    engine = RuleEngine.for_storage(RuleSet(), storage)
    outbox = InMemoryOutbox(clock=clock)
    return RuleHost(engine, storage, PendingJobs(), outbox, clock=clock, reminders=True)


def sql_host(storage: SqlStorage, clock: ManualClock) -> RuleHost:
    engine = RuleEngine.for_storage(RuleSet(), storage)
    return RuleHost(
        engine,
        storage,
        SqlJobStore(storage),
        SqlOutbox(storage, clock=clock),
        clock=clock,
        reminders=True,
    )


def expected_ids(storage: object, since: datetime, until: datetime) -> list[str]:
    """The ids of the pings in (since, until]."""
    us = timedelta(microseconds=1)
    return [p.id for p in reminder_feed(storage, since + us, until + us)]  # type: ignore[arg-type]


def test_n1_p3_pings_are_put_in_the_outbox_once_as_they_fall_due() -> None:
    storage, clock = busy_storage(), ManualClock(T0)
    host = memory_host(storage, clock)
    outbox = host.outbox
    assert isinstance(outbox, InMemoryOutbox)
    assert host.deliver_reminders() == 0  # the first delivery starts the mark at now
    clock.advance(30 * M)
    # a00 is due 08:10 (pings 07:55 before the mark, 08:10), a01 08:20 (08:05, 08:20),
    # a02 08:30 (08:15, 08:30 included: the window is (mark, now]), a03 08:40 (08:25).
    assert host.deliver_reminders() == 6
    entries = outbox.entries()
    assert [e.id for e in entries] == expected_ids(storage, T0, T0 + 30 * M)
    first = entries[0]
    assert first == OutboxEntry(
        id="reminder/a01/2026-12-14T08:05:00+00:00/15",
        kind="reminder",
        at=T0 + 5 * M,
        item_id="d1",
        payload={
            "recipient_id": "rep",
            "activity_id": "a01",
            "offset_minutes": 15,
            "deadline": "2026-12-14T08:20:00+00:00",
        },
    )
    assert host.deliver_reminders() == 0  # nothing new: none put twice
    assert len(outbox) == 6


def test_n1_p3_a_worker_that_was_down_catches_up_in_steps_and_skips_nothing() -> None:
    storage, clock = busy_storage(), ManualClock(T0)
    host = memory_host(storage, clock)
    host.deliver_reminders()
    clock.advance(5 * H + 7 * M)  # more than REMINDER_STEP
    count = host.deliver_reminders()
    outbox = host.outbox
    assert isinstance(outbox, InMemoryOutbox)
    assert [e.id for e in outbox.entries()] == expected_ids(storage, T0, T0 + 5 * H + 7 * M)
    assert count == len(outbox) > 50


def test_n1_p3_completed_moved_and_deleted_activities_put_no_stale_pings() -> None:
    storage, clock = busy_storage(), ManualClock(T0)
    host = memory_host(storage, clock)
    host.deliver_reminders()
    storage.replace(attrs.evolve(storage.activity("a01"), completed_at=T0))
    storage.replace(attrs.evolve(storage.activity("a02"), deadline=T0 + 10 * H))
    storage.remove_activity("a03")
    clock.advance(H)
    host.deliver_reminders()
    outbox = host.outbox
    assert isinstance(outbox, InMemoryOutbox)
    put = {e.payload["activity_id"] for e in outbox.entries()}
    assert put.isdisjoint({"a01", "a02", "a03"})
    assert {"a00", "a04", "a05"} <= put


def test_n1_next_due_says_when_the_next_ping_falls() -> None:
    storage, clock = busy_storage(), ManualClock(T0)
    host = memory_host(storage, clock)
    host.deliver_reminders()
    assert host.next_due() == T0 + 5 * M  # a01's 15-minute ping; no job waits
    off = RuleHost(host.engine, storage, PendingJobs(), InMemoryOutbox(clock=clock), clock=clock)
    assert off.next_due() is None
    assert off.deliver_reminders() == 0


def test_n1_the_worker_loop_delivers_reminders_once_no_job_is_due() -> None:
    storage, clock = busy_storage(), ManualClock(T0)
    host = memory_host(storage, clock)
    Worker(host).run(once=True)
    clock.advance(H)
    report = Worker(host).run(once=True)
    assert report.reminders == len(expected_ids(storage, T0, T0 + H)) > 0


def test_n1_reminders_need_an_outbox_with_a_mark() -> None:
    storage = small_storage()

    class Plain:  # an Outbox without the reminder mark
        def __init__(self) -> None:
            self.inner = InMemoryOutbox()

        def check(self, entries: object) -> None:
            self.inner.check(entries)  # type: ignore[arg-type]

        def put(self, entries: object) -> None:
            self.inner.put(entries)  # type: ignore[arg-type]

        def take(self, limit: int = 100, **kw: object) -> list[OutboxEntry]:
            return self.inner.take(limit)

        def acknowledge(self, ids: object) -> int:
            return self.inner.acknowledge(ids)  # type: ignore[arg-type]

        def __len__(self) -> int:
            return len(self.inner)

    engine = RuleEngine.for_storage(RuleSet(), storage)
    with pytest.raises(ValidationError, match="outbox"):
        RuleHost(engine, storage, PendingJobs(), Plain(), reminders=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_n1_p3_two_workers_on_one_database_put_each_ping_once(backend: str, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    with fresh_database(backend, tmp_path) as url:
        with open_storage(url, create=True) as storage:
            copy_into(busy_storage(), storage)
            sql_host(storage, clock).deliver_reminders()  # the mark starts at T0
        errors: list[BaseException] = []
        steps = 36
        ticks = threading.Barrier(3)  # two workers and the clock

        def work() -> None:
            try:
                with open_storage(url) as own:
                    host = sql_host(own, clock)
                    for _ in range(steps):
                        ticks.wait(60)  # the clock has moved: both look at once
                        host.deliver_reminders()
                        ticks.wait(60)
            except BaseException as error:  # reported below
                errors.append(error)
                ticks.abort()

        workers = [threading.Thread(target=work) for _ in range(2)]
        for worker in workers:
            worker.start()
        try:
            for _ in range(steps):
                clock.advance(10 * M)
                ticks.wait(60)
                ticks.wait(60)
        except threading.BrokenBarrierError:
            pass
        for worker in workers:
            worker.join(60)
        assert errors == []
        with open_storage(url) as storage:
            ids = [entry.id for entry in SqlOutbox(storage, clock=clock).entries()]
            assert ids == expected_ids(storage, T0, T0 + steps * 10 * M)
            assert len(ids) == len(set(ids)) == 71  # 36 activities x 2 pings, but a00's 07:55


@pytest.mark.parametrize("backend", BACKENDS)
def test_n1_p3_a_step_that_fails_puts_nothing_and_the_next_puts_all(
    backend: str, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    with fresh_database(backend, tmp_path) as url:
        with open_storage(url, create=True) as created:
            copy_into(busy_storage(), created)
        if backend == "sqlite":
            connection: Any = sqlite3.connect(url)
        else:
            import psycopg

            connection = psycopg.connect(url, autocommit=True)
        storage = SqlStorage(connection)  # one connection: the trigger goes on it
        host = sql_host(storage, clock)
        host.deliver_reminders()
        clock.advance(2 * H)
        undo = inject_failure(storage, "INSERT", "crm_outbox", "NEW.kind = 'reminder'")
        with pytest.raises(Exception, match="injected failure"):
            host.deliver_reminders()
        outbox = SqlOutbox(storage, clock=clock)
        assert len(outbox) == 0
        assert outbox.reminders_delivered_until(T0 + 10 * H) == T0  # the mark did not move
        run_statements(storage, undo)
        assert host.deliver_reminders() == len(expected_ids(storage, T0, T0 + 2 * H)) > 0
        assert [e.id for e in outbox.entries()] == expected_ids(storage, T0, T0 + 2 * H)
        connection.close()
