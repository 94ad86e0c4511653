"""Your own tables behind `SqlStorage`: SQL views with the library's names, from a column mapping.

A host whose data lives in its own tables (a Django app's `app_deal`,
`app_activity`, `auth_user`…) describes, per library table, where its rows
come from (`TableMapping`: a FROM clause and one SQL expression per column).
`create_views` turns that into views named `crm_users`, `crm_items`,
`crm_activities`, `crm_activity_items`… with the columns the adapter reads,
so `SqlStorage` over the same connection answers every read and the SQL-side
counters (`counter_totals`, `view_columns`, `department_totals`) from the
host's rows, as they change. Writes stay the host's: such a storage is
read-only. See docs/storage.md ("Your own tables").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .. import _validate as v
from .._errors import CrmCountersError, ValidationError
from .._pipelines import Pipeline
from .._portal import settings_to_dict
from .._settings import Settings
from ._dialect import Connection, Dialect, dialect_for, dialect_named
from ._rows import PIPELINES, dump_json, stage_rows
from ._schema import SCHEMA_VERSION, schema_statements

__all__ = [
    "VIEWS",
    "OwnTables",
    "TableMapping",
    "Timestamp",
    "create_views",
    "views_script",
]

_REQUIRED = object()
_INSTANT = "instant"
#: The views `create_views` makes, in the order they are created.
VIEWS = (
    "crm_users",
    "crm_departments",
    "crm_items",
    "crm_activity_bindings",
    "crm_activities",
    "crm_activity_items",
    "crm_tasks",
    "crm_events",
)


def _sql(_instance: Any, attribute: Any, value: Any) -> None:
    """A SQL expression of the host's: text within the text limit (never user input)."""
    v.check_text(attribute.name, value)


@attrs.frozen
class Timestamp:
    """An instant column of yours, for a mapping's `created_at`, `deadline`, … (G2).

    `column` is a SQL expression: on SQLite, UTC text as Django writes it
    (``2026-12-14 09:00:00.123456``); on PostgreSQL, a ``timestamptz`` (or a
    ``timestamp`` holding UTC). `zone` is a SQL expression naming the IANA
    zone (or ``+05:30``) the instant is shown in when read back.
    """

    column: str = attrs.field(validator=_sql)
    zone: str = attrs.field(default="'UTC'", validator=_sql)


def _columns(value: Mapping[str, str | Timestamp]) -> Mapping[str, str | Timestamp]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            "columns", f"expected a mapping of column names to SQL, got {type(value).__name__}"
        )
    for name, expression in value.items():
        v.check_id("columns", name)
        if not isinstance(expression, Timestamp):
            v.check_text(f"columns[{name!r}]", expression)
    return dict(value)


@attrs.frozen(kw_only=True)
class TableMapping:
    """Where one library table's rows come from in yours: a FROM clause, one expression per column.

    `source` is everything after FROM (joins allowed), `where` an optional
    filter; each value of `columns` is a SQL expression over them (a
    `Timestamp` for instants). Columns left out take their default (an empty
    text, no value) or are an error when the library needs them. Ids come out
    as text. The expressions are SQL you write, never user input.
    """

    source: str = attrs.field(validator=_sql)
    columns: Mapping[str, str | Timestamp] = attrs.field(converter=_columns)
    where: str = attrs.field(default="", validator=_sql)


def _mappings(value: TableMapping | Iterable[TableMapping]) -> tuple[TableMapping, ...]:
    if isinstance(value, TableMapping):
        return (value,)
    return v.check_instances("items", value, TableMapping)


def _pipelines(value: Iterable[Pipeline]) -> tuple[Pipeline, ...]:
    return v.check_instances("pipelines", value, Pipeline)


def _mapping(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, TableMapping):
        raise ValidationError(
            attribute.name, f"expected a TableMapping, got {type(value).__name__}"
        )


def _optional_mapping(instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        _mapping(instance, attribute, value)


@attrs.frozen(kw_only=True)
class OwnTables:
    """The whole mapping: your tables for each library table, and the pipelines (records).

    `items` may be several mappings (deals and leads, say), read as one.
    `bindings` says which items each activity is about (activity_id, item_id,
    position). Departments, tasks and events are optional (none without a
    mapping). Pipelines and their stages are given as `Pipeline` records and
    kept in the library's own two tables.
    """

    users: TableMapping = attrs.field(validator=_mapping)
    items: tuple[TableMapping, ...] = attrs.field(converter=_mappings)
    activities: TableMapping = attrs.field(validator=_mapping)
    bindings: TableMapping = attrs.field(validator=_mapping)
    pipelines: tuple[Pipeline, ...] = attrs.field(converter=_pipelines)
    departments: TableMapping | None = attrs.field(default=None, validator=_optional_mapping)
    tasks: TableMapping | None = attrs.field(default=None, validator=_optional_mapping)
    events: TableMapping | None = attrs.field(default=None, validator=_optional_mapping)


# What each view has: (column, type, default). A default of _REQUIRED must be mapped;
# type _INSTANT is a pair <name>_us, <name>_tz mapped with a Timestamp.
_Spec = tuple[tuple[str, str, object], ...]
_USERS: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("name", "TEXT", "''"),
    ("time_zone", "TEXT", _REQUIRED),
    ("department_id", "TEXT", None),
    ("active", "INTEGER", "1"),
)
_DEPARTMENTS: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("name", "TEXT", "''"),
    ("head_id", "TEXT", None),
    ("parent_id", "TEXT", None),
)
_ITEMS: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("entity_type", "TEXT", _REQUIRED),
    ("pipeline_id", "TEXT", "''"),  # none for contacts and companies
    ("stage_id", "TEXT", "''"),
    ("responsible_id", "TEXT", _REQUIRED),
    ("created_at", _INSTANT, _REQUIRED),
    ("title", "TEXT", "''"),
    ("amount", "TEXT", None),
    ("currency", "TEXT", "''"),
    ("client", "TEXT", "''"),
    ("fields", "TEXT", "'{}'"),
)
_BINDINGS: _Spec = (
    ("activity_id", "TEXT", _REQUIRED),
    ("item_id", "TEXT", _REQUIRED),
    ("position", "BIGINT", "0"),
)
_ACTIVITIES: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("kind", "TEXT", _REQUIRED),
    ("direction", "TEXT", "'none'"),
    ("responsible_id", "TEXT", _REQUIRED),
    ("author_id", "TEXT", None),
    ("subject", "TEXT", "''"),
    ("created_at", _INSTANT, _REQUIRED),
    ("deadline", _INSTANT, None),
    ("completed_at", _INSTANT, None),
    ("incoming", "INTEGER", "0"),
    ("rule_id", "TEXT", None),
    ("reminded_at", _INSTANT, None),
    ("type_id", "TEXT", None),  # A1
    ("recurrence", "TEXT", None),  # A2
    ("recurrence_start", _INSTANT, None),  # A2
)
_TASKS: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("item_id", "TEXT", _REQUIRED),
    ("title", "TEXT", "''"),
    ("responsible_id", "TEXT", _REQUIRED),
    ("created_at", _INSTANT, _REQUIRED),
    ("status", "TEXT", "'new'"),
    ("description", "TEXT", "''"),
    ("observer_ids", "TEXT", "'[]'"),
    ("deadline", _INSTANT, None),
    ("time_tracking", "INTEGER", "0"),
    ("rule_id", "TEXT", None),
    ("rule_pipeline_id", "TEXT", None),
    ("rule_stage_id", "TEXT", None),
)
_EVENTS: _Spec = (
    ("seq", "BIGINT", "0"),
    ("id", "TEXT", _REQUIRED),
    ("item_id", "TEXT", _REQUIRED),
    ("type", "TEXT", _REQUIRED),
    ("at", _INSTANT, _REQUIRED),
    ("author_id", "TEXT", None),
    ("channel", "TEXT", None),
    ("by_user_id", "TEXT", None),
    ("from_stage_id", "TEXT", None),
    ("to_stage_id", "TEXT", None),
    ("user_id", "TEXT", None),
    ("text", "TEXT", "''"),
    ("entry_type", "TEXT", None),
    ("rule_id", "TEXT", None),
)


def _epoch_us(dialect: Dialect, column: str) -> str:
    """Microseconds since the epoch of a timestamp column, exactly (no float rounding)."""
    if dialect.name == "postgres":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({column})) * 1000000) AS BIGINT)"
    # Django's SQLite text: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC. The whole seconds come from
    # the first 19 characters (strftime would round .9995 up a second), the fraction after.
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 + "
        f"CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER))"
    )


def _typed_null(kind: str) -> str:
    return f"CAST(NULL AS {kind})"


def _select(dialect: Dialect, field: str, spec: _Spec, mapping: TableMapping | None) -> list[str]:
    """The SELECT list of one view: each library column from the mapping or its default."""
    given = dict(mapping.columns) if mapping is not None else {}
    known = {name for name, _, _ in spec}
    for name in given:
        if name not in known:
            raise ValidationError(
                f"{field}.columns.{name}",
                f"not a column of {field}; map some of: {', '.join(sorted(known))}",
            )
    out: list[str] = []
    for name, kind, default in spec:
        value = given.get(name)
        if mapping is not None and value is None and default is _REQUIRED:
            raise ValidationError(f"{field}.columns.{name}", "required: map it to your column")
        if kind == _INSTANT:
            if value is not None and not isinstance(value, Timestamp):
                raise ValidationError(
                    f"{field}.columns.{name}", "an instant: map it with Timestamp('your_column')"
                )
            if value is None:
                out += [
                    f"{_typed_null('BIGINT')} AS {name}_us",
                    f"{_typed_null('TEXT')} AS {name}_tz",
                ]
            else:
                us = _epoch_us(dialect, value.column)
                out += [
                    f"{us} AS {name}_us",
                    f"CASE WHEN ({value.column}) IS NULL THEN NULL "
                    f"ELSE CAST({value.zone} AS TEXT) END AS {name}_tz",
                ]
            continue
        if isinstance(value, Timestamp):
            raise ValidationError(f"{field}.columns.{name}", "not an instant: map it to SQL text")
        expression = value if value is not None else default if mapping is not None else None
        out.append(
            f"CAST({expression} AS {kind}) AS {name}"
            if expression is not None
            else f"{_typed_null(kind)} AS {name}"
        )
    return out


def _view(
    dialect: Dialect, field: str, spec: _Spec, mappings: Iterable[TableMapping | None]
) -> str:
    parts = []
    for mapping in mappings:
        columns = ", ".join(_select(dialect, field, spec, mapping))
        if mapping is None:
            parts.append(f"SELECT {columns} WHERE 1 = 0")
            continue
        where = f" WHERE {mapping.where}" if mapping.where.strip() else ""
        parts.append(f"SELECT {columns} FROM {mapping.source}{where}")
    return " UNION ALL ".join(parts)


def _item_ids(dialect: Dialect) -> str:
    """The JSON list of an activity's item ids, in binding order (`Activity.item_ids`)."""
    if dialect.name == "postgres":
        return (
            "COALESCE((SELECT json_agg(b.item_id ORDER BY b.position, b.item_id) "
            "FROM crm_activity_bindings b WHERE b.activity_id = v.id), '[]'::json)::text"
        )
    return (
        "(SELECT json_group_array(item_id) FROM (SELECT b.item_id FROM crm_activity_bindings b "
        "WHERE b.activity_id = v.id ORDER BY b.position, b.item_id))"
    )


def view_statements(
    tables: OwnTables, settings: Settings, dialect: str | Dialect = "sqlite"
) -> list[tuple[str, str]]:
    """(view name, CREATE VIEW statement) for each view, in creation order."""
    chosen = dialect if isinstance(dialect, Dialect) else dialect_named(dialect)
    if not isinstance(tables, OwnTables):
        raise ValidationError("tables", f"expected OwnTables, got {type(tables).__name__}")
    offset_us = settings.urgency_offset_minutes * 60_000_000
    activity_rows = _view(chosen, "activities", _ACTIVITIES, [tables.activities])
    bodies = {
        "crm_users": _view(chosen, "users", _USERS, [tables.users]),
        "crm_departments": _view(chosen, "departments", _DEPARTMENTS, [tables.departments]),
        "crm_items": _view(chosen, "items", _ITEMS, tables.items),
        "crm_activity_bindings": _view(chosen, "bindings", _BINDINGS, [tables.bindings]),
        # The lit time follows the portal's default offset (C4): reminder offsets of
        # your own are not read; create_views again when the settings change.
        "crm_activities": (
            f"SELECT v.*, {_item_ids(chosen)} AS item_ids, "
            "CAST(NULL AS TEXT) AS reminder_offsets, "
            "CASE WHEN v.deadline_us IS NULL OR v.incoming = 1 THEN NULL "
            f"ELSE v.deadline_us - {offset_us} END AS lit_at_us FROM ({activity_rows}) v"
        ),
        "crm_activity_items": (
            "SELECT b.activity_id, b.item_id, b.position, i.responsible_id AS item_responsible_id, "
            "a.responsible_id AS activity_responsible_id, "
            "CASE WHEN a.completed_at_us IS NULL THEN 1 ELSE 0 END AS is_open, "
            "a.incoming, a.deadline_us, a.lit_at_us, i.entity_type AS item_entity_type, "
            "NULLIF(i.pipeline_id, '') AS item_pipeline_id FROM crm_activity_bindings b "
            "JOIN crm_activities a ON a.id = b.activity_id JOIN crm_items i ON i.id = b.item_id"
        ),
        "crm_tasks": _view(chosen, "tasks", _TASKS, [tables.tasks]),
        "crm_events": _view(chosen, "events", _EVENTS, [tables.events]),
    }
    return [(name, f"CREATE VIEW {name} AS {bodies[name]}") for name in VIEWS]


def views_script(
    tables: OwnTables, settings: Settings | None = None, dialect: str = "sqlite"
) -> str:
    """The CREATE VIEW statements `create_views` runs, for a DBA or a migration tool.

    The library's own small tables (settings, pipelines, stages) are not part
    of it; `create_views` makes and fills them.
    """
    chosen = settings if settings is not None else Settings()
    return "".join(f"{statement};\n" for _, statement in view_statements(tables, chosen, dialect))


def create_views(
    connection: Connection,
    tables: OwnTables,
    settings: Settings | None = None,
    *,
    dialect: str | None = None,
) -> None:
    """Make (or remake) the views over your tables, and store the settings and pipelines.

    One transaction: the library's `crm_settings`, `crm_pipelines` and
    `crm_stages` tables are created if missing and filled, every view is
    dropped and created again, and each is read once so that a mapping
    mistake is a `ValidationError` naming the view (nothing is left
    half-made). Run it again after changing the mapping or the settings.
    Open `SqlStorage(connection)` afterwards: it reads through the views.
    """
    chosen = dialect_for(connection, dialect)
    settings = settings if settings is not None else Settings()
    statements = view_statements(tables, settings, chosen)
    own = [s for s in schema_statements(chosen) if _is_own_table(s)]
    with chosen.transaction(connection):
        for name in VIEWS:
            if chosen.query(connection, chosen.is_table_sql, (name,)):
                raise ValidationError(
                    "connection",
                    f"{name} is a table here: this database holds the library's own tables; "
                    "make the views in a database (or PostgreSQL schema) without them",
                )
        for name in reversed(VIEWS):
            chosen.execute(connection, f"DROP VIEW IF EXISTS {name}")
        for statement in own:
            chosen.execute(connection, statement)
        _store(chosen, connection, settings, tables.pipelines)
        for name, statement in statements:
            _checked(chosen, connection, name, statement)


def _is_own_table(statement: str) -> bool:
    return any(
        statement.startswith(f"CREATE TABLE IF NOT EXISTS {name} ")
        for name in ("crm_settings", "crm_pipelines", "crm_stages")
    )


def _store(
    dialect: Dialect, connection: Connection, settings: Settings, pipelines: Iterable[Pipeline]
) -> None:
    document = dump_json(settings_to_dict(settings))
    dialect.execute(connection, "DELETE FROM crm_settings")
    dialect.execute(
        connection,
        "INSERT INTO crm_settings (id, schema_version, document) VALUES (1, ?, ?)",
        (SCHEMA_VERSION, document),
    )
    dialect.execute(connection, "DELETE FROM crm_stages")
    dialect.execute(connection, "DELETE FROM crm_pipelines")
    for pipeline in pipelines:
        if not isinstance(pipeline, Pipeline):
            raise ValidationError("pipelines", f"expected Pipeline, got {type(pipeline).__name__}")
        row: Any = PIPELINES.to_row(pipeline, 0)
        dialect.execute_many(connection, PIPELINES.insert_sql, [row])
        dialect.execute_many(
            connection,
            "INSERT INTO crm_stages (pipeline_id, position, id, name, semantics) "
            "VALUES (?, ?, ?, ?, ?)",
            stage_rows(pipeline),
        )


def _checked(dialect: Dialect, connection: Connection, name: str, statement: str) -> None:
    """Create the view and read a row of it: a bad expression fails here, naming the view."""
    try:
        dialect.execute(connection, statement)
        dialect.query(connection, f"SELECT * FROM {name} LIMIT 1")
    except CrmCountersError:
        raise
    except Exception as exc:  # the driver's own error: a mapping names a missing column…
        detail = " ".join(str(exc).split())
        raise ValidationError(
            name, f"the mapping does not run as SQL ({type(exc).__name__}: {detail})"
        ) from exc
