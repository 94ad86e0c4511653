"""Your own tables behind SqlStorage (examples/own_tables.py): views from a column mapping.

Generated Django-style rows are written to the host's tables; the SQL-side
counters and the reads through the views must equal the pure calculator over
the same data as library records (G1, C2-C5, C7-C9, V1), on SQLite and, with a
DSN, PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _sql_backends import BACKENDS, PG_DSN, sql_examples
from crmcounters import (
    Activity,
    CounterMode,
    Department,
    InMemoryStorage,
    Item,
    Settings,
    User,
    ValidationError,
    activities_view,
)
from crmcounters.focus import kanban_board
from crmcounters.sql import (
    VIEWS,
    OwnTables,
    SqlStorage,
    TableMapping,
    Timestamp,
    create_views,
    views_script,
)
from crmcounters.testing.strategies import aware_datetimes, zones
from test_sql_counters import check_all

ROOT = Path(__file__).resolve().parent.parent


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("own_tables", ROOT / "examples" / "own_tables.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["own_tables"] = module
    spec.loader.exec_module(module)
    return module


EXAMPLE = _example()
HOST_TABLES = (
    "app_activity_deals",
    "app_activity",
    "app_deal",
    "app_profile",
    "app_department",
    "auth_user",
)


@contextmanager
def host_database(backend: str) -> Iterator[Any]:
    """An empty host schema (the example's) on `backend`: SQLite in memory, or a PG schema."""
    if backend == "sqlite":
        connection = sqlite3.connect(":memory:")
        for statement in EXAMPLE.host_schema("sqlite"):
            EXAMPLE.execute(connection, "sqlite", statement)
        try:
            yield connection
        finally:
            connection.close()
        return
    import psycopg

    connection = psycopg.connect(PG_DSN, autocommit=True)
    schema = f"crmcounters_own_{os.getpid()}"
    connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    connection.execute(f"CREATE SCHEMA {schema}")
    connection.execute(f"SET search_path TO {schema}")
    for statement in EXAMPLE.host_schema("postgres"):
        EXAMPLE.execute(connection, "postgres", statement)
    try:
        yield connection
    finally:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.close()


_databases: dict[str, Any] = {}


def _reused(backend: str) -> Any:
    """One host database per backend for all examples of a run, emptied before each."""
    if backend not in _databases:
        manager = host_database(backend)
        _databases[backend] = (manager, manager.__enter__())
    connection = _databases[backend][1]
    for table in HOST_TABLES:
        EXAMPLE.execute(connection, backend, f"DELETE FROM {table}")  # noqa: S608  # constants
    return connection


def teardown_module() -> None:
    for manager, _ in _databases.values():
        manager.__exit__(None, None, None)
    _databases.clear()


def _instants() -> st.SearchStrategy[datetime]:
    """Aware instants with microseconds: the views must keep them exactly."""
    return st.builds(
        lambda at, us: at + timedelta(microseconds=us),
        aware_datetimes(),
        st.integers(0, 999_999),
    )


@st.composite
def host_data(draw: st.DrawFn) -> tuple[dict[str, list[tuple[Any, ...]]], InMemoryStorage]:
    """Rows of the host's tables, and the same portal as library records (the expected side)."""
    portal = InMemoryStorage(
        Settings(
            urgency_offset_minutes=draw(st.sampled_from([0, 15, 60])),
            counter_mode=draw(st.sampled_from(list(CounterMode))),
            open_activity_cap=draw(st.sampled_from([50_000, 3])),
            week_start=draw(st.integers(0, 6)),
        )
    )
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in HOST_TABLES}
    n_departments = draw(st.integers(1, 3))
    n_users = draw(st.integers(1, 4))
    departments = []
    for d in range(1, n_departments + 1):
        parent = None if d == 1 else draw(st.integers(1, d - 1))
        head = draw(st.none() | st.integers(1, n_users))
        rows["app_department"].append((d, f"Department {d}", parent, head))
        departments.append(
            Department(
                id=str(d),
                name=f"Department {d}",
                parent_id=None if parent is None else str(parent),
                head_id=None if head is None else str(head),
            )
        )
    users = []
    for u in range(1, n_users + 1):
        zone, department = draw(zones()), draw(st.integers(1, n_departments))
        first = draw(st.text("ab' ", max_size=3))
        rows["auth_user"].append((u, f"user{u}", first, "X"))
        rows["app_profile"].append((u, u, department, zone))
        users.append(
            User(id=str(u), name=f"{first} X", time_zone=zone, department_id=str(department))
        )
    portal.add(*users, *departments)
    portal.add(EXAMPLE.SALES)
    deals = []
    for n in range(1, draw(st.integers(0, 8)) + 1):
        stage = draw(st.sampled_from(["new", "offer", "won"]))
        owner, created = draw(st.integers(1, n_users)), draw(_instants())
        amount = draw(st.none() | st.integers(0, 10**6))
        rows["app_deal"].append((n, f"Deal {n}", stage, owner, created, amount, "PLN"))
        deals.append(
            Item(
                id=str(n),
                entity_type="deal",
                pipeline_id="sales",
                stage_id=stage,
                responsible_id=str(owner),
                created_at=created,
                title=f"Deal {n}",
                amount=None if amount is None else str(amount),
                currency="PLN",
            )
        )
    portal.add_all(deals)
    activities, binding = [], 0
    for a in range(1, (draw(st.integers(0, 14)) if deals else 0) + 1):
        bound = draw(st.lists(st.integers(1, len(deals)), min_size=1, max_size=2, unique=True))
        incoming = draw(st.booleans())
        created = draw(_instants())
        deadline = None if incoming else draw(st.none() | _instants())
        done = draw(st.none() | st.integers(0, 10**8))
        completed = None if done is None else created + timedelta(seconds=done)
        owner = draw(st.integers(1, n_users))
        kind = "email" if incoming else draw(st.sampled_from(["call", "todo", "meeting"]))
        rows["app_activity"].append(
            (a, f"Activity {a}", kind, owner, created, deadline, completed, incoming)
        )
        for deal in bound:
            binding += 1
            rows["app_activity_deals"].append((binding, a, deal))
        activities.append(
            Activity(
                id=str(a),
                item_ids=[str(deal) for deal in bound],
                kind=kind,
                direction="incoming" if incoming else "none",
                responsible_id=str(owner),
                subject=f"Activity {a}",
                created_at=created,
                deadline=deadline,
                completed_at=completed,
                incoming=incoming,
            )
        )
    portal.add_all(activities)
    return rows, portal


def _by_id(records: Any) -> list[Any]:
    return sorted(records, key=lambda record: record.id)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples())
@given(data=host_data(), moments=st.lists(aware_datetimes(), min_size=1, max_size=3))
def test_g1_c2_c9_v1_counters_over_own_tables_equal_the_calculator(
    backend: str, data: tuple[dict[str, list[tuple[Any, ...]]], InMemoryStorage], moments: Any
) -> None:
    """The example's mapping over generated host rows answers as the calculator on the records."""
    rows, portal = data
    connection = _reused(backend)
    EXAMPLE.insert_rows(connection, backend, rows)
    create_views(connection, EXAMPLE.TABLES, portal.settings)
    storage = SqlStorage(connection)
    assert storage.read_only
    assert list(storage.users()) == list(portal.users())
    assert _by_id(storage.departments()) == _by_id(portal.departments())
    assert list(storage.pipelines()) == [EXAMPLE.SALES]
    assert _by_id(storage.items()) == _by_id(portal.items())
    assert _by_id(storage.activities()) == _by_id(portal.activities())
    for item in portal.items():
        assert _by_id(storage.open_activities_of_item(item.id)) == _by_id(
            portal.open_activities_of_item(item.id)
        )
    assert not storage.focus_pushed_down
    for now in moments:
        check_all(storage, portal, now)
        # Issue 15: no focus tables over your own tables: pages are computed from the records.
        for user in portal.users():
            assert activities_view(storage, user.id, now, limit=2) == activities_view(
                portal, user.id, now, limit=2
            )
        viewer = next(iter(portal.users())).id
        assert kanban_board(storage, "deal", EXAMPLE.SALES.id, viewer, now, limit=2) == (
            kanban_board(portal, "deal", EXAMPLE.SALES.id, viewer, now, limit=2)
        )
        # N1: over views the reminder feed scans the activities, as the pure function does.
        week = (now, now + timedelta(days=7))
        assert storage.reminders_between(*week) == portal.reminders_between(*week)
        assert storage.next_reminder_after(now) == portal.next_reminder_after(now)


def test_the_example_prints_counters_from_its_own_tables() -> None:
    """The example's own run (its expected lines are in tests/test_examples.py)."""
    EXAMPLE.main()


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_writes_through_views_are_refused_naming_the_storage(backend: str) -> None:
    """A storage over views is read-only: every write is one clear error, nothing changes."""
    connection = _reused(backend)
    EXAMPLE.insert_rows(connection, backend, EXAMPLE.sample_rows())
    create_views(connection, EXAMPLE.TABLES, Settings())
    storage = SqlStorage(connection)
    activity = storage.activity("2")
    for write in (
        lambda: storage.add(User(id="99", name="N", time_zone="UTC")),
        lambda: storage.replace(activity),
        lambda: storage.remove_activity("2"),
        lambda: storage.remove_task("1"),
        lambda: storage.remove_item("1"),
        lambda: storage.set_settings(Settings()),
    ):
        with pytest.raises(ValidationError, match="write to your tables"):
            write()
    assert storage.activity("2") == activity


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        ({"id": "u.id"}, r"users\.columns\.time_zone: required"),
        ({"id": "u.id", "time_zone": "'UTC'", "zone": "'UTC'"}, r"users\.columns\.zone: not a"),
        ({"id": "u.id", "time_zone": Timestamp("u.id")}, "not an instant"),
    ],
)
def test_a_mapping_mistake_names_the_table_and_column(columns: Any, words: str) -> None:
    """Required, unknown and mistyped columns are refused before any SQL runs."""
    tables = OwnTables(
        users=TableMapping(source="auth_user u", columns=columns),
        items=EXAMPLE.TABLES.items,
        activities=EXAMPLE.TABLES.activities,
        bindings=EXAMPLE.TABLES.bindings,
        pipelines=[EXAMPLE.SALES],
    )
    with pytest.raises(ValidationError, match=words):
        views_script(tables)


def test_an_instant_mapped_as_text_is_refused() -> None:
    """Instants need Timestamp(...): a plain expression cannot say its zone and format."""
    activities = TableMapping(
        source="app_activity a",
        columns={**EXAMPLE.TABLES.activities.columns, "deadline": "a.deadline"},
    )
    tables = OwnTables(
        users=EXAMPLE.TABLES.users,
        items=EXAMPLE.TABLES.items,
        activities=activities,
        bindings=EXAMPLE.TABLES.bindings,
        pipelines=[],
    )
    with pytest.raises(ValidationError, match=r"activities\.columns\.deadline: an instant"):
        views_script(tables, dialect="postgres")


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_sql_that_does_not_run_is_a_validation_error_and_keeps_the_old_views(
    backend: str,
) -> None:
    """A mapping naming a missing column fails in create_views, naming the view; all undone."""
    connection = _reused(backend)
    EXAMPLE.insert_rows(connection, backend, EXAMPLE.sample_rows())
    create_views(connection, EXAMPLE.TABLES)
    before = SqlStorage(connection).counter_totals("2", EXAMPLE.NOW)
    broken = OwnTables(
        users=EXAMPLE.TABLES.users,
        items=TableMapping(
            source="app_deal d", columns={**EXAMPLE.TABLES.items[0].columns, "title": "d.name"}
        ),
        activities=EXAMPLE.TABLES.activities,
        bindings=EXAMPLE.TABLES.bindings,
        pipelines=[],
    )
    with pytest.raises(ValidationError, match="crm_items: the mapping does not run as SQL"):
        create_views(connection, broken, Settings(urgency_offset_minutes=0))
    storage = SqlStorage(connection)
    assert storage.counter_totals("2", EXAMPLE.NOW) == before
    assert [pipeline.id for pipeline in storage.pipelines()] == ["sales"]


def test_views_script_is_the_sql_create_views_runs() -> None:
    """A DBA can read (or run) the views: one CREATE VIEW per library table."""
    script = views_script(EXAMPLE.TABLES, Settings(urgency_offset_minutes=30))
    assert [line.split()[2] for line in script.splitlines()] == list(VIEWS)
    assert "deadline_us - 1800000000" in script  # the default offset baked in (C4)
    assert "json_agg" in views_script(EXAMPLE.TABLES, dialect="postgres")


def test_instants_keep_their_microseconds_through_sqlite_text() -> None:
    """G2: Django's UTC text with and without a fraction becomes the exact instant."""
    connection = _reused("sqlite")
    at = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # the night Warsaw springs
    rows = EXAMPLE.sample_rows()
    rows["app_deal"] = [
        (1, "D", "new", 1, at, None, "PLN"),
        (2, "E", "new", 1, at.replace(microsecond=0), None, "PLN"),
    ]
    rows["app_activity"], rows["app_activity_deals"] = [], []
    EXAMPLE.insert_rows(connection, "sqlite", rows)
    create_views(connection, EXAMPLE.TABLES)
    storage = SqlStorage(connection)
    assert storage.item("1").created_at == at
    assert storage.item("2").created_at == at.replace(microsecond=0)


def test_views_are_refused_over_the_librarys_own_tables() -> None:
    """A database that holds crm_* tables already is named, not a driver error; nothing changes."""
    connection = sqlite3.connect(":memory:")
    storage = SqlStorage.create(connection)
    storage.add(User(id="u", name="U", time_zone="UTC"))
    with pytest.raises(ValidationError, match="crm_users is a table here"):
        create_views(connection, EXAMPLE.TABLES)
    assert [user.id for user in storage.users()] == ["u"]
    connection.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_g5_events_of_your_tables_take_every_check(backend: str) -> None:
    """G5, F3: events read through your views (an item's timeline, a page's batch, history)
    go through the constructors: a good row reads as the event, a blank author is refused
    naming the field (the library's own rows skip the checks; your rows never do)."""
    from crmcounters import CommentAdded, history_entries

    connection = _reused(backend)
    EXAMPLE.insert_rows(connection, backend, EXAMPLE.sample_rows())

    def events_by(author: str, kind: str = "comment") -> SqlStorage:
        """A comment (or history entry) on each deal, written by `author` (a SQL expression)."""
        events = TableMapping(
            source="app_deal d",
            columns={
                "seq": "d.id",
                "id": "'e-' || CAST(d.id AS TEXT)",
                "item_id": "d.id",
                "type": f"'{kind}'",
                "at": Timestamp("d.created_at"),
                "author_id": author,
                "text": "'called back'",
            },
        )
        create_views(connection, attrs.evolve(EXAMPLE.TABLES, events=events), Settings())
        return SqlStorage(connection)

    storage = events_by("CAST(d.responsible_id AS TEXT)")
    item = next(iter(storage.items()))
    [event] = storage.events_of_item(item.id)
    assert isinstance(event, CommentAdded)
    assert (event.author_id, event.text) == (item.responsible_id, "called back")
    assert event.at.tzinfo is UTC
    assert storage.records_of_items([item.id])[item.id].events == (event,)
    storage = events_by("' '")
    with pytest.raises(ValidationError, match="author_id"):
        storage.events_of_item(item.id)
    with pytest.raises(ValidationError, match="author_id"):
        storage.records_of_items([item.id])
    storage = events_by("' '", kind="history")
    with pytest.raises(ValidationError, match="author_id"):
        history_entries(storage, item_id=item.id)
