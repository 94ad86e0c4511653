"""Switching smart activities off (S3): section settings, per-user opt-outs and their JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_smart import WARSAW, portal
from crmcounters import (
    CalendarSettings,
    DataFormatError,
    OptOutPeriod,
    Portal,
    Settings,
    SmartActivityOptOut,
    SmartActivitySettings,
    User,
    ValidationError,
    dump_portal,
    load_portal,
    opt_out_until,
)

ANNA = User(id="u1", name="Anna", time_zone="Europe/Warsaw")
NOW = datetime(2026, 12, 16, 15, 30, tzinfo=WARSAW)  # Wednesday


def _user(zone: str) -> User:
    return User(id="u1", name="Anna", time_zone=zone)


# -- expiry in the user's zone ---------------------------------------------------


@pytest.mark.parametrize(
    ("period", "until"),
    [
        (OptOutPeriod.TODAY, datetime(2026, 12, 17, 0, 0, tzinfo=WARSAW)),
        (OptOutPeriod.THIS_WEEK, datetime(2026, 12, 21, 0, 0, tzinfo=WARSAW)),  # next Monday
        (OptOutPeriod.THIS_MONTH, datetime(2027, 1, 1, 0, 0, tzinfo=WARSAW)),
        (OptOutPeriod.FOR_GOOD, None),
    ],
)
def test_s3_opt_out_ends_at_the_start_of_the_next_day_week_or_month(
    period: OptOutPeriod, until: datetime | None
) -> None:
    """Today, this week, this month (calendar month) end at the user's local midnight."""
    opt_out = SmartActivityOptOut.choose(user=ANNA, entity_type="deal", period=period, now=NOW)
    assert opt_out.until == until
    assert opt_out.chosen_at == NOW
    assert opt_out.is_active(NOW)
    if until is not None:
        assert opt_out.is_active(until - timedelta(microseconds=1))
        assert not opt_out.is_active(until)


@pytest.mark.parametrize("period", list(OptOutPeriod))
def test_s3_opt_out_holds_from_chosen_at_not_before(period: OptOutPeriod) -> None:
    """An opt-out is not in force before the moment it was chosen (S3, X2 replay)."""
    opt_out = SmartActivityOptOut.choose(user=ANNA, entity_type="deal", period=period, now=NOW)
    assert not opt_out.is_active(NOW - timedelta(microseconds=1))
    assert not opt_out.applies_to("u1", "deal", NOW - timedelta(days=1))
    assert opt_out.applies_to("u1", "deal", NOW)


def test_s3_this_week_follows_the_configured_week_start() -> None:
    """With weeks starting on Sunday, "this week" ends on Sunday 00:00."""
    until = opt_out_until(OptOutPeriod.THIS_WEEK, NOW, ANNA, week_start=6)
    assert until == datetime(2026, 12, 20, 0, 0, tzinfo=WARSAW)


def test_s3_this_week_chosen_on_the_first_day_lasts_the_whole_week() -> None:
    """Chosen on Monday, "this week" ends on the following Monday, not the same day."""
    monday = datetime(2026, 12, 14, 8, 0, tzinfo=WARSAW)
    assert opt_out_until("this_week", monday, ANNA) == datetime(2026, 12, 21, tzinfo=WARSAW)


def test_s3_this_month_in_february_of_a_leap_year() -> None:
    """The calendar month: chosen on 2028-02-29, it ends on 1 March."""
    assert opt_out_until("this_month", datetime(2028, 2, 29, 12, tzinfo=WARSAW), ANNA) == (
        datetime(2028, 3, 1, tzinfo=WARSAW)
    )


def test_g4_today_ends_at_the_users_midnight_not_utcs() -> None:
    """Kiritimati (UTC+14) and Honolulu (UTC-10) users share an instant, not a day."""
    instant = datetime(2026, 12, 16, 12, 0, tzinfo=UTC)
    kiritimati = opt_out_until("today", instant, _user("Pacific/Kiritimati"))
    honolulu = opt_out_until("today", instant, _user("Pacific/Honolulu"))
    assert kiritimati is not None
    assert honolulu is not None
    assert kiritimati.isoformat() == "2026-12-18T00:00:00+14:00"  # it is already the 17th there
    assert honolulu.isoformat() == "2026-12-17T00:00:00-10:00"  # still the 16th there
    assert kiritimati.astimezone(UTC) == datetime(2026, 12, 17, 10, 0, tzinfo=UTC)
    assert honolulu.astimezone(UTC) == datetime(2026, 12, 17, 10, 0, tzinfo=UTC)


def test_g4_this_month_in_kiritimati_uses_the_local_month() -> None:
    """At 2026-12-31 12:00 UTC it is already January 2027 in Kiritimati."""
    until = opt_out_until(
        "this_month", datetime(2026, 12, 31, 12, tzinfo=UTC), _user("Pacific/Kiritimati")
    )
    assert until is not None
    assert until.isoformat() == "2027-02-01T00:00:00+14:00"


def test_g4_today_on_a_23_hour_day() -> None:
    """Chosen on the spring-forward Sunday, "today" ends at 00:00+02:00 the next day."""
    sunday = datetime(2026, 3, 29, 1, 0, tzinfo=WARSAW)
    until = opt_out_until("today", sunday, ANNA)
    assert until is not None
    assert until.isoformat() == "2026-03-30T00:00:00+02:00"
    assert until.astimezone(UTC) - sunday.astimezone(UTC) == timedelta(hours=22)


def test_g4_a_day_that_starts_at_0100_because_midnight_does_not_exist() -> None:
    """In Santiago 2026-09-06 begins at 01:00 (00:00 is in the DST gap)."""
    santiago = _user("America/Santiago")
    until = opt_out_until("today", datetime(2026, 9, 5, 20, 0, tzinfo=santiago.zone), santiago)
    assert until is not None
    assert until.isoformat() == "2026-09-06T01:00:00-03:00"


@given(
    instant=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2070, 1, 1)),
    zone=st.sampled_from(
        ["Europe/Warsaw", "Pacific/Kiritimati", "Pacific/Honolulu", "America/Santiago"]
    ),
    period=st.sampled_from([OptOutPeriod.TODAY, OptOutPeriod.THIS_WEEK, OptOutPeriod.THIS_MONTH]),
    week_start=st.integers(0, 6),
)
def test_s3_property_expiry_is_a_local_day_start_after_now_within_a_month(
    instant: datetime, zone: str, period: OptOutPeriod, week_start: int
) -> None:
    """The expiry is after the choice, at most 31 days on, and no earlier than the next day."""
    user = _user(zone)
    now = instant.replace(tzinfo=UTC)
    until = opt_out_until(period, now, user, week_start)
    assert until is not None
    assert until > now
    local_now, local_until = now.astimezone(user.zone), until.astimezone(user.zone)
    assert local_until.date() > local_now.date()
    assert (local_until.date() - local_now.date()).days <= {"today": 1, "this_week": 7}.get(
        period.value, 31
    )
    if period is OptOutPeriod.THIS_WEEK:
        assert local_until.weekday() == week_start
    if period is OptOutPeriod.THIS_MONTH:
        assert local_until.day == 1
    # The previous instant still belongs to the opt-out's last day.
    just_before = until.astimezone(UTC) - timedelta(microseconds=1)
    assert just_before.astimezone(user.zone).date() < local_until.date()


# -- validation ---------------------------------------------------------------------


def test_s3_opt_outs_apply_to_deals_and_leads_only() -> None:
    """An opt-out for invoices makes no sense: refused."""
    with pytest.raises(ValidationError, match="deals and leads"):
        SmartActivityOptOut.choose(user=ANNA, entity_type="invoice", period="today", now=NOW)


def test_s3_unknown_period_is_refused() -> None:
    """A typo in the period names the allowed values."""
    with pytest.raises(ValidationError, match="today, this_week, this_month, for_good"):
        SmartActivityOptOut.choose(user=ANNA, entity_type="deal", period="tomorrow", now=NOW)


def test_s3_until_must_match_the_period() -> None:
    """For good has no end; the others must end, after they were chosen."""
    with pytest.raises(ValidationError, match="until"):
        SmartActivityOptOut(
            user_id="u1", entity_type="deal", period="for_good", chosen_at=NOW, until=NOW
        )
    with pytest.raises(ValidationError, match="until"):
        SmartActivityOptOut(
            user_id="u1", entity_type="deal", period="today", chosen_at=NOW, until=None
        )
    with pytest.raises(ValidationError, match="must be after chosen_at"):
        SmartActivityOptOut(
            user_id="u1", entity_type="deal", period="today", chosen_at=NOW, until=NOW
        )


def test_s3_week_start_is_checked() -> None:
    """Weekday numbers are 0 to 6."""
    with pytest.raises(ValidationError, match="week_start"):
        opt_out_until("this_week", NOW, ANNA, week_start=7)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"switched_off": ["invoice"]}, "switched_off[0]"),
        ({"switched_off": "deal"}, "switched_off"),
        ({"business_days": 0}, "business_days"),
        ({"business_days": True}, "business_days"),
        ({"text": "  "}, "text"),
    ],
)
def test_s3_section_settings_are_validated(kwargs: dict[str, object], field: str) -> None:
    """Only deals and leads can be switched off; business days >= 1; text non-blank."""
    with pytest.raises(ValidationError) as caught:
        SmartActivitySettings(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_s3_switched_off_is_kept_sorted_without_repeats() -> None:
    """A normalised tuple, so equal settings compare and serialise equal."""
    assert SmartActivitySettings(switched_off=["lead", "deal", "lead"]).switched_off == (
        "deal",
        "lead",
    )


# -- JSON for the host ----------------------------------------------------------------


@pytest.mark.parametrize("period", list(OptOutPeriod))
def test_s3_opt_out_round_trips_through_json(period: OptOutPeriod) -> None:
    """`to_dict` is JSON-ready and `from_dict` reads it back equal."""
    opt_out = SmartActivityOptOut.choose(user=ANNA, entity_type="lead", period=period, now=NOW)
    data = json.loads(json.dumps(opt_out.to_dict()))
    assert SmartActivityOptOut.from_dict(data) == opt_out


def test_s3_opt_out_dict_shape() -> None:
    """The stored shape is documented in docs/smart-activities.md."""
    opt_out = SmartActivityOptOut.choose(user=ANNA, entity_type="deal", period="today", now=NOW)
    assert opt_out.to_dict() == {
        "user_id": "u1",
        "entity_type": "deal",
        "period": "today",
        "chosen_at": "2026-12-16T14:30:00+00:00",  # instants are held in UTC (G4)
        "until": "2026-12-16T23:00:00+00:00",  # Anna's midnight in Warsaw
    }


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"user_id": "u1", "entity_type": "deal", "period": "today"}, "$.chosen_at"),
        (
            {
                "user_id": "u1",
                "entity_type": "deal",
                "period": "soon",
                "chosen_at": NOW.isoformat(),
            },
            "$.period",
        ),
        (
            {
                "user_id": "u1",
                "entity_type": "deal",
                "period": "for_good",
                "chosen_at": "2026-12-16T15:30:00",
            },
            "$.chosen_at",
        ),
        (
            {
                "user_id": "u1",
                "entity_type": "deal",
                "period": "for_good",
                "chosen_at": NOW.isoformat(),
                "colour": "red",
            },
            "$.colour",
        ),
    ],
)
def test_s3_bad_opt_out_data_names_its_path(data: dict[str, object], path: str) -> None:
    """Stored data that does not fit is a `DataFormatError` at the faulty key (G5)."""
    with pytest.raises(DataFormatError) as caught:
        SmartActivityOptOut.from_dict(data)
    assert caught.value.path == path


def test_s3_opt_out_from_something_else_than_an_object() -> None:
    """A list where an object belongs is refused with the path."""
    with pytest.raises(DataFormatError, match=r"opt_outs\[0\]"):
        SmartActivityOptOut.from_dict([], "opt_outs[0]")  # type: ignore[arg-type]


# -- portal JSON ------------------------------------------------------------------------


def test_s3_section_settings_round_trip_through_the_portal_format() -> None:
    """`Settings.smart_activities` is written and read back by the portal JSON format."""
    settings = Settings(
        calendar=CalendarSettings(country="PL"),
        smart_activities=SmartActivitySettings(
            switched_off=["lead"], business_days=2, text="Zadzwoń do klienta"
        ),
    )
    text = dump_portal(Portal(storage=portal(settings=settings)))
    assert json.loads(text)["settings"]["smart_activities"] == {
        "switched_off": ["lead"],
        "business_days": 2,
        "text": "Zadzwoń do klienta",
    }
    loaded = load_portal(text)
    assert loaded.storage.settings == settings
    assert dump_portal(loaded) == text


def test_s3_portal_without_smart_settings_gets_the_defaults() -> None:
    """Older documents without the key load with smart activities on everywhere."""
    document = json.loads(dump_portal(Portal(storage=portal())))
    del document["settings"]["smart_activities"]
    loaded = load_portal(json.dumps(document))
    assert loaded.storage.settings.smart_activities == SmartActivitySettings()


@pytest.mark.parametrize(
    ("smart", "path"),
    [
        ({"switched_off": ["invoice"]}, "$.settings.smart_activities.switched_off[0]"),
        ({"business_days": "3"}, "$.settings.smart_activities.business_days"),
        ({"enabled": False}, "$.settings.smart_activities.enabled"),
    ],
)
def test_s3_bad_smart_settings_in_a_portal_name_their_path(
    smart: dict[str, object], path: str
) -> None:
    """Unknown keys and bad values are refused with their JSON path (G5)."""
    document = json.loads(dump_portal(Portal(storage=portal())))
    document["settings"]["smart_activities"] = smart
    with pytest.raises(DataFormatError) as caught:
        load_portal(json.dumps(document))
    assert caught.value.path == path


def test_s3_settings_evolve_keeps_validation() -> None:
    """Changing settings with `attrs.evolve` validates again."""
    with pytest.raises(ValidationError, match="business_days"):
        attrs.evolve(SmartActivitySettings(), business_days=-1)
