"""The instant a command or a page answers for: typed by a person, or chosen by one rule.

Shared by the command line and the explorer (edges): the core never reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ._clock import Clock
from ._errors import ValidationError
from ._limits import shown
from ._validate import is_aware

__all__ = [
    "EARLIEST",
    "FROM_AS_OF",
    "FROM_AT",
    "FROM_CLOCK",
    "LATEST",
    "RANGE_TEXT",
    "default_instant",
    "parse_instant",
]

#: The instants a person may type: a year of room on each side of what `datetime` holds,
#: so that days, weeks and deadlines around the instant can be computed in any zone.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 1, 1, tzinfo=UTC)
#: How the accepted range reads in an error (LATEST itself is excluded).
RANGE_TEXT = f"{EARLIEST.date().isoformat()} and {(LATEST - timedelta(days=1)).date().isoformat()}"


def parse_instant(text: str, option: str = "--at") -> datetime:
    """An aware ISO 8601 instant; naive, malformed or out-of-range text is a
    `ValidationError` naming the option."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(option, f"not an ISO 8601 datetime: {shown(text)}") from None
    if not is_aware(value):
        raise ValidationError(
            option, f"naive datetime {text!r}; add a UTC offset, e.g. {text}+01:00 or {text}Z"
        )
    try:
        in_range = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:  # 9999-12-31T23:59-05:00 is past datetime.max in UTC
        in_range = False
    if not in_range:
        raise ValidationError(
            option, f"{text!r} is out of range; use an instant between {RANGE_TEXT} (UTC)"
        )
    return value


#: Where `default_instant`'s answer came from, as the human output says it.
FROM_AT = "--at"
FROM_AS_OF = "the portal's as_of"
FROM_CLOCK = "the clock"


def default_instant(
    at: datetime | None, as_of: datetime | None, clock: Clock
) -> tuple[datetime, str]:
    """The instant to answer for, and where it came from: `at` (a person typed it), else
    the portal's `as_of` (the instant its data was written for), else the clock.

    One rule for every command and the explorer, so that `crmcounters kanban` on the
    sample portal shows the day the docs show, as `crmcounters demo` always did.
    """
    if at is not None:
        return at, FROM_AT
    if as_of is not None:
        return as_of, FROM_AS_OF
    return clock.now(), FROM_CLOCK
