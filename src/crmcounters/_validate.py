"""Validators and converters shared by the models (G2, G5)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sized
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from ._errors import NaiveDatetimeError, ValidationError
from ._limits import (
    MAX_ID_LENGTH,
    MAX_LIST_LENGTH,
    MAX_REMINDER_OFFSETS,
    MAX_TEXT_LENGTH,
    shown,
)

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_aware(value: datetime) -> bool:
    """True when `value` carries a usable UTC offset."""
    return value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None


def check_aware(field: str, value: object) -> datetime:
    """Return `value` if it is an aware datetime; raise naming `field` otherwise."""
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime, got {type(value).__name__}")
    if not is_aware(value):
        raise NaiveDatetimeError(field)
    return value


def instant(field: str, value: object) -> datetime:
    """`value` as the same instant in UTC, if it is an aware datetime; raise naming `field`.

    Every instant the library is given goes through here (or through `utc`):
    Python compares two datetimes that share a zone by their wall clock and
    ignores `fold`, so in the hour repeated when clocks go back only UTC
    values compare as instants (G4).
    """
    checked = check_aware(field, value)
    try:
        return checked.astimezone(UTC)
    except OverflowError:  # its UTC instant lies outside what datetime holds
        raise ValidationError(
            field, f"{checked.isoformat()} is outside the range of datetime once in UTC"
        ) from None


def utc(value: datetime) -> datetime:
    """attrs converter: an aware datetime as the same instant in UTC (see `instant`).

    Anything else is passed on unchanged for the field's validator to refuse
    with the field's name (a converter does not know it).
    """
    if isinstance(value, datetime) and is_aware(value):
        try:
            return value.astimezone(UTC)
        except OverflowError:
            return value  # the validator's range check names the field
    return value


def optional_utc(value: datetime | None) -> datetime | None:
    """attrs converter: None, or an aware datetime in UTC (see `utc`)."""
    return None if value is None else utc(value)


def check_id(field: str, value: object) -> str:
    """Return `value` if it is a non-empty, non-blank string id of at most `MAX_ID_LENGTH`."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string id, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, "must be a non-empty id")
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(
            field, f"an id of {len(value):,} characters; ids are at most {MAX_ID_LENGTH}"
        )
    check_unicode(field, value)
    return value


def check_text(field: str, value: object, limit: int = MAX_TEXT_LENGTH) -> str:
    """Return `value` if it is a string of at most `limit` characters of Unicode text."""
    if not isinstance(value, str):
        raise ValidationError(field, f"expected text, got {type(value).__name__}")
    if len(value) > limit:
        raise ValidationError(
            field, f"a text of {len(value):,} characters; at most {limit:,} are allowed"
        )
    check_unicode(field, value)
    return value


def check_unicode(field: str, value: str) -> None:
    """Refuse lone surrogates: they are not Unicode text and no output could write them."""
    if not value.isascii() and _SURROGATE.search(value):
        raise ValidationError(field, "a lone surrogate (\\ud800-\\udfff) is not Unicode text")


def check_choice(field: str, kind: type[E], value: object) -> E:
    """A member of the enum `kind`, from itself or its value; anything else is refused
    naming `field` and listing the values allowed (the enum's own error names neither)."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(member.value) for member in kind)
        raise ValidationError(field, f"expected one of {allowed}, got {shown(value)}") from None


def check_collection(
    field: str, values: object, what: str, limit: int = MAX_LIST_LENGTH
) -> tuple[Any, ...]:
    """`values` as a tuple, if it is a collection (not a string, bytes or mapping) of at
    most `limit` elements; refused naming `field` otherwise. Reads no more than
    `limit` + 1 elements, so an endless iterator is refused too."""
    found = check_iterable(field, values, what)
    result = tuple(islice(found, limit + 1))
    if len(result) > limit:
        count = f"{len(found):,}" if isinstance(found, Sized) else f"more than {limit:,}"
        raise ValidationError(field, f"{count} {what}; at most {limit:,} are allowed")
    return result


#: The largest reminder or urgency offset: 366 days, in minutes (C4, F2).
MAX_OFFSET_MINUTES = 366 * 24 * 60
#: A deadline lights up to the largest offset before it (C4, F2) and is placed by
#: local days around it (V1): its UTC instant must leave room for both in the range.
_FIRST_DEADLINE = datetime.min.replace(tzinfo=UTC) + timedelta(minutes=MAX_OFFSET_MINUTES)
_LAST_DEADLINE = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def check_offsets(field: str, values: Iterable[int]) -> tuple[int, ...]:
    """Reminder offsets: whole minutes 0 to 366 days, sorted, largest first, without repeats.

    At most `MAX_REMINDER_OFFSETS` are accepted: every one is an instant the
    focus order and the counters step through, for every activity (F2).
    """
    result = []
    for value in check_collection(field, values, "offsets", MAX_REMINDER_OFFSETS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(field, f"offsets are whole minutes, got {value!r}")
        if value < 0:
            raise ValidationError(field, f"offsets are minutes >= 0, got {value}")
        if value > MAX_OFFSET_MINUTES:
            raise ValidationError(
                field,
                f"offsets are at most {MAX_OFFSET_MINUTES} minutes (366 days), got {value}",
            )
        result.append(value)
    return tuple(sorted(set(result), reverse=True))


def check_iterable(field: str, values: object, what: str) -> Iterable[Any]:
    """Return `values` if it is a collection of `what`; refuse one bare value naming `field`.

    A string or a mapping is iterable but is never the collection meant (its
    characters or keys would be taken one by one), so it is refused too.
    """
    if isinstance(values, str | bytes | Mapping):
        raise ValidationError(
            field, f"expected a collection of {what}, got one {type(values).__name__}"
        )
    if not isinstance(values, Iterable):
        raise ValidationError(
            field,
            f"expected a collection of {what}, got one {type(values).__name__}; wrap it in a list",
        )
    return values


def check_instances(field: str, values: object, kind: type[T]) -> tuple[T, ...]:
    """`values` as a tuple of `kind`; anything else is refused, naming `field[index]`."""
    found = tuple(check_iterable(field, values, f"{kind.__name__} values"))
    for index, one in enumerate(found):
        if not isinstance(one, kind):
            raise ValidationError(f"{field}[{index}]", f"expected a {kind.__name__}, got {one!r}")
    return found


def check_in_range(field: str, value: datetime) -> datetime:
    """Return the aware `value` in UTC, if the instants derived from it stay in range (G5).

    The UTC instant must lie at least `MAX_OFFSET_MINUTES` after the start of
    the datetime range and a day before its end, so lit times, reminders and
    local days computed from it never overflow.
    """
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # its UTC instant itself is out of range
        utc = None
    if utc is None or not _FIRST_DEADLINE <= utc <= _LAST_DEADLINE:
        raise ValidationError(
            field,
            f"{value.isoformat()} is too near the edge of the datetime range for the "
            "reminders and days around it to be computed; choose an instant from "
            f"{_FIRST_DEADLINE.isoformat()} to {_LAST_DEADLINE.isoformat()}",
        )
    return utc


def with_deadline(offsets: tuple[int, ...]) -> tuple[int, ...]:
    """Checked focus offsets, largest first, with 0 added: the deadline always reminds (F2)."""
    if offsets and offsets[-1] == 0:  # already sorted, largest first, with the deadline
        return offsets
    return tuple(sorted({*offsets, 0}, reverse=True))


# attrs validators have the signature (instance, attribute, value).


def aware(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: an aware datetime, in the range the library computes with (G5)."""
    check_in_range(attribute.name, check_aware(attribute.name, value))


def optional_aware(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: None or an aware datetime, in the range the library computes with."""
    if value is not None:
        check_in_range(attribute.name, check_aware(attribute.name, value))


def an_id(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a non-empty string id."""
    check_id(attribute.name, value)


def optional_id(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: None or a non-empty string id."""
    if value is not None:
        check_id(attribute.name, value)


def ids(_instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    """attrs validator: a tuple of non-empty string ids without repeats."""
    for index, one in enumerate(value):
        check_id(f"{attribute.name}[{index}]", one)
    if len(set(value)) != len(value):
        raise ValidationError(attribute.name, f"repeated ids in {list(value)!r}")


def text(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a string (may be empty) of at most `MAX_TEXT_LENGTH` characters."""
    check_text(attribute.name, value)


def flag(_instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: True or False, not a truthy stand-in."""
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, f"expected true or false, got {value!r}")
