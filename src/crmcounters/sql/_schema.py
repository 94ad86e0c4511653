"""The relational schema of one portal, and its creation script (docs/storage.md).

Instants are stored twice over: `<name>_us`, microseconds since the Unix epoch
in UTC (what queries compare), and `<name>_tz`, the zone to show it in again
(an IANA name, or a fixed offset such as "+05:30"). `crm_activity_items` binds
activities to items and carries copies of what the counter queries filter on
(the item's responsible and section, open, incoming, deadline and lit time), so
that Incoming, Planned and the Activities view are answered from one index.
Items without a pipeline (contacts, companies) store "" as pipeline and stage.

A page of Kanban cards (issue 15) reads from indexes alone where it can: the
bindings of its items (`crm_activity_items_item` ends with `activity_id`) and
their next focus rises (`crm_focus_instants_rises`, partial on `rise = 1`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._errors import ValidationError
from .._portal import settings_from_dict, settings_to_dict
from .._settings import Settings
from ._dialect import Connection, Dialect, dialect_for, dialect_named
from ._focus import fill_focus
from ._rows import REMINDER_COLUMNS, dump_json, stored_pings

__all__ = [
    "SCHEMA_VERSION",
    "create_schema",
    "index_statements",
    "migrate_schema",
    "schema_script",
    "schema_statements",
]

#: The schema version this library writes and reads.
SCHEMA_VERSION = 3

#: Version 3 (0.3.0): rule jobs waiting to run, and the outbox (P1-P3). A job is claimed by
#: setting its lease (until when, and the claim's token); `attempts` counts claims, so a job
#: that keeps failing is set aside. Outbox entries keep their insertion order in `seq`.
_RULE_TABLES = """
CREATE TABLE IF NOT EXISTS crm_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    rule_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    pipeline_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    entered_at_us BIGINT NOT NULL,
    entered_at_tz TEXT NOT NULL,
    due_at_us BIGINT NOT NULL,
    due_at_tz TEXT NOT NULL,
    depth INTEGER NOT NULL,
    chain TEXT NOT NULL,
    lease_until_us BIGINT,
    lease_token TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS crm_jobs_due ON crm_jobs (due_at_us, id);
CREATE INDEX IF NOT EXISTS crm_jobs_item ON crm_jobs (item_id);
CREATE INDEX IF NOT EXISTS crm_jobs_leased ON crm_jobs (lease_until_us)
    WHERE lease_until_us IS NOT NULL;
CREATE TABLE IF NOT EXISTS crm_outbox (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    at_tz TEXT NOT NULL,
    item_id TEXT,
    payload TEXT NOT NULL,
    lease_until_us BIGINT,
    lease_token TEXT
);
"""

#: Version 3 (0.3.0), issue 15: the focus order kept by the library's writes (F1, F2, V1),
#: so that a Kanban or Activities-view page is an index walk (sql/_focus.py). One row per
#: item (its Kanban column, responsible, creation and Activities-view placement), one per
#: focus instant of an item (its creation and each rise), with copies of the item's keys;
#: and each Kanban column's item count (a page's `total` without counting 100,000 rows).
#: Ids compare in code-point order, as Python's `str` does (F1's ties): `{binary}` is
#: COLLATE "C" on PostgreSQL (SQLite's default collation already is).
_FOCUS_TABLES = """
CREATE TABLE IF NOT EXISTS crm_focus_items (
    item_id TEXT{binary} NOT NULL PRIMARY KEY,
    pipeline_id TEXT{binary} NOT NULL,
    stage_id TEXT{binary} NOT NULL,
    responsible_id TEXT{binary} NOT NULL,
    created_us BIGINT NOT NULL,
    placement INTEGER NOT NULL CHECK (placement IN (0, 1, 2, 3)),
    deadline_us BIGINT
);
CREATE INDEX IF NOT EXISTS crm_focus_items_stage
    ON crm_focus_items (pipeline_id, stage_id, created_us, item_id);
CREATE INDEX IF NOT EXISTS crm_focus_items_user
    ON crm_focus_items (responsible_id, placement, deadline_us);
CREATE INDEX IF NOT EXISTS crm_focus_items_user_created
    ON crm_focus_items (responsible_id, placement, created_us, item_id);
CREATE TABLE IF NOT EXISTS crm_focus_instants (
    item_id TEXT{binary} NOT NULL,
    at_us BIGINT NOT NULL,
    rise INTEGER NOT NULL CHECK (rise IN (0, 1)),
    pipeline_id TEXT{binary} NOT NULL,
    stage_id TEXT{binary} NOT NULL,
    responsible_id TEXT{binary} NOT NULL,
    placement INTEGER NOT NULL,
    deadline_us BIGINT,
    PRIMARY KEY (item_id, at_us)
);
CREATE INDEX IF NOT EXISTS crm_focus_instants_stage
    ON crm_focus_instants (pipeline_id, stage_id, at_us, item_id);
CREATE INDEX IF NOT EXISTS crm_focus_instants_user
    ON crm_focus_instants (responsible_id, placement, at_us, item_id, deadline_us);
CREATE INDEX IF NOT EXISTS crm_focus_instants_rises
    ON crm_focus_instants (item_id, at_us) WHERE rise = 1;
CREATE TABLE IF NOT EXISTS crm_focus_columns (
    pipeline_id TEXT{binary} NOT NULL,
    stage_id TEXT{binary} NOT NULL,
    items BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id)
);
"""
# -- N1 reminders (issue 16b) ---------------------------------------------------------
#: Version 3 (0.3.0): each reminder ping (N1) of every activity, kept by the library's writes
#: (`SqlStorage`) and filled by `import_portal` and by the 2 -> 3 migration, so the feed over
#: a window is one index range; and how far the worker has put pings in the outbox (P3).
_REMINDER_TABLES = """
CREATE TABLE IF NOT EXISTS crm_reminders (
    activity_id TEXT NOT NULL,
    offset_minutes INTEGER NOT NULL,
    at_us BIGINT NOT NULL,
    item_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    deadline_us BIGINT NOT NULL,
    PRIMARY KEY (activity_id, offset_minutes)
);
CREATE INDEX IF NOT EXISTS crm_reminders_at ON crm_reminders (at_us, activity_id);
CREATE INDEX IF NOT EXISTS crm_reminders_recipient ON crm_reminders (recipient_id, at_us);
CREATE TABLE IF NOT EXISTS crm_reminder_delivery (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    delivered_until_us BIGINT NOT NULL
);
"""
# -- end of N1 reminders ---------------------------------------------------------------


_TABLES = """
CREATE TABLE IF NOT EXISTS crm_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    document TEXT NOT NULL,
    portal TEXT
);
CREATE TABLE IF NOT EXISTS crm_users (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    department_id TEXT,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE INDEX IF NOT EXISTS crm_users_department ON crm_users (department_id);
CREATE TABLE IF NOT EXISTS crm_departments (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    head_id TEXT,
    parent_id TEXT
);
CREATE INDEX IF NOT EXISTS crm_departments_parent ON crm_departments (parent_id);
CREATE TABLE IF NOT EXISTS crm_pipelines (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    entity_type TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crm_stages (
    pipeline_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    semantics TEXT NOT NULL CHECK (semantics IN ('in_progress', 'success', 'failure')),
    PRIMARY KEY (pipeline_id, id)
);
CREATE TABLE IF NOT EXISTS crm_items (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    entity_type TEXT NOT NULL,
    pipeline_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    responsible_id TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    created_at_tz TEXT NOT NULL,
    title TEXT NOT NULL,
    amount TEXT,
    currency TEXT NOT NULL,
    client TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crm_items_responsible ON crm_items (responsible_id);
CREATE INDEX IF NOT EXISTS crm_items_pipeline ON crm_items (pipeline_id);
CREATE TABLE IF NOT EXISTS crm_activities (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    item_ids TEXT NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT NOT NULL,
    responsible_id TEXT NOT NULL,
    author_id TEXT,
    subject TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    created_at_tz TEXT NOT NULL,
    deadline_us BIGINT,
    deadline_tz TEXT,
    completed_at_us BIGINT,
    completed_at_tz TEXT,
    reminder_offsets TEXT,
    incoming INTEGER NOT NULL CHECK (incoming IN (0, 1)),
    rule_id TEXT,
    lit_at_us BIGINT,
    reminded_at_us BIGINT,
    reminded_at_tz TEXT,
    type_id TEXT,
    recurrence TEXT,
    recurrence_start_us BIGINT,
    recurrence_start_tz TEXT
);
CREATE INDEX IF NOT EXISTS crm_activities_open_by_responsible
    ON crm_activities (responsible_id) WHERE completed_at_us IS NULL;
CREATE TABLE IF NOT EXISTS crm_activity_items (
    activity_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    item_responsible_id TEXT NOT NULL,
    activity_responsible_id TEXT NOT NULL,
    is_open INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    incoming INTEGER NOT NULL CHECK (incoming IN (0, 1)),
    deadline_us BIGINT,
    lit_at_us BIGINT,
    item_entity_type TEXT,
    item_pipeline_id TEXT,
    PRIMARY KEY (activity_id, item_id)
);
CREATE INDEX IF NOT EXISTS crm_activity_items_item
    ON crm_activity_items (item_id, is_open, activity_id);
CREATE INDEX IF NOT EXISTS crm_activity_items_open_by_item_responsible
    ON crm_activity_items (item_responsible_id, item_id, incoming, lit_at_us, deadline_us)
    WHERE is_open = 1;
CREATE INDEX IF NOT EXISTS crm_activity_items_open_by_activity_responsible
    ON crm_activity_items (activity_responsible_id, activity_id, item_id, incoming, lit_at_us)
    WHERE is_open = 1;
CREATE TABLE IF NOT EXISTS crm_tasks (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    item_id TEXT NOT NULL,
    title TEXT NOT NULL,
    responsible_id TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    created_at_tz TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    observer_ids TEXT NOT NULL,
    deadline_us BIGINT,
    deadline_tz TEXT,
    time_tracking INTEGER NOT NULL CHECK (time_tracking IN (0, 1)),
    rule_id TEXT,
    rule_pipeline_id TEXT,
    rule_stage_id TEXT
);
CREATE INDEX IF NOT EXISTS crm_tasks_item ON crm_tasks (item_id);
CREATE TABLE IF NOT EXISTS crm_events (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    item_id TEXT NOT NULL,
    type TEXT NOT NULL
        CHECK (type IN ('comment', 'incoming', 'stage_changed', 'viewed', 'history')),
    at_us BIGINT NOT NULL,
    at_tz TEXT NOT NULL,
    author_id TEXT,
    channel TEXT,
    by_user_id TEXT,
    from_stage_id TEXT,
    to_stage_id TEXT,
    user_id TEXT,
    text TEXT NOT NULL,
    entry_type TEXT,
    rule_id TEXT
);
CREATE INDEX IF NOT EXISTS crm_events_item ON crm_events (item_id, at_us);
CREATE INDEX IF NOT EXISTS crm_events_type_at ON crm_events (type, at_us);
"""


def _index_statement(name: str) -> str:
    """The schema's own `CREATE INDEX` of `name`, for a migration that rebuilds it."""
    for statement in _TABLES.split(";"):
        if re.match(rf"CREATE INDEX IF NOT EXISTS {name}\s", statement.strip()):
            return statement.strip()
    raise LookupError(name)  # pragma: no cover - a typo here fails every import


#: What brings a schema from version N to N + 1 (columns are only ever added).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (  # 0.1.0 -> 0.2.0: Activity.reminded_at (F2: focus kept across a reschedule)
        "ALTER TABLE crm_activities ADD COLUMN reminded_at_us BIGINT",
        "ALTER TABLE crm_activities ADD COLUMN reminded_at_tz TEXT",
    ),
    2: (  # 0.2.0 -> 0.3.0
        # The portal document's description, as_of and access policy (import/export, --db).
        "ALTER TABLE crm_settings ADD COLUMN portal TEXT",
        # Sections on the bindings (C10).
        "ALTER TABLE crm_activity_items ADD COLUMN item_entity_type TEXT",
        "ALTER TABLE crm_activity_items ADD COLUMN item_pipeline_id TEXT",
        "UPDATE crm_activity_items SET "
        "item_entity_type = (SELECT i.entity_type FROM crm_items i WHERE i.id = item_id), "
        "item_pipeline_id = (SELECT NULLIF(i.pipeline_id, '') FROM crm_items i "
        "WHERE i.id = item_id)",
        # Rule jobs and the outbox (P1-P3).
        *(statement.strip() for statement in _RULE_TABLES.split(";") if statement.strip()),
        # Issue 15: the focus tables; `migrate_schema` fills them from the records after.
        *(statement.strip() for statement in _FOCUS_TABLES.split(";") if statement.strip()),
        # -- issue 17 (R8-R10, portal-wide history) --
        # User.active: deactivated users get no notification nor round-robin items (R8, R9).
        "ALTER TABLE crm_users ADD COLUMN active INTEGER NOT NULL DEFAULT 1 "
        "CHECK (active IN (0, 1))",
        # History across items by type and time window (R4, R8).
        "CREATE INDEX IF NOT EXISTS crm_events_type_at ON crm_events (type, at_us)",
        # -- end issue 17 --
        # Issue 16a: an activity's type (A1; types live in the settings document) and its
        # recurrence rule and series start (A2).
        "ALTER TABLE crm_activities ADD COLUMN type_id TEXT",
        "ALTER TABLE crm_activities ADD COLUMN recurrence TEXT",
        "ALTER TABLE crm_activities ADD COLUMN recurrence_start_us BIGINT",
        "ALTER TABLE crm_activities ADD COLUMN recurrence_start_tz TEXT",
        # N1 reminders (issue 16b): the tables here, their rows by `fill_reminders` below.
        *(statement.strip() for statement in _REMINDER_TABLES.split(";") if statement.strip()),
        # Issue 15: the bindings' item index gains `activity_id` (a page's cards read their
        # bindings from it alone); 0.2.0 made it without.
        "DROP INDEX IF EXISTS crm_activity_items_item",
        _index_statement("crm_activity_items_item"),
    ),
}


def schema_statements(dialect: str | Dialect = "sqlite") -> list[str]:
    """The creation statements for `dialect`, one string each, without trailing semicolons."""
    chosen = dialect_named(dialect) if isinstance(dialect, str) else dialect
    text = (_TABLES + _RULE_TABLES + _FOCUS_TABLES + _REMINDER_TABLES).format(
        serial=chosen.serial, binary=chosen.binary
    )
    return [statement.strip() for statement in text.split(";") if statement.strip()]


def index_statements(dialect: str | Dialect = "sqlite") -> list[tuple[str, str]]:
    """(name, statement) of each secondary index: a bulk load drops them, then builds them."""
    return [
        (statement.split()[5], statement)
        for statement in schema_statements(dialect)
        if statement.startswith("CREATE INDEX IF NOT EXISTS ")
    ]


def schema_script(dialect: str = "sqlite") -> str:
    """The creation script for `dialect` ("sqlite" or "postgres"), for a DBA or a migration tool.

    Every statement is `IF NOT EXISTS`, so running it twice is harmless. The
    settings row is not part of it: `create_schema` (or an INSERT of the
    portal's settings document) adds it.
    """
    return "".join(f"{statement};\n" for statement in schema_statements(dialect))


def create_schema(
    connection: Connection, settings: Settings | None = None, *, dialect: str | None = None
) -> None:
    """Create the tables (if missing) and store `settings` (default `Settings()`) if none are.

    Runs in one transaction; committed unless the caller has one open.
    """
    chosen = dialect_for(connection, dialect)
    document = dump_json(settings_to_dict(settings if settings is not None else Settings()))
    with chosen.transaction(connection):
        for statement in schema_statements(chosen):
            chosen.execute(connection, statement)
        present: list[Any] = chosen.query(connection, "SELECT id FROM crm_settings")
        if not present:
            chosen.execute(
                connection,
                "INSERT INTO crm_settings (id, schema_version, document) VALUES (1, ?, ?)",
                (SCHEMA_VERSION, document),
            )


def fill_reminders(dialect: Dialect, connection: Connection, where: str = "1 = 1") -> None:
    """Write the reminder pings (N1) of the stored activities `where` selects.

    The migration to version 3 fills `crm_reminders` with it; `set_settings`
    refills the pings that follow the portal's default offsets.
    """
    document = dialect.query(connection, "SELECT document FROM crm_settings WHERE id = 1")
    defaults = settings_from_dict(json.loads(document[0][0])).focus_reminder_offsets
    rows = dialect.query(
        connection,
        "SELECT id, item_ids, responsible_id, deadline_us, completed_at_us, reminder_offsets "
        f"FROM crm_activities WHERE deadline_us IS NOT NULL AND incoming = 0 AND ({where})",
    )
    pings = [
        ping
        for row in rows
        for ping in stored_pings(
            row[0], json.loads(row[1])[0], row[2], row[3], row[4], row[5], defaults
        )
    ]
    dialect.insert_many(connection, "crm_reminders", REMINDER_COLUMNS, pings)


def migrate_schema(connection: Connection, *, dialect: str | None = None) -> int:
    """Bring a schema written by an earlier version up to `SCHEMA_VERSION`; return the old version.

    Runs in one transaction: either every step applies or none does. A schema
    that is already current is left alone; one newer than this library is
    refused (upgrade the library instead).
    """
    chosen = dialect_for(connection, dialect)
    with chosen.transaction(connection):
        found: list[Any] = chosen.query(connection, "SELECT schema_version FROM crm_settings")
        if not found:
            raise ValidationError(
                "connection", "no crmcounters schema here; create it with create_schema(connection)"
            )
        old = version = int(found[0][0])
        if version > SCHEMA_VERSION:
            raise ValidationError(
                "connection",
                f"schema version {version} is newer than this library's {SCHEMA_VERSION}; "
                "upgrade crmcounters",
            )
        while version < SCHEMA_VERSION:
            for statement in _MIGRATIONS[version]:
                chosen.execute(
                    connection, statement.format(serial=chosen.serial, binary=chosen.binary)
                )
            if version == 2:  # N1 (issue 16b): the pings of the activities stored before
                fill_reminders(chosen, connection)
            version += 1
        if version != old:
            chosen.execute(connection, "UPDATE crm_settings SET schema_version = ?", (version,))
        if old < 3 <= version:  # issue 15: the focus tables start from the stored records
            fill_focus(connection, chosen)
    return old
