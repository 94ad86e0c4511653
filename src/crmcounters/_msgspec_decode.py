"""Decoding a portal document with msgspec (the `fast` extra), for `_loading`.

Items and activities are decoded into compact typed records (no dict per
object, no GC tracking), which keeps a 1,000,000-activity document well
inside the memory `json.loads` needs; the small sections stay JSON values for
the validated readers. msgspec refuses what the format refuses (wrong types,
unknown keys of items and activities, NaN, numbers out of range, nesting too
deep) with its own error: the validated path then reads the document and
names the fault.

msgspec keeps the last of repeated keys silently, where the format refuses
them. So every key msgspec saw is counted, and compared with the number of
`":` in the text. In JSON a `"` followed by a colon ends a key, or opens a
string that begins with a colon, or is an escaped quote inside a string;
so with no space before any colon the text's count is at least the number
of keys, and equal to msgspec's count only when no key is repeated. Any
other case (a string beginning with a colon or holding `\\":`) makes the
text's count larger, and the validated path reads the document.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from ._limits import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH
from ._loading import Decoded, Doubt

__all__ = ["decode_with_msgspec"]

_Str = str | UnsetType | None


class _Item(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An item object, keys in `ITEM_FIELDS` order (a test checks the order)."""

    id: _Str = UNSET
    entity_type: _Str = UNSET
    pipeline_id: _Str = UNSET
    stage_id: _Str = UNSET
    responsible_id: _Str = UNSET
    created_at: _Str = UNSET
    title: _Str = UNSET
    amount: _Str = UNSET
    currency: _Str = UNSET
    client: _Str = UNSET
    fields: dict[str, str | int | float | bool | None] | UnsetType | None = UNSET


class _Activity(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An activity object, keys in `ACTIVITY_FIELDS` order (a test checks the order)."""

    id: _Str = UNSET
    item_ids: list[str] | UnsetType | None = UNSET
    kind: _Str = UNSET
    direction: _Str = UNSET
    responsible_id: _Str = UNSET
    author_id: _Str = UNSET
    subject: _Str = UNSET
    created_at: _Str = UNSET
    deadline: _Str = UNSET
    completed_at: _Str = UNSET
    reminder_offsets: list[int] | UnsetType | None = UNSET
    incoming: bool | UnsetType | None = UNSET
    rule_id: _Str = UNSET
    reminded_at: _Str = UNSET
    type_id: _Str = UNSET
    recurrence: _Str = UNSET
    recurrence_start: _Str = UNSET


class _Document(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A portal document: items and activities typed, every other section as JSON."""

    format: Any = UNSET
    version: Any = UNSET
    description: Any = UNSET
    as_of: Any = UNSET
    access: Any = UNSET
    settings: Any = UNSET
    users: Any = UNSET
    departments: Any = UNSET
    pipelines: Any = UNSET
    items: list[_Item] | UnsetType | None = UNSET
    activities: list[_Activity] | UnsetType | None = UNSET
    tasks: Any = UNSET
    events: Any = UNSET


_DECODER = msgspec.json.Decoder(_Document)
_SMALL = tuple(
    field.name
    for field in msgspec.structs.fields(_Document)
    if field.name not in ("items", "activities")
)
_SPACE_BEFORE_COLON = re.compile(rb'"[ \t\r\n]+:')


def decode_with_msgspec(source: str | bytes) -> Decoded:
    """Decode a document into typed items and activities plus the other sections as JSON."""
    data = source.encode() if isinstance(source, str) else source
    if _SPACE_BEFORE_COLON.search(data) is not None:
        raise Doubt  # a key written `"key" :` is not counted below
    decoded = _DECODER.decode(data)
    document = {}
    for name in _SMALL:
        value = getattr(decoded, name)
        if value is not UNSET:
            document[name] = value
    keys = _count_keys(document)  # the top-level keys and those inside the small sections
    keys += (decoded.items is not UNSET) + (decoded.activities is not UNSET)
    items = decoded.items if isinstance(decoded.items, list) else []
    activities = decoded.activities if isinstance(decoded.activities, list) else []
    return _Typed(document, items, activities, data.count(b'":'), keys)


def _count_keys(value: Any, depth: int = 1) -> int:
    """The keys of every object in a JSON value of the small sections.

    What the standard library's parser refuses before the readers see it
    (docs/reliability.md) is a doubt here too: nesting deeper than
    `MAX_JSON_DEPTH`, and numbers msgspec reads where that parser would
    refuse the literal (a float, whose literal length is lost; an integer of
    more than `MAX_NUMBER_LENGTH` characters). No small section holds a float.
    """
    if depth > MAX_JSON_DEPTH:
        raise Doubt
    if isinstance(value, dict):
        return len(value) + sum(_count_keys(one, depth + 1) for one in value.values())
    if isinstance(value, list):
        return sum(_count_keys(one, depth + 1) for one in value)
    if isinstance(value, float) or (isinstance(value, int) and _too_long(value)):
        raise Doubt
    return 0


def _too_long(number: int) -> bool:
    return number.bit_length() > 300 and len(str(number)) > MAX_NUMBER_LENGTH - 1


class _Typed(Decoded):
    """Items and activities as msgspec records; their keys are counted as they are read."""

    def __init__(
        self,
        document: dict[str, Any],
        items: list[Any],
        activities: list[Any],
        in_text: int,
        counted: int,
    ) -> None:
        super().__init__(document, items, activities)
        self._in_text = in_text
        self._counted = counted

    def item_values(self, item: Any) -> tuple[Any, ...]:
        """One item's values, None for an absent key; its keys counted."""
        values = msgspec.structs.astuple(item)
        absent = values.count(UNSET)
        fields = values[-1]
        if type(fields) is dict and fields:
            self._counted += len(fields)
            for one in fields.values():
                if type(one) is float:  # its literal may be one the standard parser refuses
                    raise Doubt
        self._counted += len(values) - absent
        return _unset_to_none(values, absent) if absent else values

    def activity_values(self, activity: Any) -> tuple[Any, ...]:
        """One activity's values, None for an absent key; its keys counted."""
        values = msgspec.structs.astuple(activity)
        absent = values.count(UNSET)
        self._counted += len(values) - absent
        return _unset_to_none(values, absent) if absent else values

    def finish(self) -> None:
        """Doubt unless every key in the text was seen once (no repeated key anywhere)."""
        if self._counted != self._in_text:
            raise Doubt


def _unset_to_none(values: tuple[Any, ...], absent: int) -> tuple[Any, ...]:
    """`values` with None for each of its `absent` UNSET.

    Absent keys are mostly the last ones (a document leaves out `reminded_at`,
    `type_id` and the recurrence of most activities): that case is one slice.
    """
    if absent < len(_NONES) and values[-absent:] == _UNSETS[absent]:
        return values[:-absent] + _NONES[absent]
    return tuple([None if one is UNSET else one for one in values])


_NONES = [(None,) * n for n in range(5)]
_UNSETS = [(UNSET,) * n for n in range(5)]
