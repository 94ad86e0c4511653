"""The fast way to load a portal document: check each value once, then build (issue 15).

`load_portal` tries this path first. Items and activities, nearly all of a
large portal, are checked here value by value, as their constructors'
converters and validators would check them, and built with `trusted_item` /
`trusted_activity`, so that no check runs twice; every other section goes
through the readers of `_portal` unchanged, and the storage checks the
references (G5) as always.

This path never reports a fault itself. At the first doubt (a value of the
wrong type, a naive or out-of-range instant, an unknown key, a dangling
reference: anything it does not vouch for) it raises `Doubt` and
`load_portal` reads the document again the validated way, which names the
fault and its JSON path exactly as before. A document this path accepts
gives the same records as the validated path (a property test holds the two
together).

With msgspec installed (the `fast` extra), the document is decoded straight
into compact typed records instead of dicts (`_msgspec_decode`): a 1,000,000-
activity portal then loads in well under half the memory `json.loads` needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from . import _validate as v
from ._activities import (
    DIRECTIONS_BY_VALUE,
    KINDS_BY_VALUE,
    Activity,
    Direction,
    recurrence_of,
    trusted_activity,
)
from ._items import NO_FIELDS, Item, amount_of, freeze_fields, trusted_item
from ._json import parse_document
from ._limits import MAX_ID_LENGTH, MAX_LIST_LENGTH, MAX_REMINDER_OFFSETS
from ._pipelines import Pipeline, check_entity_type, has_pipelines
from ._validate import MAX_OFFSET_MINUTES

__all__ = [
    "ACTIVITY_FIELDS",
    "ITEM_FIELDS",
    "Decoded",
    "Doubt",
    "Known",
    "build_activity",
    "build_item",
    "decode",
]

#: The keys of an activity object, in the order `build_activity` takes their values.
ACTIVITY_FIELDS = (
    "id",
    "item_ids",
    "kind",
    "direction",
    "responsible_id",
    "author_id",
    "subject",
    "created_at",
    "deadline",
    "completed_at",
    "reminder_offsets",
    "incoming",
    "rule_id",
    "reminded_at",
    "type_id",
    "recurrence",
    "recurrence_start",
)
#: The keys of an item object, in the order `build_item` takes their values.
ITEM_FIELDS = (
    "id",
    "entity_type",
    "pipeline_id",
    "stage_id",
    "responsible_id",
    "created_at",
    "title",
    "amount",
    "currency",
    "client",
    "fields",
)
_ACTIVITY_KEYS = frozenset(ACTIVITY_FIELDS)
_ITEM_KEYS = frozenset(ITEM_FIELDS)
# The range every stored instant must lie in (G5), as `_validate.check_in_range` has it.
_FIRST = datetime.min.replace(tzinfo=UTC) + timedelta(minutes=MAX_OFFSET_MINUTES)
_LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
_parse_instant = datetime.fromisoformat
#: Text up to this long, in ASCII, needs no check beyond its type (`check_text` allows more).
_SHORT = 1_000


class Doubt(Exception):  # noqa: N818 - never reaches the caller: it hands the document over
    """This path does not vouch for the document: the validated path is to read it."""


class Decoded:
    """A decoded document: the small sections as JSON, and each item and activity object.

    `document` has every key but "items" and "activities", whose objects are
    in `items` and `activities` (as dicts here; as typed records from msgspec).
    `values` gives one object's values in `ITEM_FIELDS` or `ACTIVITY_FIELDS`
    order, None for an absent key; `finish` raises `Doubt` if the document
    held something the decoding could not see.
    """

    def __init__(self, document: dict[str, Any], items: list[Any], activities: list[Any]) -> None:
        self.document = document
        self.items = items
        self.activities = activities

    def item_values(self, item: Any) -> tuple[Any, ...]:
        """One item object's values, in `ITEM_FIELDS` order."""
        return _values(item, _ITEM_KEYS, ITEM_FIELDS)

    def activity_values(self, activity: Any) -> tuple[Any, ...]:
        """One activity object's values, in `ACTIVITY_FIELDS` order."""
        return _values(activity, _ACTIVITY_KEYS, ACTIVITY_FIELDS)

    def finish(self) -> None:
        """Nothing to add: the standard library's parser saw the whole document."""


def _values(one: Any, known: frozenset[str], fields: tuple[str, ...]) -> tuple[Any, ...]:
    if type(one) is not dict or not one.keys() <= known:
        raise Doubt
    return tuple(map(one.get, fields))


def decode(source: str | bytes) -> Decoded:
    """Decode a document with msgspec when it is installed, else with the standard library."""
    try:
        from ._msgspec_decode import decode_with_msgspec
    except ImportError:  # msgspec is the optional `fast` extra
        return _decode_with_json(source)
    return decode_with_msgspec(source)


def _decode_with_json(source: str | bytes) -> Decoded:
    document = parse_document(source)
    if type(document) is not dict:
        raise Doubt
    items = document.pop("items", None)
    activities = document.pop("activities", None)
    items = [] if items is None else items
    activities = [] if activities is None else activities
    if type(items) is not list or type(activities) is not list:
        raise Doubt
    return Decoded(document, items, activities)


class Known:
    """The users, pipelines and items stored or read so far: references resolve here.

    Each look-up both checks the reference (G5, as the storage's write check
    does) and gives the one string already held for that id, so a
    1,000,000-activity portal does not keep a copy of an item's and a user's
    id in every activity bound to them (about 100 MB there).
    """

    def __init__(
        self, users: Iterable[str], pipelines: Iterable[Pipeline], activity_types: Iterable[str]
    ) -> None:
        self.users = {user_id: user_id for user_id in users}
        self.activity_types = frozenset(activity_types)
        self.stages = {p.id: (p.entity_type, frozenset(s.id for s in p.stages)) for p in pipelines}
        self.items: dict[str, str] = {}
        self.activities: set[str] = set()
        self.entity_types: set[str] = set()


# -- the checks, each as the model's converter or validator makes it -----------------------


# A `ValidationError` raised by a check below is a doubt too (see `_portal._load_checked_once`).


def _an_id(value: Any) -> str:
    """`value` if `check_id` accepts it; short ASCII ids (nearly all) are checked here."""
    if type(value) is not str:
        raise Doubt
    if value.isascii() and 0 < len(value) <= MAX_ID_LENGTH and not value.isspace():
        return value  # non-blank, not too long, and ASCII cannot hold a lone surrogate
    return v.check_id("id", value)


def _optional_id(value: Any) -> str | None:
    return None if value is None else _an_id(value)


def _text(value: Any) -> str:
    """`value` if `check_text` accepts it (None is ""); short ASCII text is checked here."""
    if value is None:
        return ""
    if type(value) is not str:
        raise Doubt
    if len(value) <= _SHORT and value.isascii():
        return value
    return v.check_text("text", value)


def _instant(value: Any) -> datetime:
    """A JSON instant as the model keeps it: aware, in UTC, in the computable range (G2, G5)."""
    if type(value) is not str:
        raise Doubt
    parsed = _parse_instant(value)  # a ValueError is a doubt too (see `load_portal`)
    if parsed.tzinfo is None:  # fromisoformat gives a fixed offset (`timezone`) or none
        raise Doubt
    instant = parsed.astimezone(UTC)
    if not _FIRST <= instant <= _LAST:
        raise Doubt
    return instant


def _offsets(value: Any) -> tuple[int, ...] | None:
    """Reminder offsets as `_validate.check_offsets` keeps them: sorted, largest first."""
    if value is None:
        return None
    if type(value) is not list or len(value) > MAX_REMINDER_OFFSETS:
        raise Doubt
    for one in value:
        if type(one) is not int or not 0 <= one <= MAX_OFFSET_MINUTES:
            raise Doubt
    return tuple(sorted(set(value), reverse=True))


def build_activity(values: tuple[Any, ...], known: Known) -> Activity:
    """An activity from its values (`ACTIVITY_FIELDS` order) whose references are known."""
    (
        activity_id,
        item_ids,
        kind,
        direction,
        responsible_id,
        author_id,
        subject,
        created_at,
        deadline,
        completed_at,
        reminder_offsets,
        incoming,
        rule_id,
        reminded_at,
        type_id,
        recurrence,
        recurrence_start,
    ) = values
    if activity_id in known.activities:
        raise Doubt  # a repeated id
    known.activities.add(_an_id(activity_id))
    if type(item_ids) is not list or not item_ids or len(item_ids) > MAX_LIST_LENGTH:
        raise Doubt
    items = known.items
    bound = tuple([items[one] for one in item_ids])  # a KeyError (unknown item) is a doubt
    if len(bound) > 1 and len(set(bound)) != len(bound):
        raise Doubt
    if incoming is None:
        incoming = False
    elif type(incoming) is not bool:
        raise Doubt
    created = _instant(created_at)
    due = None if deadline is None else _instant(deadline)
    completed = None if completed_at is None else _instant(completed_at)
    if (incoming and due is not None) or (completed is not None and completed < created):
        raise Doubt
    if type_id is not None and type_id not in known.activity_types:  # A1, as the storage checks
        raise Doubt
    if recurrence is not None:
        if due is None:
            raise Doubt
        recurrence = recurrence_of(recurrence)  # A2: the model's converter, canonical form
    elif recurrence_start is not None:
        raise Doubt
    users = known.users
    return trusted_activity(
        activity_id,
        bound,
        KINDS_BY_VALUE[kind],  # a KeyError (absent or unknown kind) is a doubt
        Direction.NONE if direction is None else DIRECTIONS_BY_VALUE[direction],
        users[responsible_id],
        None if author_id is None else users[author_id],
        _text(subject),
        created,
        due,
        completed,
        _offsets(reminder_offsets),
        incoming,
        _optional_id(rule_id),
        None if reminded_at is None else _instant(reminded_at),
        _optional_id(type_id),
        recurrence,
        None if recurrence_start is None else _instant(recurrence_start),
    )


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if type(value) is not str:
        raise Doubt
    return amount_of(value)  # the model's own converter: format, digits, finite


def build_item(values: tuple[Any, ...], known: Known) -> Item:
    """An item from its values (`ITEM_FIELDS` order) whose references are known."""
    (
        item_id,
        entity_type,
        pipeline_id,
        stage_id,
        responsible_id,
        created_at,
        title,
        amount,
        currency,
        client,
        fields,
    ) = values
    item_id = _an_id(item_id)
    if item_id in known.items:
        raise Doubt  # a repeated id
    if entity_type not in known.entity_types:
        known.entity_types.add(check_entity_type("entity_type", entity_type))
    if fields is None or (type(fields) is dict and not fields):
        frozen = NO_FIELDS  # immutable: one for every item without custom fields
    else:
        frozen = freeze_fields(_mapping(fields))
    if has_pipelines(entity_type):
        if pipeline_id is None or stage_id is None:
            raise Doubt
        # Known pipelines and their stages were checked when the pipelines were read.
        pipeline_type, stages = known.stages[pipeline_id]  # a KeyError is a doubt
        if pipeline_type != entity_type or stage_id not in stages:
            raise Doubt
    elif pipeline_id is not None or stage_id is not None:
        raise Doubt
    item = trusted_item(
        item_id,
        entity_type,
        pipeline_id,
        stage_id,
        known.users[responsible_id],
        _instant(created_at),
        _text(title),
        _amount(amount),
        _text(currency),
        _text(client),
        frozen,
    )
    known.items[item_id] = item_id
    return item


def _mapping(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise Doubt
    return value
