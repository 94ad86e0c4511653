"""The limits on what the library accepts, in one place (docs/reliability.md).

Every input the library reads (a portal or rule-set file, a JSON document, a
constructor's arguments) is bounded, so hostile or broken input is refused
with a clear error instead of a hang, a crash or a blow-up in memory or time.
Each number is far above what a real portal needs; docs/reliability.md lists
them and says why each is there.
"""

from __future__ import annotations

from collections.abc import Sized

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_AMOUNT_DIGITS",
    "MAX_CALENDAR_DAYS",
    "MAX_FIELDS",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_LIST_LENGTH",
    "MAX_NUMBER_LENGTH",
    "MAX_REMINDER_OFFSETS",
    "MAX_RENDERED_LENGTH",
    "MAX_TEMPLATE_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_ZONE_NAME_LENGTH",
    "shown",
]

#: The largest portal or rule-set file read by default (256 MiB); `read_portal(...,
#: max_bytes=...)`, `read_rule_set(..., max_bytes=...)` and `--max-file-size` raise it.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
#: Arrays and objects nested deeper than this are refused before they are parsed
#: (the portal format needs 5 levels, a rule set about 10 plus its condition groups).
MAX_JSON_DEPTH = 64
#: The longest number literal in a JSON document, in characters (Python itself
#: refuses integers of more than 4,300 digits, with an error naming no path).
MAX_NUMBER_LENGTH = 100
#: The longest id (users, items, activities, stages, rules, custom field names...).
MAX_ID_LENGTH = 255
#: The longest IANA time-zone name (the longest real one has 32 characters).
MAX_ZONE_NAME_LENGTH = 64
#: The longest text: a name, a title, a subject, a comment, a description.
MAX_TEXT_LENGTH = 100_000
#: The longest template a rule action may hold (R3).
MAX_TEMPLATE_LENGTH = 10_000
#: A rendered template is cut to this many characters (its last one then "…"), so a
#: text of many placeholders over long titles stays bounded (R3).
MAX_RENDERED_LENGTH = MAX_TEXT_LENGTH
#: Digits of an amount of money, before and after the decimal point together.
MAX_AMOUNT_DIGITS = 40
#: Reminder offsets of one activity, and the portal's focus reminder offsets (C4, F2).
MAX_REMINDER_OFFSETS = 100
#: Company days off, and extra working days, in a calendar (S2).
MAX_CALENDAR_DAYS = 10_000
#: Custom fields of one item.
MAX_FIELDS = 1_000
#: Any other list inside one record: an activity's items, a task's observers, a
#: pipeline's stages, a rule's conditions, a notification's recipients...
MAX_LIST_LENGTH = 1_000

#: How much of a refused value an error message repeats.
_SHOWN = 60


def shown(value: object) -> str:
    """`repr(value)`, cut to a few dozen characters: an error message stays one short line
    even when the value refused is a megabyte of text."""
    if isinstance(value, str | bytes) and len(value) > _SHOWN:
        return f"{value[:_SHOWN]!r}... ({len(value):,} characters)"
    if isinstance(value, Sized) and not isinstance(value, str | bytes) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value):,} elements"
    text = repr(value)
    if len(text) > _SHOWN:
        return f"{text[:_SHOWN]}... ({type(value).__name__})"
    return text
