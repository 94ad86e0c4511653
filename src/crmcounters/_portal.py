"""The portal data format: a whole portal as one JSON document (docs/data-format.md)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, time, tzinfo
from typing import Any

import attrs

from . import _validate as v
from ._access import AccessPolicy
from ._activities import Activity, ActivityKind
from ._activity_types import ActivityType, DeadlineRule, DeadlineUnit
from ._errors import DataFormatError, DuplicateIdError, IntegrityError
from ._events import (
    HISTORY_INFORMATION,
    CommentAdded,
    HistoryEntryAdded,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    StageChanged,
    TimelineEvent,
)
from ._gc import collector_paused
from ._items import Item
from ._json import REQUIRED, Reader, build, format_datetime, parse_date, parse_document
from ._limits import DEFAULT_MAX_FILE_BYTES
from ._loading import (
    ACTIVITY_FIELDS,
    ITEM_FIELDS,
    Decoded,
    Doubt,
    Known,
    build_activity,
    build_item,
    decode,
)
from ._memory import InMemoryStorage, Record
from ._pipelines import Pipeline, Stage
from ._settings import CalendarSettings, PlannedRule, Settings
from ._smart_settings import SmartActivitySettings
from ._source import read_input_file
from ._storage import PortalStorage, Storage
from ._tasks import Task, TaskStatus
from ._users import Department, User

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Portal",
    "dump_portal",
    "load_portal",
    "portal_details",
    "portal_from_details",
    "read_portal",
    "write_portal",
]

#: The value of the document's "format" key.
FORMAT = "crmcounters.portal"
#: The document version this library reads and writes.
FORMAT_VERSION = 1

logger = logging.getLogger("crmcounters")
#: How many records `load_portal` reads between two progress reports.
_PROGRESS_EVERY = 1_000

_SECTIONS = ("users", "departments", "pipelines", "items", "activities", "tasks", "events")
_TOP_KEYS = frozenset(
    {"format", "version", "description", "as_of", "access", "settings", *_SECTIONS}
)


@attrs.frozen(kw_only=True)
class Portal:
    """A portal: its storage (with settings) plus the document's description.

    `storage` is an `InMemoryStorage` for a portal loaded from JSON, or a
    database (`crmcounters.sql.SqlStorage.portal()`): any `PortalStorage`.
    `as_of` is the instant the data was written for, if any (the sample portal
    has one, so its demo and examples show the same day whenever they run).
    `access` is who may read whose counters (C7); hosts with their own
    permission model build an `AccessPolicy` themselves.
    """

    storage: PortalStorage
    description: str = attrs.field(default="", validator=v.text)
    as_of: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    access: AccessPolicy = attrs.field(factory=AccessPolicy)


# -- loading -----------------------------------------------------------------


def load_portal(
    source: str | bytes, *, progress: Callable[[int, int], None] | None = None
) -> Portal:
    """Build a portal from JSON text; any fault raises `DataFormatError` naming its JSON path.

    `progress` is told (records read, records in all) every 1,000 records and
    once more when the portal is stored: the command line draws a progress line.
    """
    portal = _load_checked_once(lambda: source, progress)
    if portal is not None:
        return portal
    root = Reader(parse_document(source), "$")
    root.reject_unknown(_TOP_KEYS)
    if root.text("format", REQUIRED) != FORMAT:
        root.fail("format", f"expected {FORMAT!r}")
    if root.whole("version", REQUIRED) != FORMAT_VERSION:
        root.fail("version", f"this library reads version {FORMAT_VERSION}")
    storage = InMemoryStorage(_settings(root.object("settings")))
    paths: dict[tuple[str, str], str] = {}
    batches: list[list[Record]] = [[], [], [], [], []]
    records = _records(root)
    for done, (kind, reader) in enumerate(records, start=1):
        record = _record(kind, reader)
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, len(records))
        key = (_KIND_OF[kind], record.id)
        if key in paths:
            raise DataFormatError(
                reader.at("id"), f"duplicate {key[0]} id {record.id!r} (first at {paths[key]})"
            )
        paths[key] = reader.path
        batches[_BATCH_OF[kind]].append(record)
    for batch in batches:  # users and departments refer to each other: one batch
        try:
            storage.add_all(batch)
        except IntegrityError as exc:
            raise DataFormatError(
                f"{paths[(exc.record_kind, exc.record_id)]}.{exc.field}", exc.problem
            ) from None
        except DuplicateIdError as exc:  # pragma: no cover - caught above, kept as a guard
            raise DataFormatError(paths[(exc.kind, exc.record_id)], str(exc)) from None
    if progress is not None:
        progress(len(records), len(records))
    portal = _with_details(root, storage)
    logger.info(
        "loaded a portal: %d records (%d users, %d items, %d activities)",
        len(records),
        len(storage.users()),
        len(storage.items()),
        len(storage.activities()),
    )
    return portal


def _with_details(r: Reader, storage: PortalStorage) -> Portal:
    """A portal over `storage` with the description, as_of and access policy read from `r`."""
    return Portal(
        storage=storage,
        description=r.text("description", ""),
        as_of=r.instant("as_of"),
        access=_access(r.object("access"), storage),
    )


def portal_from_details(storage: PortalStorage, details: object, path: str = "$") -> Portal:
    """A portal over `storage` whose description, as_of and access come from a details object.

    The object is what `portal_details` writes (the SQL adapter stores it);
    faults raise `DataFormatError` naming the JSON path, as `load_portal` does.
    """
    r = Reader(details, path)
    r.reject_unknown({"description", "as_of", "access"})
    return _with_details(r, storage)


def _access(r: Reader, storage: Storage) -> AccessPolicy:
    r.reject_unknown({"default", "levels"})
    levels = r.object("levels")
    known = {user.id for user in storage.users()}
    for user_id, level in levels.data.items():
        if user_id not in known:
            levels.fail(user_id, f"unknown user id {user_id!r}")
        if not isinstance(level, str):
            levels.fail(user_id, "expected an access level string")
    return build(r.path, AccessPolicy, levels=levels.data, default=r.text("default", "own"))


def read_portal(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Portal:
    """Load a portal from a JSON file (`progress` as `load_portal`'s).

    Only a regular file of at most `max_bytes` bytes is read (256 MiB unless
    raised); anything else raises `InputFileError` naming the file.
    """
    # The file's bytes live only while they are decoded (`_load_checked_once`).
    portal = _load_checked_once(lambda: read_input_file(path, max_bytes=max_bytes), progress)
    if portal is not None:
        return portal
    return load_portal(read_input_file(path, max_bytes=max_bytes), progress=progress)


# -- the fast path: each value checked once (issue 15, `_loading`) ------------


def _load_checked_once(
    read: Callable[[], str | bytes], progress: Callable[[int, int], None] | None
) -> Portal | None:
    """The portal built by the fast path, or None when the validated path must read it.

    The fast path reports no fault itself: on any (a `Doubt`, a refusal, a
    decoder's error) the validated path reads the document again and names
    the fault at its JSON path, as it always has.
    """
    # The records built here hold no reference cycles, and a million of them made the cyclic
    # garbage collector walk the growing heap again and again: about half the time of a
    # 1,000,000-activity load. It is paused meanwhile and left as it was found.
    with collector_paused():
        try:
            return _build_checked_once(decode(read()), progress)
        except Exception as exc:  # every fault is the validated path's to report
            logger.debug("reading the portal the validated way: %s: %s", type(exc).__name__, exc)
            return None


def _build_checked_once(decoded: Decoded, progress: Callable[[int, int], None] | None) -> Portal:
    """`load_portal`'s portal, its items and activities built and checked by `_loading`."""
    root = Reader(decoded.document, "$")
    root.reject_unknown(_TOP_KEYS)
    if root.text("format", REQUIRED) != FORMAT or root.whole("version", REQUIRED) != 1:
        raise Doubt
    storage = InMemoryStorage(_settings(root.object("settings")))
    first = [
        (kind, r) for kind in ("users", "departments", "pipelines") for r in root.objects(kind)
    ]
    last = [(kind, r) for kind in ("tasks", "events") for r in root.objects(kind)]
    item_rows, activity_rows = decoded.items, decoded.activities
    total = len(first) + len(item_rows) + len(activity_rows) + len(last)
    done = 0
    every = _PROGRESS_EVERY if progress is not None else total + 1  # a multiple never reached
    people: list[Record] = []
    pipelines: list[Record] = []
    for kind, reader in first:
        (pipelines if kind == "pipelines" else people).append(_record(kind, reader))
        done += 1
        if progress is not None and done % every == 0:
            progress(done, total)
    storage.add_all(people)  # users and departments refer to each other: one batch
    storage.add_all(pipelines)
    known = Known(
        (user.id for user in storage.users()),
        storage.pipelines(),
        (activity_type.id for activity_type in storage.settings.activity_types),
    )
    for rows, values, make in (
        (item_rows, decoded.item_values, build_item),
        (activity_rows, decoded.activity_values, build_activity),
    ):
        built: list[Item | Activity] = []
        append = built.append
        for index in range(len(rows)):
            append(make(values(rows[index]), known))
            rows[index] = None  # the decoded object is not needed again: free it now
            done += 1
            if done % every == 0 and progress is not None:
                progress(done, total)
        storage._add_checked(built)  # checked as `add` would: see `_loading.Known`
        del built
    later: list[list[Record]] = [[], []]
    for kind, reader in last:
        later[kind == "events"].append(_record(kind, reader))
        done += 1
        if progress is not None and done % every == 0:
            progress(done, total)
    decoded.finish()
    for batch in later:
        storage.add_all(batch)
    if progress is not None:
        progress(total, total)
    portal = _with_details(root, storage)
    logger.info(
        "loaded a portal: %d records (%d users, %d items, %d activities)",
        total,
        len(storage.users()),
        len(storage.items()),
        len(storage.activities()),
    )
    return portal


_KIND_OF = {
    "users": "user",
    "departments": "department",
    "pipelines": "pipeline",
    "items": "item",
    "activities": "activity",
    "tasks": "task",
    "events": "event",
}
_BATCH_OF = {
    "users": 0,
    "departments": 0,
    "pipelines": 1,
    "items": 2,
    "activities": 3,
    "tasks": 3,
    "events": 4,
}


def _records(root: Reader) -> list[tuple[str, Reader]]:
    return [(section, reader) for section in _SECTIONS for reader in root.objects(section)]


def _record(section: str, r: Reader) -> Record:
    reader: Callable[[Reader], Record] = _READERS[section]
    return reader(r)


def _settings(r: Reader) -> Settings:
    r.reject_unknown(
        {
            "urgency_offset_minutes",
            "focus_reminder_offsets",
            "open_activity_cap",
            "counter_mode",
            "planned_rule",
            "week_start",
            "calendar",
            "smart_activities",
            "activity_types",
        }
    )
    defaults = Settings()
    calendar = r.object("calendar")
    calendar.reject_unknown(
        {"country", "subdivision", "weekend_days", "company_days_off", "extra_working_days"}
    )
    calendar_settings = build(
        calendar.path,
        CalendarSettings,
        country=calendar.text("country"),
        subdivision=calendar.text("subdivision"),
        weekend_days=calendar.ints("weekend_days", None),
        company_days_off=_dates(calendar, "company_days_off"),
        extra_working_days=_dates(calendar, "extra_working_days"),
    )
    return build(
        r.path,
        Settings,
        urgency_offset_minutes=r.whole("urgency_offset_minutes", defaults.urgency_offset_minutes),
        focus_reminder_offsets=r.ints("focus_reminder_offsets", defaults.focus_reminder_offsets),
        open_activity_cap=r.whole("open_activity_cap", defaults.open_activity_cap),
        counter_mode=_choice(
            r,
            "counter_mode",
            defaults.counter_mode.value,
            ("item_responsible", "activity_responsible"),
        ),
        planned_rule=_choice(
            r, "planned_rule", defaults.planned_rule.value, tuple(p.value for p in PlannedRule)
        ),
        week_start=r.whole("week_start", defaults.week_start),
        calendar=calendar_settings,
        smart_activities=_smart_activities(r.object("smart_activities")),
        activity_types=tuple(_activity_type(t) for t in r.objects("activity_types")),
    )


def _activity_type(r: Reader) -> ActivityType:
    """One activity type (A1); a `next_type_id` naming no type is refused by `Settings`."""
    r.reject_unknown(
        {"id", "name", "kind", "subject", "deadline", "reminder_offsets", "next_type_id"}
    )
    rule = None
    if r.has("deadline"):
        d = r.object("deadline")
        d.reject_unknown({"amount", "unit", "time_of_day"})
        rule = build(
            d.path,
            DeadlineRule,
            amount=d.whole("amount", REQUIRED),
            unit=_choice(d, "unit", "", tuple(u.value for u in DeadlineUnit)),
            time_of_day=_wall_time(d, "time_of_day"),
        )
    return build(
        r.path,
        ActivityType,
        id=r.text("id", REQUIRED),
        name=r.text("name", REQUIRED),
        kind=_choice(r, "kind", ActivityKind.TODO.value, tuple(k.value for k in ActivityKind)),
        subject=r.text("subject", ""),
        deadline=rule,
        reminder_offsets=r.ints("reminder_offsets", None),
        next_type_id=r.text("next_type_id"),
    )


def _wall_time(r: Reader, key: str) -> time | None:
    text = r.text(key)
    if text is None:
        return None
    try:
        value = time.fromisoformat(text)
    except ValueError:
        r.fail(key, f"not a time of day (HH:MM): {text!r}")
    if value.tzinfo is not None:
        r.fail(key, f"a wall-clock time without an offset, got {text!r}")
    return value


def _activity_type_to_dict(activity_type: ActivityType) -> dict[str, Any]:
    rule = activity_type.deadline
    offsets = activity_type.reminder_offsets
    return {
        "id": activity_type.id,
        "name": activity_type.name,
        "kind": activity_type.kind.value,
        "subject": activity_type.subject,
        "deadline": None
        if rule is None
        else {
            "amount": rule.amount,
            "unit": rule.unit.value,
            "time_of_day": None
            if rule.time_of_day is None
            else rule.time_of_day.isoformat(timespec="minutes"),
        },
        "reminder_offsets": None if offsets is None else list(offsets),
        "next_type_id": activity_type.next_type_id,
    }


def _smart_activities(r: Reader) -> SmartActivitySettings:
    r.reject_unknown({"switched_off", "business_days", "text"})
    defaults = SmartActivitySettings()
    return build(
        r.path,
        SmartActivitySettings,
        switched_off=r.strings("switched_off"),
        business_days=r.whole("business_days", defaults.business_days),
        text=r.text("text"),
    )


def settings_from_dict(data: object, path: str = "$.settings") -> Settings:
    """Settings from a "settings" object; faults raise `DataFormatError` naming the JSON path."""
    return _settings(Reader(data, path))


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """The JSON-ready "settings" object of the portal format (also stored by the SQL adapter)."""
    calendar = settings.calendar
    return {
        "urgency_offset_minutes": settings.urgency_offset_minutes,
        "focus_reminder_offsets": list(settings.focus_reminder_offsets),
        "open_activity_cap": settings.open_activity_cap,
        "counter_mode": settings.counter_mode.value,
        "planned_rule": settings.planned_rule.value,
        "week_start": settings.week_start,
        "calendar": {
            "country": calendar.country,
            "subdivision": calendar.subdivision,
            "weekend_days": None if calendar.weekend_days is None else list(calendar.weekend_days),
            "company_days_off": [d.isoformat() for d in calendar.company_days_off],
            "extra_working_days": [d.isoformat() for d in calendar.extra_working_days],
        },
        "smart_activities": {
            "switched_off": list(settings.smart_activities.switched_off),
            "business_days": settings.smart_activities.business_days,
            "text": settings.smart_activities.text,
        },
        **(
            {"activity_types": [_activity_type_to_dict(t) for t in settings.activity_types]}
            if settings.activity_types
            else {}
        ),
    }


def _dates(r: Reader, key: str) -> tuple[Any, ...]:
    return tuple(parse_date(text, f"{r.at(key)}[{i}]") for i, text in enumerate(r.strings(key)))


def _choice(r: Reader, key: str, default: str, choices: tuple[str, ...]) -> str:
    value: str = r.text(key, default)
    if value not in choices:
        r.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _user(r: Reader) -> User:
    r.reject_unknown({"id", "name", "time_zone", "department_id", "active"})
    return build(
        r.path,
        User,
        id=r.text("id", REQUIRED),
        name=r.text("name", ""),
        time_zone=r.text("time_zone", REQUIRED),
        department_id=r.text("department_id"),
        active=r.flag("active", True),
    )


def _department(r: Reader) -> Department:
    r.reject_unknown({"id", "name", "head_id", "parent_id"})
    return build(
        r.path,
        Department,
        id=r.text("id", REQUIRED),
        name=r.text("name", ""),
        head_id=r.text("head_id"),
        parent_id=r.text("parent_id"),
    )


def _pipeline(r: Reader) -> Pipeline:
    r.reject_unknown({"id", "entity_type", "name", "stages"})
    stages = []
    for s in r.objects("stages"):
        s.reject_unknown({"id", "name", "semantics"})
        semantics = _choice(s, "semantics", "in_progress", ("in_progress", "success", "failure"))
        stages.append(
            build(
                s.path,
                Stage,
                id=s.text("id", REQUIRED),
                name=s.text("name", ""),
                semantics=semantics,
            )
        )
    return build(
        r.path,
        Pipeline,
        id=r.text("id", REQUIRED),
        entity_type=r.text("entity_type", REQUIRED),
        name=r.text("name", ""),
        stages=stages,
    )


#: An item's and an activity's keys: the fast loader's lists (one list for both paths).
_ITEM_KEYS = frozenset(ITEM_FIELDS)
_ACTIVITY_KEYS = frozenset(ACTIVITY_FIELDS)


def _item(r: Reader) -> Item:
    r.reject_unknown(_ITEM_KEYS)
    fields = r.object("fields").data
    return build(
        r.path,
        Item,
        id=r.text("id", REQUIRED),
        entity_type=r.text("entity_type", REQUIRED),
        pipeline_id=r.text("pipeline_id"),  # none for contacts and companies
        stage_id=r.text("stage_id"),
        responsible_id=r.text("responsible_id", REQUIRED),
        created_at=r.instant("created_at", REQUIRED),
        title=r.text("title", ""),
        amount=r.text("amount"),
        currency=r.text("currency", ""),
        client=r.text("client", ""),
        fields=fields,
    )


def _activity(r: Reader) -> Activity:
    r.reject_unknown(_ACTIVITY_KEYS)
    return build(
        r.path,
        Activity,
        id=r.text("id", REQUIRED),
        item_ids=r.strings("item_ids"),
        kind=_choice(r, "kind", "", tuple(k.value for k in ActivityKind)),
        direction=_choice(r, "direction", "none", ("incoming", "outgoing", "none")),
        responsible_id=r.text("responsible_id", REQUIRED),
        author_id=r.text("author_id"),
        subject=r.text("subject", ""),
        created_at=r.instant("created_at", REQUIRED),
        deadline=r.instant("deadline"),
        completed_at=r.instant("completed_at"),
        reminder_offsets=r.ints("reminder_offsets", None),
        incoming=r.flag("incoming", False),
        rule_id=r.text("rule_id"),
        reminded_at=r.instant("reminded_at"),
        type_id=r.text("type_id"),
        recurrence=r.text("recurrence"),
        recurrence_start=r.instant("recurrence_start"),
    )


def _task(r: Reader) -> Task:
    r.reject_unknown(
        {
            "id",
            "item_id",
            "title",
            "responsible_id",
            "created_at",
            "status",
            "description",
            "observer_ids",
            "deadline",
            "time_tracking",
            "rule_id",
            "rule_pipeline_id",
            "rule_stage_id",
        }
    )
    return build(
        r.path,
        Task,
        id=r.text("id", REQUIRED),
        item_id=r.text("item_id", REQUIRED),
        title=r.text("title", ""),
        responsible_id=r.text("responsible_id", REQUIRED),
        created_at=r.instant("created_at", REQUIRED),
        status=_choice(r, "status", "new", tuple(s.value for s in TaskStatus)),
        description=r.text("description", ""),
        observer_ids=r.strings("observer_ids"),
        deadline=r.instant("deadline"),
        time_tracking=r.flag("time_tracking", False),
        rule_id=r.text("rule_id"),
        rule_pipeline_id=r.text("rule_pipeline_id"),
        rule_stage_id=r.text("rule_stage_id"),
    )


def _event(r: Reader) -> TimelineEvent:
    event_type = _choice(
        r, "type", "", ("comment", "incoming", "stage_changed", "viewed", "history")
    )
    common = {
        "id": r.text("id", REQUIRED),
        "item_id": r.text("item_id", REQUIRED),
        "at": r.instant("at", REQUIRED),
    }
    base = {"type", "id", "item_id", "at"}
    if event_type == "comment":
        r.reject_unknown(base | {"author_id", "text"})
        return build(
            r.path,
            CommentAdded,
            **common,
            author_id=r.text("author_id", REQUIRED),
            text=r.text("text", ""),
        )
    if event_type == "incoming":
        r.reject_unknown(base | {"channel", "text"})
        channel = _choice(r, "channel", "", tuple(c.value for c in IncomingChannel))
        return build(r.path, IncomingMessage, **common, channel=channel, text=r.text("text", ""))
    if event_type == "stage_changed":
        r.reject_unknown(base | {"by_user_id", "from_stage_id", "to_stage_id"})
        return build(
            r.path,
            StageChanged,
            **common,
            by_user_id=r.text("by_user_id", REQUIRED),
            from_stage_id=r.text("from_stage_id"),
            to_stage_id=r.text("to_stage_id", REQUIRED),
        )
    if event_type == "history":
        r.reject_unknown(base | {"author_id", "text", "entry_type", "rule_id"})
        return build(
            r.path,
            HistoryEntryAdded,
            **common,
            author_id=r.text("author_id", REQUIRED),
            text=r.text("text", ""),
            entry_type=r.text("entry_type", HISTORY_INFORMATION),
            rule_id=r.text("rule_id"),
        )
    r.reject_unknown(base | {"user_id"})
    return build(r.path, ItemViewed, **common, user_id=r.text("user_id", REQUIRED))


_READERS: dict[str, Callable[[Reader], Record]] = {
    "users": _user,
    "departments": _department,
    "pipelines": _pipeline,
    "items": _item,
    "activities": _activity,
    "tasks": _task,
    "events": _event,
}

# -- saving ------------------------------------------------------------------


def _instant(value: datetime | None, zone: tzinfo) -> str | None:
    """An instant written in `zone`: the zone of the user it belongs to, for people reading."""
    return None if value is None else format_datetime(value.astimezone(zone))


def portal_details(portal: Portal) -> dict[str, Any]:
    """The portal's description, as_of and access policy as the document writes them.

    Each is left out while it has its default value.
    """
    details: dict[str, Any] = {}
    if portal.description:
        details["description"] = portal.description
    if portal.as_of is not None:
        details["as_of"] = format_datetime(portal.as_of)
    if portal.access != AccessPolicy():
        details["access"] = {
            "default": portal.access.default.value,
            "levels": {user: level.value for user, level in portal.access.levels.items()},
        }
    return details


def portal_to_dict(portal: Portal) -> dict[str, Any]:
    """The JSON-ready document of a portal."""
    storage = portal.storage
    document: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
    document.update(portal_details(portal))
    document["settings"] = settings_to_dict(storage.settings)
    # The library holds instants in UTC; the file shows each in its user's zone (G4).
    zones = {user.id: user.zone for user in storage.users()}
    item_zones = {item.id: zones[item.responsible_id] for item in storage.items()}
    document["users"] = [
        {"id": u.id, "name": u.name, "time_zone": u.time_zone, "department_id": u.department_id}
        | ({} if u.active else {"active": False})  # written only for a deactivated user
        for u in storage.users()
    ]
    document["departments"] = [
        {"id": d.id, "name": d.name, "head_id": d.head_id, "parent_id": d.parent_id}
        for d in storage.departments()
    ]
    document["pipelines"] = [
        {
            "id": p.id,
            "entity_type": p.entity_type,
            "name": p.name,
            "stages": [
                {"id": s.id, "name": s.name, "semantics": s.semantics.value} for s in p.stages
            ],
        }
        for p in storage.pipelines()
    ]
    document["items"] = [
        {
            "id": i.id,
            "entity_type": i.entity_type,
            "pipeline_id": i.pipeline_id,
            "stage_id": i.stage_id,
            "responsible_id": i.responsible_id,
            "created_at": _instant(i.created_at, zones[i.responsible_id]),
            "title": i.title,
            "amount": None if i.amount is None else str(i.amount),
            "currency": i.currency,
            "client": i.client,
            "fields": dict(i.fields),
        }
        for i in storage.items()
    ]
    document["activities"] = [
        {
            "id": a.id,
            "item_ids": list(a.item_ids),
            "kind": a.kind.value,
            "direction": a.direction.value,
            "responsible_id": a.responsible_id,
            "author_id": a.author_id,
            "subject": a.subject,
            "created_at": _instant(a.created_at, zones[a.responsible_id]),
            "deadline": _instant(a.deadline, zones[a.responsible_id]),
            "completed_at": _instant(a.completed_at, zones[a.responsible_id]),
            "reminder_offsets": None if a.reminder_offsets is None else list(a.reminder_offsets),
            "incoming": a.incoming,
            "rule_id": a.rule_id,
            # Only set once a deadline was moved (F2): left out otherwise.
            **(
                {}
                if a.reminded_at is None
                else {"reminded_at": _instant(a.reminded_at, zones[a.responsible_id])}
            ),
            **({} if a.type_id is None else {"type_id": a.type_id}),  # A1
            **({} if a.recurrence is None else {"recurrence": a.recurrence}),  # A2
            **(
                {}
                if a.recurrence_start is None
                else {"recurrence_start": _instant(a.recurrence_start, zones[a.responsible_id])}
            ),
        }
        for a in storage.activities()
    ]
    document["tasks"] = [
        {
            "id": t.id,
            "item_id": t.item_id,
            "title": t.title,
            "responsible_id": t.responsible_id,
            "created_at": _instant(t.created_at, zones[t.responsible_id]),
            "status": t.status.value,
            "description": t.description,
            "observer_ids": list(t.observer_ids),
            "deadline": _instant(t.deadline, zones[t.responsible_id]),
            "time_tracking": t.time_tracking,
            "rule_id": t.rule_id,
            "rule_pipeline_id": t.rule_pipeline_id,
            "rule_stage_id": t.rule_stage_id,
        }
        for t in storage.tasks()
    ]
    document["events"] = [_event_to_dict(e, item_zones[e.item_id]) for e in storage.events()]
    return document


def _event_to_dict(event: TimelineEvent, zone: tzinfo) -> dict[str, Any]:
    common = {"id": event.id, "item_id": event.item_id, "at": _instant(event.at, zone)}
    if isinstance(event, CommentAdded):
        return {"type": "comment", **common, "author_id": event.author_id, "text": event.text}
    if isinstance(event, IncomingMessage):
        return {"type": "incoming", **common, "channel": event.channel.value, "text": event.text}
    if isinstance(event, StageChanged):
        return {
            "type": "stage_changed",
            **common,
            "by_user_id": event.by_user_id,
            "from_stage_id": event.from_stage_id,
            "to_stage_id": event.to_stage_id,
        }
    if isinstance(event, HistoryEntryAdded):
        return {
            "type": "history",
            **common,
            "author_id": event.author_id,
            "text": event.text,
            "entry_type": event.entry_type,
            "rule_id": event.rule_id,
        }
    return {"type": "viewed", **common, "user_id": event.user_id}


def dump_portal(portal: Portal) -> str:
    """The portal as JSON text (stable key order, two-space indent, trailing newline)."""
    return json.dumps(portal_to_dict(portal), indent=2, ensure_ascii=False) + "\n"


def write_portal(portal: Portal, path: str | os.PathLike[str]) -> None:
    """Save a portal to a JSON file."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dump_portal(portal))
