"""Records to table rows and back: one `Table` per record kind (columns in `_schema.py`)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs

from .._activities import DIRECTIONS_BY_VALUE, KINDS_BY_VALUE, Activity, trusted_activity
from .._errors import DataFormatError
from .._events import (
    CHANNELS_BY_VALUE,
    CommentAdded,
    HistoryEntryAdded,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    StageChanged,
    TimelineEvent,
    trusted_event,
)
from .._items import NO_FIELDS, Item, trusted_item
from .._pipelines import Pipeline, Stage
from .._reminder_index import PingRow, pings_from
from .._tasks import Task
from .._users import Department, User
from .._validate import with_deadline

__all__ = [
    "ACTIVITIES",
    "DEPARTMENTS",
    "EVENTS",
    "ITEMS",
    "REMINDER_COLUMNS",
    "TABLES",
    "TASKS",
    "USERS",
    "ItemCopy",
    "Table",
    "binding_rows",
    "dump_json",
    "instant_columns",
    "instant_from",
    "instant_us",
    "lit_at_us",
    "pipeline_from_rows",
    "stage_rows",
    "stored_pings",
    "utc_from_us",
]

Row = Sequence[Any]
_M = TypeVar("_M")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MINUTE_US = 60_000_000


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: bulk loads
_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # what _JSON uses


def dump_json(value: object) -> str:
    """Compact JSON text for the columns that hold lists and mappings."""
    return _JSON.encode(value)


def instant_us(value: datetime) -> int:
    """Microseconds since the Unix epoch: the instant as the queries compare it."""
    return (value - _EPOCH) // _MICROSECOND


def utc_from_us(us: int) -> datetime:
    """The instant `us` microseconds after the Unix epoch, in UTC (`instant_us` reversed)."""
    return _EPOCH + timedelta(0, 0, us)  # positional: a quarter faster (rows of a board)


def _zone_label(value: datetime) -> str:
    zone = value.tzinfo
    if isinstance(zone, ZoneInfo) and zone.key:
        return zone.key
    if type(zone) is timezone:  # a fixed offset: one label per zone object
        return _offset_label(zone)
    return _label_of(value.utcoffset() or timedelta(0))


@functools.lru_cache(maxsize=256)
def _offset_label(zone: timezone) -> str:
    return _label_of(zone.utcoffset(None))


def _label_of(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(offset) // timedelta(seconds=1)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


@functools.lru_cache(maxsize=256)
def _zone(label: str) -> ZoneInfo | timezone:
    if label[0] not in "+-":
        return ZoneInfo(label)
    parts = [int(part) for part in label[1:].split(":")]
    offset = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2] if len(parts) > 2 else 0)
    return timezone(-offset if label[0] == "-" else offset)


def _put(value: datetime | None) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    return instant_us(value), _zone_label(value)


def _get(us: int | None, label: str | None) -> datetime | None:
    if us is None or label is None:
        return None
    return _got(us, label)


def _got(us: int, label: str) -> datetime:
    return utc_from_us(us).astimezone(_zone(label))


def lit_at_us(
    activity: Activity, urgency_offset_minutes: int, deadline_us: int | None = None
) -> int | None:
    """`Activity.lit_at` (C4) in epoch microseconds, or None when it never lights.

    The deadline less the largest offset, in whole microseconds since the
    epoch (what `instant_us(activity.lit_at(...))` gives, without building
    datetimes: a bulk load computes millions). `deadline_us`: the deadline's,
    if the caller has it already.
    """
    if activity.deadline is None or activity.incoming:
        return None
    largest = activity.offsets((urgency_offset_minutes,))
    deadline = instant_us(activity.deadline) if deadline_us is None else deadline_us
    return deadline - (largest[0] if largest else 0) * _MINUTE_US


def _id_list(ids: Sequence[str]) -> str:
    """A JSON list of strings, as `dump_json` writes it (its C string encoder, without the rest)."""
    return "[" + ",".join(map(_encode_string, ids)) + "]"


def _ids_of(text: str) -> tuple[str, ...]:
    """`_id_list` read back. Without a backslash nothing in it is escaped, so the ids are the
    text between its quotes (a split, five times faster than parsing JSON); else JSON."""
    if "\\" in text or text == "[]":
        return tuple(json.loads(text))
    return tuple(text[2:-2].split('","'))


@attrs.frozen(kw_only=True)
class Table:
    """One record kind's table: its columns (id first) and the conversions of a row."""

    kind: str
    name: str
    columns: tuple[str, ...]
    to_row: Callable[[Any, int], tuple[Any, ...]]
    from_row: Callable[[Row], Any]
    #: For rows the library did not write (your own tables behind `create_views`): every
    #: value through the record's constructor. None: `from_row` checks already.
    checked_from_row: Callable[[Row], Any] | None = None

    def decoder(self, trusted: bool) -> Callable[[Row], Any]:
        """`from_row` for rows this library wrote (`trusted`), else the checked decoder."""
        if trusted or self.checked_from_row is None:
            return self.from_row
        return self.checked_from_row

    @property
    def insert_sql(self) -> str:
        """INSERT of one row."""
        marks = ", ".join("?" for _ in self.columns)
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})"

    @property
    def update_sql(self) -> str:
        """UPDATE of one row by id; the id parameter comes last."""
        sets = ", ".join(f"{column} = ?" for column in self.columns[1:])
        return f"UPDATE {self.name} SET {sets} WHERE id = ?"

    def select_sql(self, where: str = "", order: str = "seq") -> str:
        """SELECT of every column, with an optional WHERE clause, in insertion order."""
        condition = f" WHERE {where}" if where else ""
        return f"SELECT {', '.join(self.columns)} FROM {self.name}{condition} ORDER BY {order}"

    def update_params(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """The parameters of `update_sql` for a row from `to_row`."""
        return (*row[1:], row[0])


def _user_row(user: User, _offset: int) -> tuple[Any, ...]:
    return (user.id, user.name, user.time_zone, user.department_id, int(user.active))


def _user(row: Row) -> User:
    return User(id=row[0], name=row[1], time_zone=row[2], department_id=row[3], active=bool(row[4]))


def _department_row(department: Department, _offset: int) -> tuple[Any, ...]:
    return (department.id, department.name, department.head_id, department.parent_id)


def _department(row: Row) -> Department:
    return Department(id=row[0], name=row[1], head_id=row[2], parent_id=row[3])


def _pipeline_row(pipeline: Pipeline, _offset: int) -> tuple[Any, ...]:
    return (pipeline.id, pipeline.entity_type, pipeline.name)


def stage_rows(pipeline: Pipeline) -> list[tuple[Any, ...]]:
    """The rows of `crm_stages` for a pipeline, in stage order."""
    return [
        (pipeline.id, position, stage.id, stage.name, stage.semantics.value)
        for position, stage in enumerate(pipeline.stages)
    ]


def pipeline_from_rows(row: Row, stages: Sequence[Row]) -> Pipeline:
    """A pipeline from its row and its stage rows (pipeline_id, position, id, name, semantics)."""
    return Pipeline(
        id=row[0],
        entity_type=row[1],
        name=row[2],
        stages=[Stage(id=s[2], name=s[3], semantics=s[4]) for s in sorted(stages, key=_position)],
    )


def _position(stage_row: Row) -> int:
    return int(stage_row[1])


def _item_row(item: Item, _offset: int) -> tuple[Any, ...]:
    return (
        item.id,
        item.entity_type,
        item.pipeline_id or "",  # the columns are NOT NULL: "" for contacts and companies
        item.stage_id or "",
        item.responsible_id,
        *_put(item.created_at),
        item.title,
        None if item.amount is None else str(item.amount),
        item.currency,
        item.client,
        dump_json(dict(item.fields)),
    )


# Items and activities the library wrote are read back without their constructors'
# checks: it checked each value on the way in, and a page of cards decodes hundreds of
# rows (issue 15: a Kanban board over SQL in under 20 ms). A test holds every decoded
# record equal, private fields too, to its checked twin. Instants come back in UTC, as
# the constructors keep them. Rows of your own tables (`create_views`) take the checked
# decoders below: the library did not write them.


def _item(row: Row) -> Item:
    fields = row[11]
    return trusted_item(
        id=row[0],
        entity_type=row[1],
        pipeline_id=row[2] or None,
        stage_id=row[3] or None,
        responsible_id=row[4],
        created_at=utc_from_us(row[5]),
        title=row[7],
        amount=None if row[8] is None else Decimal(row[8]),
        currency=row[9],
        client=row[10],
        fields=NO_FIELDS if fields == "{}" else MappingProxyType(json.loads(fields)),
    )


def _stored(members: Mapping[str, _M], table: str, column: str, value: str) -> _M:
    """The enum member stored as `value`; a value the library never writes is refused."""
    member = members.get(value)
    if member is None:
        raise DataFormatError(
            f"{table}.{column}", f"unknown value {value!r}: a row not written by crmcounters"
        )
    return member


def _checked_item(row: Row) -> Item:
    return Item(
        id=row[0],
        entity_type=row[1],
        pipeline_id=row[2] or None,
        stage_id=row[3] or None,
        responsible_id=row[4],
        created_at=_got(row[5], row[6]),
        title=row[7],
        amount=None if row[8] is None else Decimal(row[8]),
        currency=row[9],
        client=row[10],
        fields=json.loads(row[11]),
    )


def _activity_row(activity: Activity, offset: int) -> tuple[Any, ...]:
    offsets = activity.reminder_offsets
    deadline_us, deadline_tz = _put(activity.deadline)
    return (
        activity.id,
        _id_list(activity.item_ids),
        activity.kind.value,
        activity.direction.value,
        activity.responsible_id,
        activity.author_id,
        activity.subject,
        *_put(activity.created_at),
        deadline_us,
        deadline_tz,
        *_put(activity.completed_at),
        None if offsets is None else dump_json(list(offsets)),
        int(activity.incoming),
        activity.rule_id,
        lit_at_us(activity, offset, deadline_us),
        *_put(activity.reminded_at),
        activity.type_id,
        activity.recurrence,
        *_put(activity.recurrence_start),
    )


def _activity(row: Row) -> Activity:
    kind = KINDS_BY_VALUE.get(row[2]) or _stored(KINDS_BY_VALUE, "crm_activities", "kind", row[2])
    direction = DIRECTIONS_BY_VALUE.get(row[3]) or _stored(
        DIRECTIONS_BY_VALUE, "crm_activities", "direction", row[3]
    )
    return trusted_activity(
        id=row[0],
        item_ids=_ids_of(row[1]),
        kind=kind,
        direction=direction,
        responsible_id=row[4],
        author_id=row[5],
        subject=row[6],
        created_at=utc_from_us(row[7]),
        deadline=None if row[9] is None else utc_from_us(row[9]),
        completed_at=None if row[11] is None else utc_from_us(row[11]),
        reminder_offsets=None if row[13] is None else tuple(json.loads(row[13])),
        incoming=bool(row[14]),
        rule_id=row[15],
        reminded_at=None if row[17] is None else utc_from_us(row[17]),
        type_id=row[19],
        recurrence=row[20],
        recurrence_start=None if row[21] is None else utc_from_us(row[21]),
    )


def _checked_activity(row: Row) -> Activity:
    return Activity(
        id=row[0],
        item_ids=json.loads(row[1]),
        kind=row[2],
        direction=row[3],
        responsible_id=row[4],
        author_id=row[5],
        subject=row[6],
        created_at=_got(row[7], row[8]),
        deadline=_get(row[9], row[10]),
        completed_at=_get(row[11], row[12]),
        reminder_offsets=None if row[13] is None else json.loads(row[13]),
        incoming=bool(row[14]),
        rule_id=row[15],
        reminded_at=_get(row[17], row[18]),
        type_id=row[19],
        recurrence=row[20],
        recurrence_start=_get(row[21], row[22]),
    )


#: What a binding copies from its item: (responsible id, entity type, pipeline id or None).
ItemCopy = tuple[str, str, str | None]


def binding_rows(
    activity: Activity, row: Row, items: Mapping[str, ItemCopy]
) -> list[tuple[Any, ...]]:
    """The `crm_activity_items` rows of an activity: one per bound item, with query copies.

    `row` is the activity's own row (`ACTIVITIES.to_row`): the deadline, open
    and incoming flags and lit time are copied from it, computed once; `items`
    gives each bound item's responsible and section.
    """
    activity_id, responsible = row[0], row[4]
    is_open = int(row[_COMPLETED] is None)
    incoming, deadline, lit = row[_INCOMING], row[_DEADLINE], row[_LIT]
    return [
        (
            activity_id,
            item_id,
            position,
            items[item_id][0],
            responsible,
            is_open,
            incoming,
            deadline,
            lit,
            items[item_id][1],
            items[item_id][2],
        )
        for position, item_id in enumerate(activity.item_ids)
    ]


def _task_row(task: Task, _offset: int) -> tuple[Any, ...]:
    return (
        task.id,
        task.item_id,
        task.title,
        task.responsible_id,
        *_put(task.created_at),
        task.status.value,
        task.description,
        dump_json(list(task.observer_ids)),
        *_put(task.deadline),
        int(task.time_tracking),
        task.rule_id,
        task.rule_pipeline_id,
        task.rule_stage_id,
    )


def _task(row: Row) -> Task:
    return Task(
        id=row[0],
        item_id=row[1],
        title=row[2],
        responsible_id=row[3],
        created_at=_got(row[4], row[5]),
        status=row[6],
        description=row[7],
        observer_ids=json.loads(row[8]),
        deadline=_get(row[9], row[10]),
        time_tracking=bool(row[11]),
        rule_id=row[12],
        rule_pipeline_id=row[13],
        rule_stage_id=row[14],
    )


def _event_row(event: TimelineEvent, _offset: int) -> tuple[Any, ...]:
    author = channel = by_user = from_stage = to_stage = user = entry_type = rule = None
    text = ""
    if isinstance(event, CommentAdded):
        kind, author, text = "comment", event.author_id, event.text
    elif isinstance(event, HistoryEntryAdded):
        kind, author, text = "history", event.author_id, event.text
        entry_type, rule = event.entry_type, event.rule_id
    elif isinstance(event, IncomingMessage):
        kind, channel, text = "incoming", event.channel.value, event.text
    elif isinstance(event, StageChanged):
        kind, by_user = "stage_changed", event.by_user_id
        from_stage, to_stage = event.from_stage_id, event.to_stage_id
    else:
        kind, user = "viewed", event.user_id
    at_us, at_tz = _put(event.at)
    return (
        event.id,
        event.item_id,
        kind,
        at_us,
        at_tz,
        author,
        channel,
        by_user,
        from_stage,
        to_stage,
        user,
        text,
        entry_type,
        rule,
    )


def _event(row: Row) -> TimelineEvent:
    return _event_from(row, trusted_event, utc_from_us(row[3]), _stored_channel)


def _checked_event(row: Row) -> TimelineEvent:
    return _event_from(row, _constructed, _got(row[3], row[4]), _as_is)


def _event_from(
    row: Row,
    build: Callable[..., TimelineEvent],
    at: datetime,
    channel_of: Callable[[Any], Any],
) -> TimelineEvent:
    """The event of an `EVENTS` row: one mapping of columns to fields for both decoders,
    `build` making the record (trusted, or through its constructor's checks)."""
    kind, common = row[2], {"id": row[0], "item_id": row[1], "at": at}
    if kind == "comment":
        return build(CommentAdded, **common, author_id=row[5], text=row[11])
    if kind == "incoming":
        return build(IncomingMessage, **common, channel=channel_of(row[6]), text=row[11])
    if kind == "stage_changed":
        return build(
            StageChanged,
            **common,
            by_user_id=row[7],
            from_stage_id=row[8],
            to_stage_id=row[9],
        )
    if kind == "history":
        return build(
            HistoryEntryAdded,
            **common,
            author_id=row[5],
            text=row[11],
            entry_type=row[12],
            rule_id=row[13],
        )
    if kind == "viewed":
        return build(ItemViewed, **common, user_id=row[10])
    raise DataFormatError(
        "crm_events.type",
        f"unknown value {kind!r}: the types are comment, incoming, stage_changed, history "
        "and viewed",
    )


def _stored_channel(value: str) -> IncomingChannel:
    """The channel stored as `value`; one the library never writes is refused."""
    return CHANNELS_BY_VALUE.get(value) or _stored(
        CHANNELS_BY_VALUE, "crm_events", "channel", value
    )


def _constructed(kind: Callable[..., TimelineEvent], **fields: Any) -> TimelineEvent:
    """The event through its constructor: every converter and check runs."""
    return kind(**fields)


def _as_is(value: Any) -> Any:
    return value


USERS = Table(
    kind="user",
    name="crm_users",
    columns=("id", "name", "time_zone", "department_id", "active"),
    to_row=_user_row,
    from_row=_user,
)
DEPARTMENTS = Table(
    kind="department",
    name="crm_departments",
    columns=("id", "name", "head_id", "parent_id"),
    to_row=_department_row,
    from_row=_department,
)
#: Pipelines: `from_row` is unused, a pipeline needs its stages (`pipeline_from_rows`).
PIPELINES = Table(
    kind="pipeline",
    name="crm_pipelines",
    columns=("id", "entity_type", "name"),
    to_row=_pipeline_row,
    from_row=lambda row: pipeline_from_rows(row, ()),
)
ITEMS = Table(
    kind="item",
    name="crm_items",
    columns=(
        "id",
        "entity_type",
        "pipeline_id",
        "stage_id",
        "responsible_id",
        "created_at_us",
        "created_at_tz",
        "title",
        "amount",
        "currency",
        "client",
        "fields",
    ),
    to_row=_item_row,
    from_row=_item,
    checked_from_row=_checked_item,
)
ACTIVITIES = Table(
    kind="activity",
    name="crm_activities",
    columns=(
        "id",
        "item_ids",
        "kind",
        "direction",
        "responsible_id",
        "author_id",
        "subject",
        "created_at_us",
        "created_at_tz",
        "deadline_us",
        "deadline_tz",
        "completed_at_us",
        "completed_at_tz",
        "reminder_offsets",
        "incoming",
        "rule_id",
        "lit_at_us",
        "reminded_at_us",
        "reminded_at_tz",
        "type_id",
        "recurrence",
        "recurrence_start_us",
        "recurrence_start_tz",
    ),
    to_row=_activity_row,
    from_row=_activity,
    checked_from_row=_checked_activity,
)
TASKS = Table(
    kind="task",
    name="crm_tasks",
    columns=(
        "id",
        "item_id",
        "title",
        "responsible_id",
        "created_at_us",
        "created_at_tz",
        "status",
        "description",
        "observer_ids",
        "deadline_us",
        "deadline_tz",
        "time_tracking",
        "rule_id",
        "rule_pipeline_id",
        "rule_stage_id",
    ),
    to_row=_task_row,
    from_row=_task,
)
EVENTS = Table(
    kind="event",
    name="crm_events",
    columns=(
        "id",
        "item_id",
        "type",
        "at_us",
        "at_tz",
        "author_id",
        "channel",
        "by_user_id",
        "from_stage_id",
        "to_stage_id",
        "user_id",
        "text",
        "entry_type",
        "rule_id",
    ),
    to_row=_event_row,
    from_row=_event,
    checked_from_row=_checked_event,
)
#: Where `binding_rows` finds its copies in an activity's row.
_DEADLINE, _COMPLETED, _INCOMING, _LIT = (
    ACTIVITIES.columns.index(name)
    for name in ("deadline_us", "completed_at_us", "incoming", "lit_at_us")
)
#: The tables by record kind, in the order a batch is applied (references first).
TABLES = {t.kind: t for t in (USERS, DEPARTMENTS, PIPELINES, ITEMS, ACTIVITIES, TASKS, EVENTS)}


def instant_columns(value: datetime) -> tuple[int, str]:
    """An instant as its two columns: epoch microseconds (UTC) and the zone to show it in."""
    return instant_us(value), _zone_label(value)


def instant_from(us: int, label: str) -> datetime:
    """The instant of two columns (`instant_columns` reversed), in its own zone."""
    return _got(us, label)


#: `crm_reminders`' columns, in the order of a `PingRow` (N1).
REMINDER_COLUMNS = (
    "at_us",
    "activity_id",
    "offset_minutes",
    "item_id",
    "recipient_id",
    "deadline_us",
)


def stored_pings(
    activity_id: str,
    item_id: str,
    recipient_id: str,
    deadline_us: int,
    completed_us: int | None,
    offsets_json: str | None,
    defaults: tuple[int, ...],
) -> list[PingRow]:
    """The reminder pings (N1) of an activity stored as a row: its offsets or `defaults`."""
    offsets = defaults if offsets_json is None else tuple(json.loads(offsets_json))
    return pings_from(
        activity_id,
        item_id,
        recipient_id,
        int(deadline_us),
        None if completed_us is None else int(completed_us),
        with_deadline(tuple(sorted(offsets, reverse=True))),
    )
