"""Users and departments (SPEC section 1): who is responsible, and who supervises whom."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._limits import MAX_ZONE_NAME_LENGTH, shown

__all__ = ["Department", "User", "as_zone", "zone_of"]


def zone_of(time_zone: str, field: str = "time_zone") -> ZoneInfo:
    """The `ZoneInfo` for an IANA name, or a `ValidationError` naming `field`."""
    if not isinstance(time_zone, str) or not time_zone:
        raise ValidationError(field, f"expected an IANA zone name, got {shown(time_zone)}")
    if len(time_zone) > MAX_ZONE_NAME_LENGTH:
        raise ValidationError(
            field,
            f"a zone name of {len(time_zone):,} characters; IANA names are at most "
            f"{MAX_ZONE_NAME_LENGTH} (e.g. 'Europe/Warsaw')",
        )
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name the file system refuses; its message would show where tzdata lives
        raise ValidationError(
            field, f"unknown IANA time zone {shown(time_zone)} (e.g. 'Europe/Warsaw')"
        ) from None


def as_zone(field: str, value: object) -> tzinfo:
    """A zone given as a `tzinfo` or an IANA name; anything else is refused naming `field`."""
    if isinstance(value, tzinfo):
        return value
    if isinstance(value, str):
        return zone_of(value, field)
    raise ValidationError(
        field,
        f"expected a tzinfo such as ZoneInfo('Europe/Warsaw') or an IANA zone name, got {value!r}",
    )


def _check_zone(_instance: Any, _attribute: Any, value: Any) -> None:
    zone_of(value)


@attrs.frozen(kw_only=True)
class User:
    """An employee: the responsible of items, whose time zone decides "today" (G4).

    `active` False marks a deactivated account (one who left): rules neither
    notify such a user nor hand items to them by round-robin (R8, R9).
    """

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text)
    time_zone: str = attrs.field(validator=_check_zone)
    department_id: str | None = attrs.field(default=None, validator=v.optional_id)
    active: bool = attrs.field(default=True, validator=v.flag)

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone as a `ZoneInfo` (cached by `zoneinfo` itself)."""
        return ZoneInfo(self.time_zone)


@attrs.frozen(kw_only=True)
class Department:
    """A node of the department tree; its head supervises its members."""

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text)
    head_id: str | None = attrs.field(default=None, validator=v.optional_id)
    parent_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def __attrs_post_init__(self) -> None:
        if self.parent_id == self.id:
            raise ValidationError("parent_id", f"department {self.id!r} cannot be its own parent")
