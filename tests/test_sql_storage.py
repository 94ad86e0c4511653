"""SqlStorage: the Storage protocol over SQLite and PostgreSQL, answering as InMemoryStorage does.

SPEC G1 (storage is a protocol), G2 (instants stay aware), G5 (bad writes change nothing).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings

from _build import T0, deal, small_storage, todo
from _sql_backends import (
    BACKENDS,
    PG_DSN,
    PG_SKIP_REASON,
    copy_into,
    make_older,
    sql_examples,
    sql_storage,
)
from crmcounters import (
    Activity,
    CommentAdded,
    CounterMode,
    CrmCountersError,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    Settings,
    Stage,
    Storage,
    UnknownIdError,
    User,
    ValidationError,
    counters_of,
    dump_portal,
)
from crmcounters.sql import (
    SCHEMA_VERSION,
    CounterTotals,
    SqlStorage,
    create_schema,
    migrate_schema,
    schema_script,
)
from crmcounters.testing.strategies import portals


def by_id(records: Any) -> list[Any]:
    """Records sorted by id: the protocol promises collections, not an order."""
    return sorted(records, key=lambda record: record.id)


def assert_same_answers(sql: SqlStorage, memory: InMemoryStorage) -> None:
    """Every Storage query (and the extra whole-portal reads) answers alike on both."""
    assert sql.settings == memory.settings
    assert list(sql.users()) == list(memory.users())
    assert by_id(sql.departments()) == by_id(memory.departments())
    assert by_id(sql.pipelines()) == by_id(memory.pipelines())
    assert by_id(sql.items()) == by_id(memory.items())
    assert by_id(sql.activities()) == by_id(memory.activities())
    assert by_id(sql.tasks()) == by_id(memory.tasks())
    assert by_id(sql.events()) == by_id(memory.events())
    assert len(sql) == len(memory)
    for user in memory.users():
        assert sql.user(user.id) == user
        assert sql.supervisor_of(user.id) == memory.supervisor_of(user.id)
        assert by_id(sql.items_of(user.id)) == by_id(memory.items_of(user.id))
        assert by_id(sql.open_activities_of_user(user.id)) == by_id(
            memory.open_activities_of_user(user.id)
        )
    for department in memory.departments():
        assert sql.department(department.id) == department
    for pipeline in memory.pipelines():
        assert sql.pipeline(pipeline.id) == pipeline
    for item in memory.items():
        assert sql.item(item.id) == item
        assert by_id(sql.activities_of_item(item.id)) == by_id(memory.activities_of_item(item.id))
        assert by_id(sql.open_activities_of_item(item.id)) == by_id(
            memory.open_activities_of_item(item.id)
        )
        assert by_id(sql.tasks_of_item(item.id)) == by_id(memory.tasks_of_item(item.id))
        assert list(sql.events_of_item(item.id)) == list(memory.events_of_item(item.id))
    for activity in memory.activities():
        assert sql.activity(activity.id) == activity
    for task in memory.tasks():
        assert sql.task(task.id) == task
    for event in memory.events():
        assert sql.event(event.id) == event


@contextmanager
def loaded(backend: str, memory: InMemoryStorage) -> Iterator[SqlStorage]:
    """A SqlStorage on `backend` holding a copy of `memory`."""
    with sql_storage(backend) as storage:
        copy_into(memory, storage)
        yield storage


@pytest.mark.parametrize("backend", BACKENDS)
def test_g1_sql_storage_implements_the_protocol(backend: str) -> None:
    """G1: the core talks to the Storage protocol only; SqlStorage is one."""
    with sql_storage(backend) as storage:
        assert isinstance(storage, Storage)
        assert storage.dialect == backend


def _nul_in_text(portal: Portal) -> bool:
    """A NUL in a text column (item fields are stored as JSON, where it is escaped)."""
    document = json.loads(dump_portal(attrs.evolve(portal, description="")))
    for item in document["items"]:
        item.pop("fields")
    return "\\u0000" in json.dumps(document)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples())
@given(portal=portals())
def test_g1_sql_storage_answers_every_query_as_in_memory_storage(
    backend: str, portal: Portal
) -> None:
    """G1: the same portal in SQL and in memory gives the same answer to every read."""
    if backend == "postgres" and _nul_in_text(portal):
        with sql_storage(backend) as storage, pytest.raises(ValidationError, match="NUL"):
            copy_into(portal.storage, storage)  # PostgreSQL text cannot hold NUL
        return
    with loaded(backend, portal.storage) as storage:
        assert_same_answers(storage, portal.storage)


@pytest.mark.parametrize("backend", BACKENDS)
def test_g2_instants_come_back_aware_as_the_same_instants(backend: str) -> None:
    """G2, G4: instants in an IANA zone or a fixed offset come back equal, to the microsecond,
    held in UTC as every instant the library holds."""
    memory = small_storage()
    kiritimati = datetime(2026, 12, 14, 23, 59, 59, 123456, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    honolulu = datetime(2026, 12, 14, 0, 0, tzinfo=timezone(timedelta(hours=-10)))
    memory.add(
        todo("a1", "d1", created_at=honolulu, deadline=kiritimati, reminder_offsets=[0, 60]),
        CommentAdded(id="e1", item_id="d1", at=kiritimati, author_id="lead"),
    )
    memory.replace(deal("d1", "rep", amount=Decimal("1E+3"), fields={"x": 1.5, "y": None}))
    with loaded(backend, memory) as storage:
        activity = storage.activity("a1")
        assert activity.deadline == kiritimati
        assert activity.deadline.tzinfo is UTC
        assert activity.created_at == honolulu
        assert activity.reminder_offsets == (60, 0)
        assert storage.item("d1").amount == Decimal("1E+3")
        assert dict(storage.item("d1").fields) == {"x": 1.5, "y": None}
        assert_same_answers(storage, memory)


@pytest.mark.parametrize("backend", BACKENDS)
def test_writes_follow_completion_reassignment_rescheduling_and_removal(backend: str) -> None:
    """Every kind of change reads back as InMemoryStorage holds it after the same change."""
    memory = small_storage()
    with loaded(backend, memory) as storage:
        changes: list[Callable[[Any], object]] = [
            lambda s: s.add(todo("a1", "d1"), todo("a2", "d1", "d2", responsible_id="lead")),
            lambda s: s.replace(attrs.evolve(s.activity("a1"), completed_at=T0 + timedelta(1))),
            lambda s: s.replace(attrs.evolve(s.item("d1"), responsible_id="lead")),
            lambda s: s.replace(attrs.evolve(s.activity("a2"), deadline=T0 + timedelta(days=2))),
            lambda s: s.add(CommentAdded(id="e1", item_id="d2", at=T0, author_id="rep")),
            lambda s: s.remove_item("d1"),
            lambda s: s.remove_activity("a2"),
            lambda s: s.set_settings(Settings(counter_mode=CounterMode.ACTIVITY_RESPONSIBLE)),
        ]
        for change in changes:
            assert change(storage) == change(memory)
            assert_same_answers(storage, memory)


def _snapshot(storage: SqlStorage) -> str:
    copy = InMemoryStorage(storage.settings)
    copy_from = [
        list(storage.users()) + list(storage.departments()),
        list(storage.pipelines()),
        list(storage.items()),
        list(storage.activities()) + list(storage.tasks()),
        list(storage.events()),
    ]
    for batch in copy_from:
        copy.add_all(batch)
    return dump_portal(Portal(storage=copy))


BAD_WRITES: list[tuple[str, Callable[[Any], object]]] = [
    ("duplicate in store", lambda s: s.add(deal("d3", "rep"), deal("d1", "rep"))),
    ("duplicate in batch", lambda s: s.add(todo("a", "d1"), todo("a", "d2"))),
    ("dangling item", lambda s: s.add(todo("a1", "d1"), todo("a2", "d1", "ghost"))),
    ("unknown responsible", lambda s: s.add(deal("d9", "nobody"))),
    ("unknown author", lambda s: s.add(todo("a", "d1", author_id="nobody"))),
    (
        "unknown department",
        lambda s: s.add(User(id="x", name="X", time_zone="UTC", department_id="no")),
    ),
    ("unknown head", lambda s: s.add(Department(id="x", name="X", head_id="nobody"))),
    ("unknown pipeline", lambda s: s.add(deal("d9", "rep", pipeline_id="nope"))),
    ("unknown stage", lambda s: s.add(deal("d9", "rep", stage_id="nope"))),
    ("wrong entity type", lambda s: s.add(deal("l1", "rep", entity_type="lead"))),
    (
        "department loop",
        lambda s: s.replace(Department(id="hq", name="HQ", head_id="boss", parent_id="sales")),
    ),
    ("replace unknown", lambda s: s.replace(deal("d9", "rep"))),
    (
        "drop stage in use",
        lambda s: s.replace(
            Pipeline(id="p", entity_type="deal", stages=(Stage(id="won", name="W"),))
        ),
    ),
    (
        "replace an event",
        lambda s: s.replace(CommentAdded(id="e0", item_id="d1", at=T0, author_id="lead")),
    ),
    ("not a record", lambda s: s.add("d1")),
    ("remove unknown activity", lambda s: s.remove_activity("zz")),
    ("remove unknown item", lambda s: s.remove_item("zz")),
    ("remove unknown task", lambda s: s.remove_task("zz")),
    ("bad settings", lambda s: s.set_settings("fast")),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("case", "write"), BAD_WRITES, ids=[case for case, _ in BAD_WRITES])
def test_g5_bad_writes_raise_as_in_memory_and_change_nothing(
    backend: str, case: str, write: Callable[[Any], object]
) -> None:
    """G5: the same error type and message as InMemoryStorage, and nothing written."""
    memory = small_storage()
    memory.add(CommentAdded(id="e0", item_id="d1", at=T0, author_id="lead"))
    with loaded(backend, memory) as storage:
        before = _snapshot(storage)
        with pytest.raises(CrmCountersError) as expected:
            write(memory)
        with pytest.raises(type(expected.value)) as raised:
            write(storage)
        assert str(raised.value) == str(expected.value), case
        assert _snapshot(storage) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_lookups_raise_unknown_id(backend: str) -> None:
    """Lookups by id never answer None for a missing record."""
    with loaded(backend, small_storage()) as storage:
        lookups = (storage.user, storage.item, storage.activity, storage.task, storage.pipeline)
        for lookup in (*lookups, storage.event, storage.department, storage.supervisor_of):
            with pytest.raises(UnknownIdError, match="'zz'"):
                lookup("zz")


def test_opening_a_database_without_the_schema_says_how_to_create_it(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """A missing schema is a clear error naming the fix, not a driver traceback."""
    with pytest.raises(ValidationError, match=r"SqlStorage\.create"):
        SqlStorage(sqlite_connect())


def test_opening_a_newer_schema_version_is_refused(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """The schema version is checked when a storage is opened."""
    connection = sqlite_connect()
    create_schema(connection)
    connection.execute("UPDATE crm_settings SET schema_version = 99")
    with pytest.raises(ValidationError, match=f"version 99.*version {SCHEMA_VERSION}"):
        SqlStorage(connection)


#: What each schema version added, undone: a current schema minus these is an older one.
def _version_1_database(connect: Callable[..., sqlite3.Connection]) -> sqlite3.Connection:
    """A database as crmcounters 0.1.0 wrote it: no reminded_at nor portal columns, no rule
    jobs nor outbox, version 1."""
    connection = connect()
    create_schema(connection)
    make_older(connection, 1)
    connection.commit()
    return connection


def test_an_older_schema_is_refused_with_the_upgrade_to_run(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    with pytest.raises(ValidationError, match=r"version 1 found.*migrate_schema"):
        SqlStorage(_version_1_database(sqlite_connect))


def test_f2_migrate_schema_adds_reminded_at_and_keeps_the_data(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """Version 1 -> 2 adds Activity.reminded_at (F2); stored rows survive, reruns are no-ops."""
    connection = _version_1_database(sqlite_connect)
    connection.execute(
        "INSERT INTO crm_users (id, name, time_zone, department_id) VALUES ('u', 'U', 'UTC', NULL)"
    )
    connection.commit()
    assert migrate_schema(connection) == 1
    assert migrate_schema(connection) == SCHEMA_VERSION
    storage = SqlStorage(connection)
    assert [user.id for user in storage.users()] == ["u"]
    storage.add(
        Pipeline(id="p", entity_type="deal", stages=[Stage(id="s", name="S")]),
        Item(
            id="d",
            entity_type="deal",
            pipeline_id="p",
            stage_id="s",
            responsible_id="u",
            created_at=T0,
            title="D",
        ),
        Activity(
            id="a",
            item_ids=["d"],
            kind="todo",
            responsible_id="u",
            created_at=T0,
            deadline=T0 + timedelta(days=30),
            reminded_at=T0 + timedelta(hours=1),
        ),
    )
    assert storage.activity("a").reminded_at == T0 + timedelta(hours=1)


def test_c10_migrate_schema_from_0_2_0_fills_in_the_sections_of_stored_bindings(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """Version 2 -> 3 (C10): bindings learn their item's section from the stored items."""
    memory = small_storage()
    memory.add(
        Item(id="c", entity_type="contact", responsible_id="rep", created_at=T0),
        todo("a1", "d1", "c", deadline=T0),
    )
    connection = sqlite_connect()
    copy_into(memory, SqlStorage.create(connection))
    make_older(connection, 2)
    connection.commit()
    assert migrate_schema(connection) == 2
    storage = SqlStorage(connection)
    later = T0 + timedelta(hours=1)
    for et in ("deal", "contact"):
        assert storage.counter_totals("rep", later, entity_type=et) == CounterTotals.of(
            counters_of(memory, "rep", later, entity_type=et)
        )
    assert storage.counter_totals("rep", later, entity_type="contact").planned == 1


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_f2_migrate_schema_on_postgresql() -> None:
    """The same migration on PostgreSQL, in a schema of its own, dropped afterwards."""
    import psycopg

    connection = psycopg.connect(PG_DSN, autocommit=True)
    schema = f"crmcounters_migrate_{os.getpid()}"
    try:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path TO {schema}")
        create_schema(connection)
        make_older(connection, 1)
        with pytest.raises(ValidationError, match="migrate_schema"):
            SqlStorage(connection)
        assert migrate_schema(connection) == 1
        storage = SqlStorage(connection)
        storage.add(User(id="u", name="U", time_zone="UTC"))
        assert [user.id for user in storage.users()] == ["u"]
    finally:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.close()


def test_migrate_schema_refuses_a_newer_schema_and_a_missing_one(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    connection = sqlite_connect()
    create_schema(connection)
    connection.execute("UPDATE crm_settings SET schema_version = 99")
    with pytest.raises(ValidationError, match="upgrade crmcounters"):
        migrate_schema(connection)
    empty = sqlite_connect()
    empty.execute("CREATE TABLE crm_settings (id INTEGER, schema_version INTEGER, document TEXT)")
    with pytest.raises(ValidationError, match="create_schema"):
        migrate_schema(empty)


def test_unknown_connections_and_dialects_are_refused(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """The dialect comes from the connection's driver, or is named explicitly."""
    with pytest.raises(ValidationError, match="dialect='sqlite'"):
        SqlStorage(object())
    with pytest.raises(ValidationError, match="unknown SQL dialect 'oracle'"):
        SqlStorage(sqlite_connect(), dialect="oracle")


def test_create_is_idempotent_and_keeps_stored_settings(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """create_schema twice is harmless; settings already stored are kept."""
    connection = sqlite_connect()
    first = SqlStorage.create(connection, Settings(week_start=6))
    first.add(User(id="u", name="U", time_zone="UTC"))
    again = SqlStorage.create(connection, Settings(week_start=2))
    assert again.settings.week_start == 6
    assert [u.id for u in again.users()] == ["u"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_schema_script_is_plain_sql_for_each_dialect(
    dialect: str, sqlite_connect: Callable[..., sqlite3.Connection]
) -> None:
    """The creation script can be handed to a DBA; on SQLite it runs as is."""
    script = schema_script(dialect)
    assert "CREATE TABLE IF NOT EXISTS crm_activity_items" in script
    assert ("BIGSERIAL" in script) == (dialect == "postgres")
    if dialect == "sqlite":
        connection = sqlite_connect()
        connection.executescript(script)
        connection.executescript(script)
