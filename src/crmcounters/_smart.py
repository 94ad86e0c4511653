"""Smart activities (S1-S4): the follow-up the CRM suggests when a form closes."""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

import attrs

from . import _validate as v
from ._activities import Activity, ActivityKind
from ._calendar import BusinessCalendar
from ._cap import is_at_cap, open_activity_count
from ._errors import ValidationError
from ._settings import CalendarSettings
from ._smart_settings import SMART_ACTIVITY_ENTITY_TYPES, OptOutPeriod, SmartActivityOptOut
from ._smart_text import smart_activity_text
from ._storage import Storage, stage_of
from ._users import as_zone

__all__ = [
    "NoSuggestion",
    "NoSuggestionReason",
    "SmartActivityDraft",
    "SmartSuggestion",
    "smart_activity_deadline",
    "smart_activity_opt_out",
    "suggest_smart_activity",
]


def _non_blank(_instance: object, attribute: attrs.Attribute[str], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, "expected a non-blank text")


def _file_ids(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("file_ids", values, "file ids")


@attrs.frozen(kw_only=True)
class SmartActivityDraft:
    """A suggested smart activity (S2): the form the user sees, pre-filled and editable.

    The host shows it and lets the user change it with `attrs.evolve`
    (text, deadline, responsible, files); every change is validated again.
    `author_id` is the user who closed the form; `file_ids` are the host's own
    attachment ids, none when suggested. `to_activity` turns it into an `Activity`.
    """

    item_id: str = attrs.field(validator=v.an_id)
    text: str = attrs.field(validator=_non_blank)
    deadline: datetime = attrs.field(converter=v.utc, validator=v.aware)
    responsible_id: str = attrs.field(validator=v.an_id)
    author_id: str = attrs.field(validator=v.an_id)
    suggested_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    file_ids: tuple[str, ...] = attrs.field(default=(), converter=_file_ids, validator=v.ids)

    def to_activity(self, activity_id: str, *, created_at: datetime | None = None) -> Activity:
        """The to-do activity to store once the user saves the draft (files stay with the host).

        `created_at` defaults to the moment of the suggestion.
        """
        return Activity(
            id=activity_id,
            item_ids=(self.item_id,),
            kind=ActivityKind.TODO,
            responsible_id=self.responsible_id,
            author_id=self.author_id,
            subject=self.text,
            created_at=self.suggested_at if created_at is None else created_at,
            deadline=self.deadline,
        )


class NoSuggestionReason(enum.StrEnum):
    """Why no smart activity was suggested (S1, S3, S4), in the order they are checked."""

    NOT_DEAL_OR_LEAD = "not_deal_or_lead"
    SWITCHED_OFF_FOR_SECTION = "switched_off_for_section"
    SWITCHED_OFF_BY_USER = "switched_off_by_user"
    FINAL_STAGE = "final_stage"
    OPEN_ACTIVITY_EXISTS = "open_activity_exists"
    AT_CAP = "at_cap"


def _reason(value: NoSuggestionReason | str) -> NoSuggestionReason:
    return v.check_choice("reason", NoSuggestionReason, value)


def _activity_ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.check_iterable("open_activity_ids", values, "activity ids"))


@attrs.frozen(kw_only=True)
class NoSuggestion:
    """The answer when nothing is suggested: the reason, and the facts behind it.

    `until` is when the user's opt-out ends (None for good) for
    SWITCHED_OFF_BY_USER; `open_activity_ids` the item's open activities for
    OPEN_ACTIVITY_EXISTS; `open_activity_count` and `cap` the user's figures for
    AT_CAP. `detail` says it in an English sentence for logs and tooltips.
    """

    item_id: str = attrs.field(validator=v.an_id)
    user_id: str = attrs.field(validator=v.an_id)
    reason: NoSuggestionReason = attrs.field(converter=_reason)
    detail: str = attrs.field(validator=v.text)
    until: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    open_activity_ids: tuple[str, ...] = attrs.field(default=(), converter=_activity_ids)
    open_activity_count: int | None = None
    cap: int | None = None


#: What the suggester answers: a draft, or the reason there is none (never None).
SmartSuggestion = SmartActivityDraft | NoSuggestion


def smart_activity_deadline(
    now: datetime, time_zone: str | tzinfo, calendar: BusinessCalendar, business_days: int = 3
) -> datetime:
    """The deadline of a smart activity suggested at `now` (S2).

    `business_days` working days of `calendar` after `now`'s date in `time_zone`,
    counting from the next day, at the same local time of day (DST-safe; a time
    in a gap moves forward by the gap). The result is in `time_zone`.
    """
    now = v.instant("now", now)
    zone = as_zone("time_zone", time_zone)
    _check_calendar(calendar)
    if isinstance(business_days, bool) or not isinstance(business_days, int) or business_days < 1:
        raise ValidationError(
            "business_days", f"expected a whole number >= 1, got {business_days!r}"
        )
    return calendar.add_business_days(now, business_days, zone)


def _check_calendar(calendar: object) -> None:
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError(
            "calendar",
            "expected a BusinessCalendar, such as BusinessCalendar.for_country('PL') "
            f"or Settings.calendar.build(), got {calendar!r}",
        )


@functools.lru_cache(maxsize=32)
def _calendar_for(settings: CalendarSettings) -> BusinessCalendar:
    """The calendar of these settings, built once (building takes up to ~100 ms)."""
    return settings.build()


def suggest_smart_activity(
    storage: Storage,
    item_id: str,
    user_id: str,
    now: datetime,
    *,
    calendar: BusinessCalendar | None = None,
    locale: str = "en",
    opt_outs: Iterable[SmartActivityOptOut] = (),
) -> SmartSuggestion:
    """What to suggest when `user_id` closes (or saves) the form of `item_id` at `now` (S1-S4).

    A `SmartActivityDraft` when the item is a deal or lead in an in-progress
    stage with no open activity, smart activities are on for its section and
    not switched off by this user (`opt_outs`, the values the host stored), and
    the user is below the open-activity cap; otherwise a `NoSuggestion` saying
    why. `calendar` defaults to the portal's (`Settings.calendar`), built once
    and cached; pass a prebuilt one to choose. `opt_outs` is any collection
    (one opt-out goes in a list). Unknown ids raise `UnknownIdError`.
    """
    now = v.instant("now", now)
    if calendar is not None:
        _check_calendar(calendar)
    checked_opt_outs = v.check_instances("opt_outs", opt_outs, SmartActivityOptOut)
    settings = storage.settings
    smart = settings.smart_activities
    item = storage.item(item_id)
    user = storage.user(user_id)
    translated = smart_activity_text(locale)  # checks the locale even when a text is set
    text = smart.text if smart.text is not None else translated

    def refuse(reason: NoSuggestionReason, detail: str, **facts: Any) -> NoSuggestion:
        return NoSuggestion(item_id=item.id, user_id=user.id, reason=reason, detail=detail, **facts)

    if item.entity_type not in SMART_ACTIVITY_ENTITY_TYPES:
        return refuse(
            NoSuggestionReason.NOT_DEAL_OR_LEAD,
            f"smart activities apply to deals and leads, not to {item.entity_type} (S1)",
        )
    if not smart.is_enabled_for(item.entity_type):
        return refuse(
            NoSuggestionReason.SWITCHED_OFF_FOR_SECTION,
            f"smart activities are switched off for the {item.entity_type} section (S3)",
        )
    opt_out = _strongest(checked_opt_outs, user.id, item.entity_type, now)
    if opt_out is not None:
        ends = (
            "for good"
            if opt_out.until is None
            else f"until {opt_out.until.astimezone(user.zone).isoformat()}"
        )
        return refuse(
            NoSuggestionReason.SWITCHED_OFF_BY_USER,
            f"user {user.id!r} switched smart activities off for {item.entity_type}s {ends} (S3)",
            until=opt_out.until,
        )
    stage = stage_of(storage, item)
    if stage is not None and stage.is_final:
        return refuse(
            NoSuggestionReason.FINAL_STAGE,
            f"the item is in the final stage {stage.id!r} ({stage.semantics.value}) (S1)",
        )
    open_ids = tuple(a.id for a in storage.open_activities_of_item(item.id))
    if open_ids:
        return refuse(
            NoSuggestionReason.OPEN_ACTIVITY_EXISTS,
            f"the item already has {len(open_ids)} open activit"
            f"{'y' if len(open_ids) == 1 else 'ies'} (S1)",
            open_activity_ids=open_ids,
        )
    if is_at_cap(storage, user.id):
        count = open_activity_count(storage, user.id)
        return refuse(
            NoSuggestionReason.AT_CAP,
            f"user {user.id!r} has {count} open activities, at or above the cap of "
            f"{settings.open_activity_cap}; complete or delete some first (S4, C8)",
            open_activity_count=count,
            cap=settings.open_activity_cap,
        )
    chosen = calendar if calendar is not None else _calendar_for(settings.calendar)
    return SmartActivityDraft(
        item_id=item.id,
        text=text,
        deadline=smart_activity_deadline(now, user.zone, chosen, smart.business_days),
        responsible_id=user.id,
        author_id=user.id,
        suggested_at=now,
    )


def smart_activity_opt_out(
    storage: Storage, item_id: str, user_id: str, period: OptOutPeriod | str, now: datetime
) -> SmartActivityOptOut:
    """The "don't suggest again" `user_id` picks at `now` on the form of `item_id` (S3).

    It silences the item's entity type (deal or lead) for that user; its end
    is computed in the user's zone, and "this week" ends on the portal's
    `Settings.week_start`. The host stores the value and passes it back to
    `suggest_smart_activity` in `opt_outs`. Unknown ids raise `UnknownIdError`.
    """
    item = storage.item(item_id)
    return SmartActivityOptOut.choose(
        user=storage.user(user_id),
        entity_type=item.entity_type,
        period=period,
        now=now,
        week_start=storage.settings.week_start,
    )


def _strongest(
    opt_outs: Iterable[SmartActivityOptOut], user_id: str, entity_type: str, now: datetime
) -> SmartActivityOptOut | None:
    """The opt-out in force that lasts longest (for good beats any date), or None."""
    best: SmartActivityOptOut | None = None
    for one in opt_outs:
        if not one.applies_to(user_id, entity_type, now):
            continue
        if best is None or _outlasts(one, best):
            best = one
    return best


def _outlasts(one: SmartActivityOptOut, other: SmartActivityOptOut) -> bool:
    if other.until is None:
        return False
    return one.until is None or one.until > other.until
