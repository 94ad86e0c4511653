"""Counters over a host's own tables: a Django-style schema read through SQL views.

The host keeps its CRM in its own tables (`auth_user`, `app_profile`,
`app_department`, `app_deal`, `app_activity` and the many-to-many
`app_activity_deals`) and writes them itself. `create_views` maps them to
the library's names once; `SqlStorage` then answers every read and the
SQL-side counters (`counter_totals`, `view_columns`, `department_totals`)
from the host's rows, as the host changes them (G1, C2-C9, V1).

Run it: `python examples/own_tables.py` (SQLite in memory). The test suite
runs the same schema and mapping on PostgreSQL too, with generated data
compared to the pure calculator.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crmcounters import (
    CrmCountersError,
    Pipeline,
    Settings,
    Stage,
    StageSemantics,
    counters_of,
)
from crmcounters.sql import (
    CounterTotals,
    OwnTables,
    SqlStorage,
    TableMapping,
    Timestamp,
    create_views,
)

#: Column types as Django's backends write them, per dialect.
TYPES = {
    "sqlite": {"datetime": "datetime", "bool": "bool", "decimal": "decimal"},
    "postgres": {
        "datetime": "timestamp with time zone",
        "bool": "boolean",
        "decimal": "numeric(12, 2)",
    },
}


def host_schema(dialect: str) -> list[str]:
    """The host's own tables (as its ORM made them), and the indexes its counters use."""
    t = TYPES[dialect]
    return [
        "CREATE TABLE auth_user (id integer PRIMARY KEY, username varchar(150) NOT NULL, "
        "first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL)",
        "CREATE TABLE app_department (id integer PRIMARY KEY, name varchar(100) NOT NULL, "
        "parent_id integer NULL, head_id integer NULL)",
        "CREATE TABLE app_profile (id integer PRIMARY KEY, user_id integer NOT NULL UNIQUE, "
        "department_id integer NULL, time_zone varchar(64) NOT NULL)",
        f"CREATE TABLE app_deal (id integer PRIMARY KEY, title varchar(200) NOT NULL, "
        f"stage varchar(20) NOT NULL, responsible_id integer NOT NULL, "
        f"created_at {t['datetime']} NOT NULL, amount {t['decimal']} NULL, "
        f"currency varchar(3) NOT NULL)",
        f"CREATE TABLE app_activity (id integer PRIMARY KEY, subject varchar(200) NOT NULL, "
        f"kind varchar(20) NOT NULL, responsible_id integer NOT NULL, "
        f"created_at {t['datetime']} NOT NULL, deadline {t['datetime']} NULL, "
        f"completed_at {t['datetime']} NULL, is_incoming {t['bool']} NOT NULL)",
        "CREATE TABLE app_activity_deals (id integer PRIMARY KEY, activity_id integer NOT NULL, "
        "deal_id integer NOT NULL)",
        # The mapping shows ids as text: index the expressions the counter queries filter on.
        "CREATE INDEX app_deal_responsible ON app_deal ((CAST(responsible_id AS TEXT)))",
        "CREATE INDEX app_activity_deals_deal ON app_activity_deals ((CAST(deal_id AS TEXT)))",
        "CREATE INDEX app_activity_deals_activity "
        "ON app_activity_deals ((CAST(activity_id AS TEXT)))",
    ]


#: The host's pipeline: one for deals, its stages in the `app_deal.stage` column.
SALES = Pipeline(
    id="sales",
    entity_type="deal",
    name="Sales",
    stages=[
        Stage(id="new", name="New"),
        Stage(id="offer", name="Offer"),
        Stage(id="won", name="Won", semantics=StageSemantics.SUCCESS),
        Stage(id="lost", name="Lost", semantics=StageSemantics.FAILURE),
    ],
)

#: Where each of the library's tables comes from in the host's.
TABLES = OwnTables(
    users=TableMapping(
        source="auth_user u JOIN app_profile p ON p.user_id = u.id",
        columns={
            "seq": "u.id",
            "id": "u.id",
            "name": "u.first_name || ' ' || u.last_name",
            "time_zone": "p.time_zone",
            "department_id": "p.department_id",
        },
    ),
    departments=TableMapping(
        source="app_department d",
        columns={
            "seq": "d.id",
            "id": "d.id",
            "name": "d.name",
            "head_id": "d.head_id",
            "parent_id": "d.parent_id",
        },
    ),
    items=TableMapping(
        source="app_deal d",
        columns={
            "seq": "d.id",
            "id": "d.id",
            "entity_type": "'deal'",
            "pipeline_id": "'sales'",
            "stage_id": "d.stage",
            "responsible_id": "d.responsible_id",
            "created_at": Timestamp("d.created_at"),
            "title": "d.title",
            "amount": "d.amount",
            "currency": "d.currency",
        },
    ),
    activities=TableMapping(
        source="app_activity a",
        columns={
            "seq": "a.id",
            "id": "a.id",
            "kind": "a.kind",
            "direction": "CASE WHEN a.is_incoming THEN 'incoming' ELSE 'none' END",
            "responsible_id": "a.responsible_id",
            "subject": "a.subject",
            "created_at": Timestamp("a.created_at"),
            "deadline": Timestamp("a.deadline"),
            "completed_at": Timestamp("a.completed_at"),
            "incoming": "CASE WHEN a.is_incoming THEN 1 ELSE 0 END",
        },
    ),
    bindings=TableMapping(
        source="app_activity_deals b",
        columns={"activity_id": "b.activity_id", "item_id": "b.deal_id", "position": "b.id"},
    ),
    pipelines=[SALES],
)


def execute(connection: Any, dialect: str, sql: str, rows: Iterable[Sequence[Any]] = ()) -> None:
    """Run host SQL written with `?` marks, once or per row, and commit."""
    text = sql if dialect == "sqlite" else sql.replace("?", "%s")
    cursor = connection.cursor()
    batch = list(rows)
    if batch:
        cursor.executemany(text, batch)
    else:
        cursor.execute(text)
    cursor.close()
    if dialect == "sqlite":
        connection.commit()


def stored(dialect: str, value: datetime | None) -> Any:
    """An instant as the host's ORM stores it: UTC text on SQLite, timestamptz on PostgreSQL."""
    if value is None or dialect == "postgres":
        return value
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def insert_rows(connection: Any, dialect: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """The host writes its own rows (`rows[table]`, in column order); instants as the ORM does."""
    columns = {
        "auth_user": "id, username, first_name, last_name",
        "app_department": "id, name, parent_id, head_id",
        "app_profile": "id, user_id, department_id, time_zone",
        "app_deal": "id, title, stage, responsible_id, created_at, amount, currency",
        "app_activity": "id, subject, kind, responsible_id, created_at, deadline, completed_at, "
        "is_incoming",
        "app_activity_deals": "id, activity_id, deal_id",
    }
    for table, names in columns.items():
        batch = [
            tuple(stored(dialect, v) if isinstance(v, datetime) else v for v in row)
            for row in rows.get(table, [])
        ]
        if batch:
            marks = ", ".join("?" for _ in names.split(","))
            insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608  # constants
            execute(connection, dialect, insert, batch)


WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)


def sample_rows() -> dict[str, list[tuple[Any, ...]]]:
    """A small sales team: Anna heads Sales, Piotr sells; four deals, five activities."""
    day = timedelta(days=1)
    return {
        "auth_user": [(1, "anna", "Anna", "Kowalska"), (2, "piotr", "Piotr", "Nowak")],
        "app_department": [(1, "Sales", None, 1)],
        "app_profile": [(1, 1, 1, "Europe/Warsaw"), (2, 2, 1, "Europe/Warsaw")],
        "app_deal": [
            (1, "Fleet of 12 vans", "offer", 2, NOW - 9 * day, "480000.00", "PLN"),
            (2, "Website", "new", 2, NOW - 2 * day, None, "PLN"),
            (3, "Support plan", "new", 2, NOW - 1 * day, "12000.00", "PLN"),
            (4, "Training", "new", 1, NOW - 3 * day, None, "EUR"),
        ],
        "app_activity": [
            (1, "Call back about the vans", "call", 2, NOW - day, NOW - 2 * day / 24, None, False),
            (2, "Send the offer", "todo", 2, NOW - day, NOW + timedelta(minutes=10), None, False),
            (3, "E-mail: can we sign?", "email", 2, NOW - timedelta(minutes=5), None, None, True),
            (4, "Demo", "meeting", 2, NOW - day, NOW + 3 * day, None, False),
            (5, "Plan the training", "todo", 1, NOW - day, NOW + day, None, False),
        ],
        "app_activity_deals": [(1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 4, 3), (5, 5, 4)],
    }


def shown(totals: CounterTotals) -> str:
    """Counters in one line, `valid_until` in Warsaw time."""
    until = totals.valid_until
    return (
        f"Incoming {totals.incoming}, Planned {totals.planned} on {totals.items} deals, "
        f"valid until {until.astimezone(WARSAW):%a %d %b %H:%M}"
        if until
        else f"Incoming {totals.incoming}, Planned {totals.planned} on {totals.items} deals"
    )


def main() -> None:
    """Map the host's tables, then read counters, the view and a department from its rows."""
    # sqlite3's own `with` only commits; closing() closes the connection too.
    with closing(sqlite3.connect(":memory:")) as connection:
        for statement in host_schema("sqlite"):
            execute(connection, "sqlite", statement)
        insert_rows(connection, "sqlite", sample_rows())
        create_views(connection, TABLES, Settings())  # once; again when the mapping changes
        storage = SqlStorage(connection)

        print(f"Piotr's counters from app_* tables: {shown(storage.counter_totals('2', NOW))}")
        print("Piotr's Activities view:")
        for deal_id, column in sorted(storage.view_columns("2", NOW).items()):
            print(f"  deal {deal_id} {storage.item(deal_id).title:<17} {column}")
        print(f"Sales department: {shown(storage.department_totals('1', NOW))}")
        same = storage.counter_totals("2", NOW) == CounterTotals.of(counters_of(storage, "2", NOW))
        print(f"Same answer as the pure calculator over the same rows: {same}")

        # The host completes the call in its own table (its ORM's save()): counters follow.
        execute(
            connection,
            "sqlite",
            "UPDATE app_activity SET completed_at = ? WHERE id = ?",
            [(stored("sqlite", NOW), 1)],
        )
        print(f"After the host completes activity 1: {shown(storage.counter_totals('2', NOW))}")
        try:
            storage.remove_activity("2")
        except CrmCountersError as error:
            print(f"Writing through the library: {error}")


if __name__ == "__main__":
    main()
