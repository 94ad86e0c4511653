"""The suggester: a draft or a reason, never None (S1-S4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_smart import PL_SETTINGS, WARSAW, add_activity, add_item, portal
from crmcounters import (
    Activity,
    ActivityKind,
    CalendarSettings,
    CounterMode,
    InMemoryStorage,
    NaiveDatetimeError,
    NoSuggestion,
    NoSuggestionReason,
    OptOutPeriod,
    Settings,
    SmartActivityDraft,
    SmartActivityOptOut,
    SmartActivitySettings,
    UnknownIdError,
    ValidationError,
    counters_of,
    smart_activity_opt_out,
    suggest_smart_activity,
)

NOW = datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW)  # Friday
DEADLINE = datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW)


def _no(result: object) -> NoSuggestion:
    assert isinstance(result, NoSuggestion), result
    return result


def _draft(result: object) -> SmartActivityDraft:
    assert isinstance(result, SmartActivityDraft), result
    return result


# -- S1: when a suggestion is made ----------------------------------------------


@pytest.mark.parametrize("entity_type", ["deal", "lead"])
def test_s1_item_without_open_activity_gets_a_draft(entity_type: str) -> None:
    """A deal or lead in progress with no open activity: the pre-filled form (S1, S2)."""
    storage = portal()
    add_item(storage, entity_type=entity_type)
    draft = _draft(suggest_smart_activity(storage, "i1", "u1", NOW))
    assert draft == SmartActivityDraft(
        item_id="i1",
        text="Contact the client",
        deadline=DEADLINE,
        responsible_id="u1",
        author_id="u1",
        suggested_at=NOW,
        file_ids=(),
    )


def test_s1_completed_activities_do_not_prevent_a_suggestion() -> None:
    """Only open activities count: a completed one leaves the item without a follow-up."""
    storage = portal()
    add_item(storage)
    add_activity(storage, "a1", completed=True)
    _draft(suggest_smart_activity(storage, "i1", "u1", NOW))


def test_s1_open_activity_means_no_suggestion() -> None:
    """At least one open activity: nothing suggested, and the answer names the activities."""
    storage = portal()
    add_item(storage)
    add_activity(storage, "a1")
    add_activity(storage, "a2", completed=True)
    add_activity(storage, "a3")
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW))
    assert answer.reason is NoSuggestionReason.OPEN_ACTIVITY_EXISTS
    assert answer.open_activity_ids == ("a1", "a3")
    assert "2 open activities" in answer.detail


def test_s1_open_activity_of_another_user_also_counts() -> None:
    """Any open activity of the item counts, whoever is responsible for it."""
    storage = portal()
    add_item(storage)
    add_activity(storage, "a1", responsible_id="u2")
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW))
    assert answer.reason is NoSuggestionReason.OPEN_ACTIVITY_EXISTS
    assert "1 open activity " in answer.detail


def _replay_portal(cap: int = 50_000) -> InMemoryStorage:
    """Items "busy" (an activity created a day after NOW), "done-later" (an activity
    completed a day after NOW) and "quiet" (none), all u1's."""
    storage = portal(settings=attrs.evolve(PL_SETTINGS, open_activity_cap=cap))
    for item_id in ("busy", "done-later", "quiet"):
        add_item(storage, item_id)
    day = timedelta(days=1)
    storage.add(
        Activity(
            id="created-later",
            item_ids=("busy",),
            kind=ActivityKind.TODO,
            responsible_id="u1",
            created_at=NOW + day,
            deadline=NOW + 2 * day,
        ),
        Activity(
            id="completed-later",
            item_ids=("done-later",),
            kind=ActivityKind.TODO,
            responsible_id="u1",
            created_at=NOW - 3 * day,
            deadline=NOW + day,
            completed_at=NOW + day,
        ),
    )
    return storage


REPLAY = NOW - timedelta(days=2)  # before both later writes


def test_s1_x2_a_replay_answers_for_the_activities_as_stored() -> None:
    """X2 moves time-based decisions, not the data: at an earlier `now`, an activity
    created later is open and one completed later is completed, as the counters
    calculator sees them (its open-activity count at the same `now`)."""
    storage = _replay_portal()
    assert counters_of(storage, "u1", REPLAY).open_activities == 1
    answer = _no(suggest_smart_activity(storage, "busy", "u1", REPLAY))
    assert answer.reason is NoSuggestionReason.OPEN_ACTIVITY_EXISTS
    assert answer.open_activity_ids == ("created-later",)
    _draft(suggest_smart_activity(storage, "done-later", "u1", REPLAY))


def test_s4_x2_a_replay_counts_the_cap_on_the_activities_as_stored() -> None:
    """The cap (C8) counts activities stored as open, even one created after `now`."""
    storage = _replay_portal(cap=1)
    counted = counters_of(storage, "u1", REPLAY)
    assert (counted.open_activities, counted.cap) == (1, 1)
    answer = _no(suggest_smart_activity(storage, "quiet", "u1", REPLAY))
    assert answer.reason is NoSuggestionReason.AT_CAP
    assert (answer.open_activity_count, answer.cap) == (1, 1)


@pytest.mark.parametrize("stage", ["won", "lost"])
@pytest.mark.parametrize("entity_type", ["deal", "lead"])
def test_s1_final_stage_means_no_suggestion(entity_type: str, stage: str) -> None:
    """Won or lost (success or failure semantics): no follow-up is suggested."""
    storage = portal()
    add_item(storage, entity_type=entity_type, stage=stage)
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW))
    assert answer.reason is NoSuggestionReason.FINAL_STAGE
    assert stage in answer.detail


@pytest.mark.parametrize("entity_type", ["invoice", "smart:128"])
def test_s1_only_deals_and_leads(entity_type: str) -> None:
    """Invoices and smart processes never get a smart activity."""
    storage = portal()
    add_item(storage, entity_type=entity_type)
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW))
    assert answer.reason is NoSuggestionReason.NOT_DEAL_OR_LEAD
    assert entity_type in answer.detail


def test_s2_responsible_is_the_user_who_closed_the_form() -> None:
    """u2 closes u1's deal: the draft is u2's, and u2's zone decides the deadline (X3)."""
    storage = portal(time_zone="Pacific/Honolulu")  # u1 far away, u2 in Warsaw
    add_item(storage, responsible_id="u1")
    draft = _draft(suggest_smart_activity(storage, "i1", "u2", NOW))
    assert (draft.responsible_id, draft.author_id) == ("u2", "u2")
    assert draft.deadline == DEADLINE
    assert draft.deadline.tzinfo is UTC  # an instant, held in UTC (G4)
    assert draft.deadline.astimezone(WARSAW).hour == 10  # u2's local time of day (S2)


# -- S3: switched off -----------------------------------------------------------


def _settings(**smart: object) -> Settings:
    return Settings(
        calendar=CalendarSettings(country="PL"),
        smart_activities=SmartActivitySettings(**smart),  # type: ignore[arg-type]
    )


def test_s3_on_by_default() -> None:
    """Smart activities are on for deals and leads unless switched off."""
    assert SmartActivitySettings().switched_off == ()
    assert Settings().smart_activities.is_enabled_for("deal")
    assert Settings().smart_activities.is_enabled_for("lead")
    assert not Settings().smart_activities.is_enabled_for("invoice")


def test_s3_switched_off_for_the_section() -> None:
    """Switching leads off leaves deals on, and the answer says which section."""
    storage = portal(settings=_settings(switched_off=["lead"]))
    add_item(storage, "lead-1", entity_type="lead")
    add_item(storage, "deal-1", entity_type="deal")
    answer = _no(suggest_smart_activity(storage, "lead-1", "u1", NOW))
    assert answer.reason is NoSuggestionReason.SWITCHED_OFF_FOR_SECTION
    assert "lead section" in answer.detail
    _draft(suggest_smart_activity(storage, "deal-1", "u1", NOW))


def test_s3_switched_off_by_the_user_until_a_date() -> None:
    """ "Don't suggest today": nothing until the user's midnight, then suggestions again."""
    storage = portal()
    add_item(storage)
    opt_out = SmartActivityOptOut.choose(
        user=storage.user("u1"), entity_type="deal", period="today", now=NOW
    )
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW, opt_outs=[opt_out]))
    assert answer.reason is NoSuggestionReason.SWITCHED_OFF_BY_USER
    assert answer.until == datetime(2026, 12, 19, 0, 0, tzinfo=WARSAW)
    assert "until 2026-12-19T00:00:00+01:00" in answer.detail
    just_before = datetime(2026, 12, 18, 23, 59, 59, tzinfo=WARSAW)
    assert isinstance(
        suggest_smart_activity(storage, "i1", "u1", just_before, opt_outs=[opt_out]), NoSuggestion
    )
    midnight = datetime(2026, 12, 19, 0, 0, tzinfo=WARSAW)
    _draft(suggest_smart_activity(storage, "i1", "u1", midnight, opt_outs=[opt_out]))


def test_s3_switched_off_by_the_user_for_good() -> None:
    """For good never ends; the longest opt-out in force is the one reported."""
    storage = portal()
    add_item(storage)
    user = storage.user("u1")
    today = SmartActivityOptOut.choose(user=user, entity_type="deal", period="today", now=NOW)
    forever = SmartActivityOptOut.choose(
        user=user, entity_type="deal", period=OptOutPeriod.FOR_GOOD, now=NOW
    )
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW, opt_outs=[today, forever]))
    assert answer.reason is NoSuggestionReason.SWITCHED_OFF_BY_USER
    assert answer.until is None
    assert "for good" in answer.detail
    later = NOW + timedelta(days=3650)
    assert isinstance(
        suggest_smart_activity(storage, "i1", "u1", later, opt_outs=[forever]), NoSuggestion
    )


def test_s3_x2_opt_out_does_not_hold_before_it_was_chosen() -> None:
    """Replaying a moment before the user chose "for good" (X2): the suggestion is made."""
    storage = portal()
    add_item(storage)
    forever = SmartActivityOptOut.choose(
        user=storage.user("u1"), entity_type="deal", period="for_good", now=NOW
    )
    this_week = SmartActivityOptOut.choose(
        user=storage.user("u1"), entity_type="deal", period="this_week", now=NOW
    )
    earlier = NOW - timedelta(hours=1)
    _draft(suggest_smart_activity(storage, "i1", "u1", earlier, opt_outs=[forever, this_week]))
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW, opt_outs=[forever, this_week]))
    assert answer.reason is NoSuggestionReason.SWITCHED_OFF_BY_USER


@pytest.mark.parametrize(
    ("week_start", "until"),
    [
        (0, datetime(2026, 12, 21, 0, 0, tzinfo=WARSAW)),  # Monday
        (6, datetime(2026, 12, 20, 0, 0, tzinfo=WARSAW)),  # Sunday
    ],
)
def test_s3_this_week_from_the_form_follows_the_portal_week_start(
    week_start: int, until: datetime
) -> None:
    """S3, V1: "this week" chosen on a form ends when the portal's week does (Settings)."""
    storage = portal(settings=attrs.evolve(PL_SETTINGS, week_start=week_start))
    add_item(storage, "lead-1", entity_type="lead")
    opt_out = smart_activity_opt_out(storage, "lead-1", "u1", "this_week", NOW)
    assert (opt_out.user_id, opt_out.entity_type, opt_out.chosen_at) == ("u1", "lead", NOW)
    assert opt_out.until == until
    assert opt_out == SmartActivityOptOut.choose(
        user=storage.user("u1"),
        entity_type="lead",
        period="this_week",
        now=NOW,
        week_start=week_start,
    )
    answer = _no(suggest_smart_activity(storage, "lead-1", "u1", NOW, opt_outs=[opt_out]))
    assert answer.until == until
    _draft(suggest_smart_activity(storage, "lead-1", "u1", until, opt_outs=[opt_out]))


def test_s3_opt_out_from_the_form_of_an_unknown_item_or_an_invoice() -> None:
    """G5: unknown ids are errors; an invoice form offers no smart activities to silence."""
    storage = portal()
    add_item(storage, "inv-1", entity_type="invoice")
    with pytest.raises(UnknownIdError, match="ghost"):
        smart_activity_opt_out(storage, "ghost", "u1", "today", NOW)
    with pytest.raises(UnknownIdError, match="ghost"):
        smart_activity_opt_out(storage, "inv-1", "ghost", "today", NOW)
    with pytest.raises(ValidationError, match="deals and leads"):
        smart_activity_opt_out(storage, "inv-1", "u1", "today", NOW)


def test_s3_user_opt_out_is_per_user_and_per_entity_type() -> None:
    """u1's opt-out for deals silences neither u2 nor u1's leads."""
    storage = portal()
    add_item(storage, "deal-1", entity_type="deal")
    add_item(storage, "lead-1", entity_type="lead")
    opt_out = SmartActivityOptOut.choose(
        user=storage.user("u1"), entity_type="deal", period="for_good", now=NOW
    )
    assert isinstance(
        suggest_smart_activity(storage, "deal-1", "u1", NOW, opt_outs=[opt_out]), NoSuggestion
    )
    _draft(suggest_smart_activity(storage, "deal-1", "u2", NOW, opt_outs=[opt_out]))
    _draft(suggest_smart_activity(storage, "lead-1", "u1", NOW, opt_outs=[opt_out]))


def test_s3_opt_outs_must_be_opt_out_values() -> None:
    """A host passing raw dicts gets a clear error rather than a silent suggestion."""
    storage = portal()
    add_item(storage)
    with pytest.raises(ValidationError, match="opt_outs"):
        suggest_smart_activity(storage, "i1", "u1", NOW, opt_outs=[{"user_id": "u1"}])  # type: ignore[list-item]


# -- S4: the cap ----------------------------------------------------------------


def _capped_portal(cap: int, open_activities: int, mode: CounterMode) -> object:
    storage = portal(settings=attrs.evolve(PL_SETTINGS, open_activity_cap=cap, counter_mode=mode))
    add_item(storage, "busy")
    add_item(storage, "quiet")
    for n in range(open_activities):
        add_activity(storage, f"a{n}", "busy")
    return suggest_smart_activity(storage, "quiet", "u1", NOW)


@pytest.mark.parametrize("mode", list(CounterMode))
def test_s4_at_the_cap_no_suggestion_and_the_answer_says_why(mode: CounterMode) -> None:
    """Exactly at the cap counts as reached (C8); the answer carries count and cap."""
    answer = _no(_capped_portal(cap=3, open_activities=3, mode=mode))
    assert answer.reason is NoSuggestionReason.AT_CAP
    assert (answer.open_activity_count, answer.cap) == (3, 3)
    assert "cap of 3" in answer.detail


def test_s4_above_the_cap_no_suggestion() -> None:
    """Above the cap too."""
    answer = _no(_capped_portal(cap=2, open_activities=3, mode=CounterMode.ITEM_RESPONSIBLE))
    assert answer.reason is NoSuggestionReason.AT_CAP
    assert answer.open_activity_count == 3


def test_s4_one_below_the_cap_still_suggests() -> None:
    """Below the cap a suggestion is made."""
    _draft(_capped_portal(cap=4, open_activities=3, mode=CounterMode.ITEM_RESPONSIBLE))


# -- the draft and its text --------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "Contact the client"),
        ("pl", "Skontaktuj się z klientem"),
        ("pl-PL", "Skontaktuj się z klientem"),
        ("fr_FR", "Contacter le client"),
        ("vi", "Liên hệ với khách hàng"),
        ("de", "Kunden kontaktieren"),
        ("es", "Contactar con el cliente"),
    ],
)
def test_s2_text_is_localised(locale: str, text: str) -> None:
    """The default text follows the locale parameter."""
    storage = portal()
    add_item(storage)
    assert _draft(suggest_smart_activity(storage, "i1", "u1", NOW, locale=locale)).text == text


def test_s2_text_from_settings_wins_over_the_translation() -> None:
    """A portal text is used as is, in any locale."""
    storage = portal(settings=_settings(text="Send the offer for approval"))
    add_item(storage)
    draft = _draft(suggest_smart_activity(storage, "i1", "u1", NOW, locale="pl"))
    assert draft.text == "Send the offer for approval"


def test_s2_draft_is_editable_and_revalidated() -> None:
    """The user may change text, deadline, responsible and files; bad changes are refused."""
    storage = portal()
    add_item(storage)
    draft = _draft(suggest_smart_activity(storage, "i1", "u1", NOW))
    edited = attrs.evolve(
        draft,
        text="Send documents for approval",
        deadline=DEADLINE + timedelta(days=1),
        responsible_id="u2",
        file_ids=("file-7",),
    )
    assert edited.text == "Send documents for approval"
    assert edited.file_ids == ("file-7",)
    with pytest.raises(ValidationError, match="text"):
        attrs.evolve(draft, text="   ")
    with pytest.raises(NaiveDatetimeError, match="deadline"):
        attrs.evolve(draft, deadline=datetime(2026, 12, 23, 10, 0))
    with pytest.raises(ValidationError, match="file_ids"):
        attrs.evolve(draft, file_ids="file-7")


def test_s2_saved_draft_becomes_an_open_to_do() -> None:
    """`to_activity` gives the activity the host stores; the item then has an open activity."""
    storage = portal()
    add_item(storage)
    draft = _draft(suggest_smart_activity(storage, "i1", "u1", NOW))
    activity = attrs.evolve(draft, responsible_id="u2").to_activity("smart-1")
    assert activity == Activity(
        id="smart-1",
        item_ids=("i1",),
        kind=ActivityKind.TODO,
        responsible_id="u2",
        author_id="u1",
        subject="Contact the client",
        created_at=NOW,
        deadline=DEADLINE,
    )
    storage.add(activity)
    answer = _no(suggest_smart_activity(storage, "i1", "u1", NOW + timedelta(minutes=5)))
    assert answer.reason is NoSuggestionReason.OPEN_ACTIVITY_EXISTS


# -- bad input ------------------------------------------------------------------


def test_g5_unknown_item_or_user_is_an_error_not_a_reason() -> None:
    """An unknown id is a mistake of the caller, not a 'no suggestion'."""
    storage = portal()
    add_item(storage)
    with pytest.raises(UnknownIdError, match="item"):
        suggest_smart_activity(storage, "nope", "u1", NOW)
    with pytest.raises(UnknownIdError, match="user"):
        suggest_smart_activity(storage, "i1", "nobody", NOW)


def test_g2_naive_now_is_refused() -> None:
    """G2: the suggester names the naive field."""
    storage = portal()
    add_item(storage)
    with pytest.raises(NaiveDatetimeError, match="now"):
        suggest_smart_activity(storage, "i1", "u1", datetime(2026, 12, 18, 10))


@pytest.mark.parametrize("locale", ["", "  ", None, 7])
def test_s2_locale_must_be_a_tag(locale: object) -> None:
    """An empty or non-text locale is refused (an unknown language falls back to English)."""
    storage = portal()
    add_item(storage)
    with pytest.raises(ValidationError, match="locale"):
        suggest_smart_activity(storage, "i1", "u1", NOW, locale=locale)  # type: ignore[arg-type]


# -- property: never None, and a draft exactly when every condition holds -------------


@given(
    entity_type=st.sampled_from(["deal", "lead", "invoice", "smart:128"]),
    stage=st.sampled_from(["new", "won", "lost"]),
    open_activities=st.integers(0, 2),
    other_open=st.integers(0, 3),
    cap=st.integers(1, 4),
    section_off=st.sets(st.sampled_from(["deal", "lead"])),
    opted_out=st.sampled_from([None, *OptOutPeriod]),
    minutes_later=st.integers(0, 60 * 24 * 40),
)
def test_s1_s4_property_a_draft_exactly_when_every_condition_holds(
    entity_type: str,
    stage: str,
    open_activities: int,
    other_open: int,
    cap: int,
    section_off: set[str],
    opted_out: OptOutPeriod | None,
    minutes_later: int,
) -> None:
    """Never None; a draft iff deal/lead, on, not opted out, in progress, unoccupied, below cap."""
    storage = portal(
        settings=attrs.evolve(
            PL_SETTINGS,
            open_activity_cap=cap,
            smart_activities=SmartActivitySettings(switched_off=section_off),
        )
    )
    add_item(storage, "i1", entity_type=entity_type, stage=stage)
    add_item(storage, "other")
    for n in range(open_activities):
        add_activity(storage, f"a{n}", "i1")
    for n in range(other_open):
        add_activity(storage, f"b{n}", "other")
    opt_outs = []
    if opted_out is not None and entity_type in ("deal", "lead"):
        opt_outs.append(
            SmartActivityOptOut.choose(
                user=storage.user("u1"), entity_type=entity_type, period=opted_out, now=NOW
            )
        )
    now = NOW + timedelta(minutes=minutes_later)
    result = suggest_smart_activity(storage, "i1", "u1", now, opt_outs=opt_outs)
    expected_draft = (
        entity_type in ("deal", "lead")
        and entity_type not in section_off
        and not any(o.is_active(now) for o in opt_outs)
        and stage == "new"
        and open_activities == 0
        and other_open < cap
    )
    assert result is not None
    assert isinstance(result, SmartActivityDraft) == expected_draft
    if isinstance(result, SmartActivityDraft):
        assert result.deadline > now
    else:
        assert isinstance(result, NoSuggestion)
        assert result.reason in NoSuggestionReason
        assert result.detail
