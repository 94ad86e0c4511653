"""SQL test backends: a fresh SqlStorage on sqlite3 (always) or PostgreSQL (when a DSN is set).

PostgreSQL tests run when `CRMCOUNTERS_PG_DSN` names a server (`.ci/run` starts
one); otherwise they are skipped with the reason shown by `pytest -ra`.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from crmcounters import InMemoryStorage, Settings
from crmcounters.sql import SCHEMA_VERSION, SqlStorage

PG_DSN = os.environ.get("CRMCOUNTERS_PG_DSN", "")
PG_SKIP_REASON = os.environ.get("CRMCOUNTERS_PG_SKIP_REASON") or (
    "CRMCOUNTERS_PG_DSN is not set: PostgreSQL tests need a server "
    "(bash .ci/run starts one; or export CRMCOUNTERS_PG_DSN=postgresql://...)"
)

#: Parametrize a test with this to run it on every backend.
BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)),
]

_TABLES = (
    "crm_users, crm_departments, crm_pipelines, crm_stages, crm_items, crm_activities, "
    "crm_activity_items, crm_tasks, crm_events, crm_jobs, crm_outbox, crm_reminders, "
    "crm_reminder_delivery, crm_focus_items, crm_focus_instants, crm_focus_columns"
)
_pg: dict[str, Any] = {}


def _pg_connection() -> Any:
    """One connection per test process, in a schema of its own, dropped at exit."""
    if "connection" not in _pg:
        import psycopg  # the `postgres` extra: a DSN without psycopg is an error, not a skip

        connection = psycopg.connect(PG_DSN, autocommit=True)
        schema = f"crmcounters_test_{os.getpid()}"
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path TO {schema}")
        SqlStorage.create(connection)
        _pg.update(connection=connection, schema=schema)

        def drop() -> None:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            connection.close()

        atexit.register(drop)
    return _pg["connection"]


@contextmanager
def sql_storage(backend: str, settings: Settings | None = None) -> Iterator[SqlStorage]:
    """A fresh, empty SqlStorage on `backend` holding `settings`."""
    if backend == "sqlite":
        connection = sqlite3.connect(":memory:")
        try:
            yield SqlStorage.create(connection, settings)
        finally:
            connection.close()
        return
    connection = _pg_connection()
    connection.execute(f"TRUNCATE {_TABLES}")
    storage = SqlStorage(connection)
    storage.set_settings(settings if settings is not None else Settings())
    yield storage


def copy_into(source: InMemoryStorage, target: SqlStorage) -> None:
    """Copy a whole portal, in batches whose references are already stored."""
    target.set_settings(source.settings)
    target.add(*source.users(), *source.departments())
    target.add_all(source.pipelines())
    target.add_all(source.items())
    target.add(*source.activities(), *source.tasks())
    target.add_all(source.events())


def sql_examples() -> int:
    """Hypothesis examples for whole-portal SQL tests: a quarter of the profile's (at least 25).

    Each example writes a portal to a database, so these are kept lighter than
    the pure in-memory properties; the nightly profile still runs many.
    """
    return max(25, settings.default.max_examples // 4)


def inject_failure(storage: SqlStorage, event: str, table: str, when: str) -> list[str]:
    """Make the database abort `event` (INSERT, UPDATE, DELETE) on `table` where `when` holds.

    Returns the statements that remove the trigger again.
    """
    if storage.dialect == "sqlite":
        run_statements(
            storage,
            [
                f"CREATE TRIGGER crm_test_boom BEFORE {event} ON {table} WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ],
        )
        return ["DROP TRIGGER crm_test_boom"]
    run_statements(
        storage,
        [
            "CREATE FUNCTION crm_test_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF {when} THEN RAISE EXCEPTION 'injected failure'; END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER crm_test_boom BEFORE {event} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION crm_test_boom()",
        ],
    )
    return [f"DROP TRIGGER crm_test_boom ON {table}", "DROP FUNCTION crm_test_boom()"]


def run_statements(storage: SqlStorage, statements: list[str]) -> None:
    """Run DDL statements outside the adapter (committed at once)."""
    connection = storage.connection
    for statement in statements:
        connection.execute(statement)
    if storage.dialect == "sqlite":
        connection.commit()


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database of its own: a SQLite file, or a PostgreSQL schema (dropped).

    The PostgreSQL DSN carries ``options=-csearch_path=...``, so every connection
    `open_storage` opens lands in the schema.
    """
    if backend == "sqlite":
        yield str(directory / "portal.db")
        return
    import psycopg

    _schemas[0] += 1
    schema = f"crmcounters_url_{os.getpid()}_{_schemas[0]}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in PG_DSN else "?"
    try:
        yield f"{PG_DSN}{joiner}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


_schemas = [0]


#: What each schema version added, undone (newest first) by `make_older`.
_ADDED_IN = {
    2: (
        "ALTER TABLE crm_activities DROP COLUMN reminded_at_us",
        "ALTER TABLE crm_activities DROP COLUMN reminded_at_tz",
    ),
    3: (
        "ALTER TABLE crm_settings DROP COLUMN portal",
        # 0.2.0's index of the bindings by item, without activity_id (issue 15)
        "DROP INDEX crm_activity_items_item",
        "CREATE INDEX crm_activity_items_item ON crm_activity_items (item_id, is_open)",
        "ALTER TABLE crm_activity_items DROP COLUMN item_entity_type",
        "ALTER TABLE crm_activity_items DROP COLUMN item_pipeline_id",
        "DROP TABLE crm_jobs",
        "DROP TABLE crm_outbox",
        "DROP TABLE crm_focus_items",  # issue 15
        "DROP TABLE crm_focus_instants",
        "DROP TABLE crm_focus_columns",
        "ALTER TABLE crm_users DROP COLUMN active",
        "DROP INDEX crm_events_type_at",
        "DROP TABLE crm_reminders",  # N1 (issue 16b)
        "DROP TABLE crm_reminder_delivery",
        "ALTER TABLE crm_activities DROP COLUMN type_id",  # issue 16a (A1, A2)
        "ALTER TABLE crm_activities DROP COLUMN recurrence",
        "ALTER TABLE crm_activities DROP COLUMN recurrence_start_us",
        "ALTER TABLE crm_activities DROP COLUMN recurrence_start_tz",
    ),
}


def make_older(connection: Any, version: int) -> None:
    """Turn a current schema into the one `version` wrote (without committing)."""
    for added in range(SCHEMA_VERSION, version, -1):
        for statement in _ADDED_IN[added]:
            connection.execute(statement)
    # psycopg and sqlite3 mark parameters differently; `version` is a whole number
    connection.execute(f"UPDATE crm_settings SET schema_version = {int(version)}")  # noqa: S608
