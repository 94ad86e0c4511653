"""Switching smart activities off (S3): for a whole section, or per user for a while."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import attrs

from . import _validate as v
from ._calendar import day_start, week_start_of
from ._errors import DataFormatError, ValidationError
from ._json import REQUIRED, Reader, build, format_datetime
from ._users import User

__all__ = [
    "SMART_ACTIVITY_ENTITY_TYPES",
    "OptOutPeriod",
    "SmartActivityOptOut",
    "SmartActivitySettings",
    "check_smart_entity_type",
    "opt_out_until",
]

#: The entity types smart activities apply to (S1).
SMART_ACTIVITY_ENTITY_TYPES = ("deal", "lead")


def check_smart_entity_type(field: str, value: object) -> str:
    """Return `value` if it is an entity type smart activities apply to (S1)."""
    if value not in SMART_ACTIVITY_ENTITY_TYPES:
        raise ValidationError(
            field, f"smart activities apply to deals and leads only (S1), got {value!r}"
        )
    return str(value)


def _entity_types(values: Iterable[str]) -> tuple[str, ...]:
    types = v.check_collection("switched_off", values, "entity types")
    for index, one in enumerate(types):
        check_smart_entity_type(f"switched_off[{index}]", one)
    return tuple(sorted(set(types)))


def _business_days(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366:
        raise ValidationError(attribute.name, f"expected a whole number 1 to 366, got {value!r}")


def _optional_text(_instance: object, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            attribute.name, "expected a non-blank text, or None for the translated default"
        )


@attrs.frozen(kw_only=True)
class SmartActivitySettings:
    """Section-wide smart-activity settings (S2, S3); on for deals and leads by default.

    `switched_off` lists the entity types ("deal", "lead") whose section has
    smart activities turned off. `text` None means the translated "Contact the
    client" for the locale asked; a text set here is used as is, in any locale.
    """

    switched_off: tuple[str, ...] = attrs.field(default=(), converter=_entity_types)
    business_days: int = attrs.field(default=3, validator=_business_days)
    text: str | None = attrs.field(default=None, validator=_optional_text)

    def is_enabled_for(self, entity_type: str) -> bool:
        """True when the section of `entity_type` suggests smart activities (S1, S3)."""
        return entity_type in SMART_ACTIVITY_ENTITY_TYPES and entity_type not in self.switched_off


class OptOutPeriod(enum.StrEnum):
    """How long a user's "don't suggest again" lasts (S3)."""

    TODAY = "today"
    THIS_WEEK = "this_week"
    THIS_MONTH = "this_month"
    FOR_GOOD = "for_good"


def _check_user(value: object) -> User:
    if not isinstance(value, User):
        raise ValidationError(
            "user",
            f"expected the User who chooses (e.g. storage.user(user_id)), got {value!r}",
        )
    return value


def _period(value: OptOutPeriod | str) -> OptOutPeriod:
    try:
        return OptOutPeriod(value)
    except ValueError:
        choices = ", ".join(p.value for p in OptOutPeriod)
        raise ValidationError("period", f"expected one of {choices}, got {value!r}") from None


def opt_out_until(
    period: OptOutPeriod | str, now: datetime, user: User, week_start: int = 0
) -> datetime | None:
    """When an opt-out chosen at `now` ends: the start of the next day, week or month.

    Computed in the user's zone (G4), so "today" ends at the user's midnight; None
    for good. The instant is the first one of that local day, DST gaps included.
    `week_start` (0 = Monday) should be the portal's `Settings.week_start`.
    """
    now = v.instant("now", now)
    _check_user(user)
    if isinstance(week_start, bool) or not isinstance(week_start, int) or not 0 <= week_start <= 6:
        raise ValidationError("week_start", f"expected 0 (Monday) to 6, got {week_start!r}")
    period = _period(period)
    if period is OptOutPeriod.FOR_GOOD:
        return None
    zone = user.zone
    today = now.astimezone(zone).date()
    if period is OptOutPeriod.TODAY:
        end = today + timedelta(days=1)
    elif period is OptOutPeriod.THIS_WEEK:
        end = week_start_of(today, week_start) + timedelta(days=7)
    else:
        end = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return day_start(end, zone)


def _check_until(instance: SmartActivityOptOut, _attribute: Any, value: datetime | None) -> None:
    v.optional_aware(instance, _attribute, value)
    if (value is None) != (instance.period is OptOutPeriod.FOR_GOOD):
        raise ValidationError(
            "until", "set exactly when the period is not for_good (for good never ends)"
        )
    if value is not None and value <= instance.chosen_at:
        raise ValidationError(
            "until",
            f"{value.isoformat()} must be after chosen_at {instance.chosen_at.isoformat()}",
        )


@attrs.frozen(kw_only=True)
class SmartActivityOptOut:
    """One user's "don't suggest smart activities" for one entity type (S3).

    The host stores these values (`to_dict`/`from_dict` give JSON-ready data)
    and passes them to the suggester. Make one with `SmartActivityOptOut.choose`,
    which computes `until` in the user's zone; `until` is exclusive, None for good.
    """

    user_id: str = attrs.field(validator=v.an_id)
    entity_type: str = attrs.field()
    period: OptOutPeriod = attrs.field(converter=_period)
    chosen_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    until: datetime | None = attrs.field(converter=v.optional_utc, validator=_check_until)

    @entity_type.validator
    def _check_entity_type(self, attribute: attrs.Attribute[str], value: str) -> None:
        check_smart_entity_type(attribute.name, value)

    @classmethod
    def choose(
        cls,
        *,
        user: User,
        entity_type: str,
        period: OptOutPeriod | str,
        now: datetime,
        week_start: int = 0,
    ) -> SmartActivityOptOut:
        """The opt-out `user` picks at `now` on an item form of `entity_type`.

        `week_start` (0 = Monday) says when "this week" ends: pass the portal's
        `Settings.week_start`, or call `smart_activity_opt_out(storage, ...)`,
        which reads it from the storage's settings.
        """
        _check_user(user)
        period = _period(period)
        return cls(
            user_id=user.id,
            entity_type=entity_type,
            period=period,
            chosen_at=now,
            until=opt_out_until(period, now, user, week_start),
        )

    def is_active(self, now: datetime) -> bool:
        """True while the opt-out holds: from `chosen_at` up to, not including, `until`."""
        now = v.instant("now", now)
        return self.chosen_at <= now and (self.until is None or now < self.until)

    def applies_to(self, user_id: str, entity_type: str, now: datetime) -> bool:
        """True when it silences suggestions for this user and entity type at `now`."""
        return self.user_id == user_id and self.entity_type == entity_type and self.is_active(now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data for the host to store."""
        return {
            "user_id": self.user_id,
            "entity_type": self.entity_type,
            "period": self.period.value,
            "chosen_at": format_datetime(self.chosen_at),
            "until": None if self.until is None else format_datetime(self.until),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "$") -> SmartActivityOptOut:
        """Read `to_dict` data back; a fault raises `DataFormatError` naming its path."""
        if not isinstance(data, Mapping):
            raise DataFormatError(path, f"expected an object, got {type(data).__name__}")
        r = Reader(dict(data), path)
        r.reject_unknown({"user_id", "entity_type", "period", "chosen_at", "until"})
        return build(
            path,
            cls,
            user_id=r.text("user_id", REQUIRED),
            entity_type=r.text("entity_type", REQUIRED),
            period=r.text("period", REQUIRED),
            chosen_at=r.instant("chosen_at", REQUIRED),
            until=r.instant("until"),
        )
