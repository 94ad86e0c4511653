"""Concurrent writers on one database: they wait their turn, none fails, nothing tears (P5).

SQLite: threads and processes writing one file, each through a storage of its
own or one shared pooled storage, in WAL and rollback-journal modes; a writer
held up past the timeout gets `StorageBusyError` and writes nothing.
PostgreSQL: threads sharing one pooled storage, and processes.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from _build import T0, todo
from _sql_backends import BACKENDS, PG_DSN, PG_SKIP_REASON, fresh_database
from _sql_workers import PATIENCE, add_batches, add_one_by_one, memory_of, seed
from crmcounters import StorageBusyError, counters_of
from crmcounters.sql import CounterTotals, SqlStorage, open_storage

THREADS = 8


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding the small portal and four deals w0..w3 of rep."""
    with fresh_database(request.param, tmp_path) as found:
        seed(found)
        yield found


def _check_whole(url: str, activities: int, bindings: int | None = None) -> None:
    """Exact counts, the bindings, SQLite's integrity check, counters and focus pages as in
    memory."""
    with open_storage(url) as storage, storage.transaction() as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM crm_activities")
        assert cursor.fetchone()[0] == activities
        cursor.execute("SELECT COUNT(*) FROM crm_activity_items")
        assert cursor.fetchone()[0] == (activities if bindings is None else bindings)
        if storage.dialect == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchall() == [("ok",)]
        cursor.close()
        memory = memory_of(url)
        assert storage.counter_totals("rep", T0) == CounterTotals.of(counters_of(memory, "rep", T0))
        # Issue 15: writers touching one item took turns over its focus rows (F1, V1).
        for stage in memory.pipeline("p").stages:
            pages = [
                one.kanban_focus_page("deal", "p", stage.id, T0, limit=None, after=None)
                for one in (storage, memory)
            ]
            assert pages[0] == pages[1]
        views = [
            one.view_focus_pages("rep", T0, limit=None, column=None, after=None)
            for one in (storage, memory)
        ]
        assert views[0] == views[1]


def _run_threads(target: Callable[[int], int]) -> list[int]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(target, range(THREADS)))


def test_p5_threads_each_with_a_storage_of_their_own_all_write(url: str) -> None:
    """P5: 8 threads x 25 single writes, each thread opening its own storage: 200 of 200."""
    barrier = threading.Barrier(THREADS)
    assert _run_threads(lambda n: add_one_by_one(url, n, 25, barrier)) == [25] * THREADS
    _check_whole(url, THREADS * 25)


def test_p5_threads_each_with_its_own_sqlite3_connection_all_write(tmp_path: Path) -> None:
    """P5, as the bug report had it: 8 threads, each SqlStorage(sqlite3.connect(file)), 25 adds."""
    path = tmp_path / "own.db"
    seed(str(path))
    barrier = threading.Barrier(THREADS)

    def work(writer: int) -> int:
        connection = sqlite3.connect(path, timeout=PATIENCE)  # the report had the default 5 s
        storage = SqlStorage(connection)
        barrier.wait()
        for n in range(25):
            storage.add(todo(f"c{writer}-{n}", f"w{n % 4}"))
        connection.close()
        return 25

    assert _run_threads(work) == [25] * THREADS
    _check_whole(str(path), THREADS * 25)


def test_p5_threads_sharing_one_pooled_storage_read_and_write_in_parallel(url: str) -> None:
    """P5: one open_storage shared by a thread pool; writes and counter reads interleave."""
    barrier = threading.Barrier(THREADS)
    with open_storage(url, max_connections=4, timeout=PATIENCE) as storage:

        def work(writer: int) -> int:
            barrier.wait()
            for n in range(25):
                storage.add(todo(f"s{writer}-{n}", f"w{n % 4}", deadline=T0 + timedelta(hours=n)))
                storage.counter_totals("rep", T0)
                storage.view_columns("rep", T0)
            return 25

        assert _run_threads(work) == [25] * THREADS
    _check_whole(url, THREADS * 25)


def test_p5_threads_sharing_one_connection_take_turns(tmp_path: Path) -> None:
    """P5: a storage over one connection lends it to one thread at a time (threads may share)."""
    seed(str(tmp_path / "one.db"))
    connection = sqlite3.connect(tmp_path / "one.db", check_same_thread=False)
    storage = SqlStorage(connection)

    def work(writer: int) -> int:
        for n in range(25):
            with storage.transaction():  # several writes as one, while others wait
                storage.add(todo(f"o{writer}-{n}", "w0"))
                storage.add(todo(f"o{writer}-{n}-b", "w1"))
        return 25

    assert _run_threads(work) == [25] * THREADS
    connection.close()
    _check_whole(str(tmp_path / "one.db"), THREADS * 50)


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_p5_processes_writing_one_sqlite_file_all_succeed(
    tmp_path: Path, journal_mode: str
) -> None:
    """P5: 3 processes x 20 batches of 200 (reads in between) on one file, in both journal modes."""
    url = f"sqlite:///{tmp_path / 'shared.db'}?journal_mode={journal_mode}"
    seed(url)
    _run_processes(url, processes=3, batches=20, size=200)
    _check_whole(url, 3 * 20 * 200)


def _run_processes(url: str, *, processes: int, batches: int, size: int) -> None:
    """Start `processes` writers at once (a barrier), wait for each; every one must exit 0."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(processes)
    workers = [
        spawn.Process(target=add_batches, args=(url, writer, batches, size, barrier))
        for writer in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0] * processes


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_p5_processes_writing_one_postgresql_database_all_succeed(tmp_path: Path) -> None:
    """P5: on PostgreSQL several processes read and write at once."""
    with fresh_database("postgres", tmp_path) as url:
        seed(url)
        _run_processes(url, processes=2, batches=10, size=200)
        _check_whole(url, 2 * 10 * 200)


def test_p5_a_writer_waits_for_the_lock_while_another_holds_it(tmp_path: Path) -> None:
    """P5: a writer held up for 0.3 s by another's transaction waits, then writes."""
    url = str(tmp_path / "wait.db")
    seed(url)
    blocker = sqlite3.connect(url, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, blocker.rollback).start()
    with open_storage(url, timeout=10) as storage:
        started = time.monotonic()
        storage.add(todo("late", "w0"))
        assert time.monotonic() - started >= 0.25
        assert storage.activity("late").item_ids == ("w0",)
    blocker.close()


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_p5_a_writer_held_past_the_timeout_gets_storage_busy_and_writes_nothing(
    tmp_path: Path, journal_mode: str
) -> None:
    """P5: the lock held by another connection past the timeout: StorageBusyError, no row."""
    url = f"sqlite:///{tmp_path / 'busy.db'}?journal_mode={journal_mode}"
    seed(url)
    blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with open_storage(url, timeout=0.2) as storage:
            with pytest.raises(StorageBusyError, match="the database is busy"):
                storage.add(todo("blocked", "w0"), todo("blocked-2", "w1"))
            with pytest.raises(StorageBusyError):
                storage.replace(attrs.evolve(storage.item("w0"), title="Renamed"))
    finally:
        blocker.rollback()
        blocker.close()
    with open_storage(url) as storage:
        assert [a.id for a in storage.activities()] == []
        assert storage.item("w0").title == "Deal w0"
        storage.add(todo("after", "w0"))  # free again: the write goes through
    _check_whole(url, 1)


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_p5_a_postgresql_writer_held_past_the_lock_timeout_gets_storage_busy(
    tmp_path: Path,
) -> None:
    """P5: an item row locked by another transaction past the timeout: StorageBusyError."""
    with fresh_database("postgres", tmp_path) as url:
        seed(url)
        _blocked_by_a_row_lock(url)


def _blocked_by_a_row_lock(url: str) -> None:
    with open_storage(url) as holder, holder.transaction() as connection:
        connection.execute("SELECT id FROM crm_items WHERE id = 'w0' FOR UPDATE")
        with open_storage(url, timeout=0.2) as storage:
            with pytest.raises(StorageBusyError, match="the database is busy"):
                storage.add(todo("blocked", "w0"))
            storage.add(todo("free", "w1"))  # other rows are not held up
    with open_storage(url) as storage:
        assert [a.id for a in storage.activities()] == ["free"]


def test_p5_a_thread_waits_for_a_free_connection_up_to_the_timeout(tmp_path: Path) -> None:
    """P5: every pooled connection busy past the timeout: StorageBusyError for the next thread."""
    url = str(tmp_path / "pool.db")
    seed(url)
    with open_storage(url, max_connections=1, timeout=0.2) as storage:
        entered, leave = threading.Event(), threading.Event()

        def hold() -> None:
            with storage.transaction():
                entered.set()
                leave.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        entered.wait(5)
        try:
            with pytest.raises(StorageBusyError, match="all 1 connections"):
                storage.user("rep")
        finally:
            leave.set()
            holder.join()
        assert storage.user("rep").id == "rep"  # given back: usable again


def test_p5_bindings_follow_an_item_reassigned_while_activities_are_added(url: str) -> None:
    """P5/C2: concurrent reassignments and activity writes leave every binding's copy in step."""
    with open_storage(url, timeout=PATIENCE) as storage:
        stop = threading.Event()

        def reassign() -> int:
            turns = 0
            while not stop.is_set():
                item = storage.item("w0")
                storage.replace(attrs.evolve(item, responsible_id="lead" if turns % 2 else "rep"))
                turns += 1
            return turns

        with ThreadPoolExecutor(3) as pool:
            mover = pool.submit(reassign)
            writers = [
                pool.submit(
                    lambda w=w: [storage.add(todo(f"r{w}-{n}", "w0", "w1")) for n in range(30)]
                )
                for w in range(2)
            ]
            for writer in writers:
                writer.result()
            stop.set()
            assert mover.result() > 0
        with storage.transaction() as connection:
            cursor = connection.cursor()
            cursor.execute(
                "SELECT COUNT(*) FROM crm_activity_items b JOIN crm_items i ON i.id = b.item_id "
                "WHERE b.item_responsible_id <> i.responsible_id"
            )
            assert cursor.fetchone()[0] == 0
            cursor.close()
    _check_whole(url, 60, bindings=120)
