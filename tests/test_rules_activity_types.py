"""Rules that schedule typed activities (R4 "Schedule activity" with A1 activity types).

A `ScheduleActivity` naming a `type_id` makes an activity of that type, with
the type's defaults where the action leaves a value out: kind, subject,
reminder offsets, and the deadline rule in the responsible's zone (X3).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest

from _build_rules import MONDAY, WARSAW, deal, make_storage, runtime, sales_rule
from crmcounters import ActivityKind, ActivityType, DeadlineRule, InMemoryStorage
from crmcounters.rules import (
    CreateActivityEffect,
    Delay,
    RuleEngine,
    RuleSet,
    RuleSetError,
    ScheduleActivity,
    dump_rule_set,
    load_rule_set,
)

UTC = ZoneInfo("UTC")
CALL_BACK = ActivityType(
    id="call-back",
    name="Call back",
    kind="call",
    deadline=DeadlineRule(amount=2, unit="business_days", time_of_day=time(10)),
    reminder_offsets=(60, 15),
)
TODAY_AT_FIVE = ActivityType(
    id="today-at-five",
    name="Before the day ends",
    deadline=DeadlineRule(amount=0, unit="days", time_of_day=time(17)),
)


def _typed_storage() -> InMemoryStorage:
    storage = make_storage()
    storage.set_settings(attrs.evolve(storage.settings, activity_types=(CALL_BACK, TODAY_AT_FIVE)))
    return storage


def _scheduled(action: ScheduleActivity, responsible_id: str = "u-piotr") -> list[object]:
    """The activities the rule's action creates when a deal enters "new" at MONDAY."""
    rt = runtime([sales_rule("r-typed", action=action)], storage=_typed_storage())
    outcome = rt.create_item(deal(responsible_id=responsible_id))
    return [e.activity for e in outcome.effects if isinstance(e, CreateActivityEffect)]


def test_r4_a1_a_typed_activity_takes_the_types_defaults() -> None:
    """R4, A1: kind, subject, reminder offsets and the deadline rule come from the type; the
    deadline is two business days later at 10:00 in the responsible's zone (S2, PL)."""
    [activity] = _scheduled(ScheduleActivity(type_id="call-back"))
    assert activity.type_id == "call-back"
    assert activity.kind is ActivityKind.CALL
    assert activity.subject == "Call back"
    assert activity.reminder_offsets == (60, 15)
    assert activity.deadline == datetime(2026, 12, 16, 10, 0, tzinfo=WARSAW)  # Monday + 2
    assert activity.rule_id == "r-typed"


def test_r4_a1_what_the_action_says_wins_over_the_type() -> None:
    """R4, A1: an explicit kind, description and deadline replace the type's; the type
    still gives the reminder offsets."""
    action = ScheduleActivity(
        type_id="call-back",
        kind="meeting",
        description="Visit {{Client}}",
        deadline=Delay(after=2, unit="hours"),
    )
    [activity] = _scheduled(action)
    assert activity.kind is ActivityKind.MEETING
    assert activity.subject == "Visit Boulangerie Dupont"
    assert activity.deadline == MONDAY + timedelta(hours=2)
    assert activity.reminder_offsets == (60, 15)
    assert activity.type_id == "call-back"


@pytest.mark.parametrize(
    ("responsible_id", "deadline"),
    [
        # Monday 09:00 UTC is Sunday 23:00 in Honolulu (UTC-10): "today at 17:00" is Sunday's.
        ("u-keala", datetime(2026, 12, 13, 17, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))),
        # ... and Monday 23:00 in Kiritimati (UTC+14): Monday's 17:00 there.
        ("u-tama", datetime(2026, 12, 14, 17, 0, tzinfo=ZoneInfo("Pacific/Kiritimati"))),
        ("u-piotr", datetime(2026, 12, 14, 17, 0, tzinfo=WARSAW)),
    ],
)
def test_x3_a1_the_types_deadline_is_the_responsibles_day(
    responsible_id: str, deadline: datetime
) -> None:
    """X3, G4, A1: the type's "same day at 17:00" is the responsible's own day."""
    [activity] = _scheduled(
        ScheduleActivity(type_id="today-at-five", responsible_id=responsible_id)
    )
    assert activity.responsible_id == responsible_id
    assert activity.deadline == deadline.astimezone(UTC)


def test_r4_without_a_type_the_activity_is_a_to_do_as_before() -> None:
    """R4: no type, no kind: a to-do with the portal's default reminders and no deadline."""
    [activity] = _scheduled(ScheduleActivity(description="Call"))
    assert activity.kind is ActivityKind.TODO
    assert activity.type_id is None
    assert activity.reminder_offsets is None
    assert activity.deadline is None


def test_r7_g5_an_unknown_type_is_a_problem_naming_its_path() -> None:
    """R7, G5: an engine is not built over a rule naming a type the settings lack."""
    rule_set = RuleSet(rules=[sales_rule("r-typed", action=ScheduleActivity(type_id="nope"))])
    with pytest.raises(RuleSetError) as caught:
        RuleEngine.for_storage(rule_set, _typed_storage())
    [problem] = caught.value.problems
    assert problem.path == "$.rules[0].action.type_id"
    assert "unknown activity type 'nope'" in problem.message


def test_r4_a1_a_type_removed_after_the_engine_was_built_skips_the_rule_saying_why() -> None:
    """R4, A1: the type left the settings since the engine was built: nothing is created and
    the skip names the type (nothing fails silently)."""
    storage = _typed_storage()
    rt = runtime(
        [sales_rule("r-typed", action=ScheduleActivity(type_id="call-back"))], storage=storage
    )
    storage.set_settings(attrs.evolve(storage.settings, activity_types=(TODAY_AT_FIVE,)))
    outcome = rt.create_item(deal())
    assert not [e for e in outcome.effects if isinstance(e, CreateActivityEffect)]
    [skip] = outcome.skipped
    assert skip.source_id == "r-typed"
    assert "'call-back'" in skip.reason
    assert storage.open_activities_of_item("deal-1") == []


def test_r7_a_typed_action_round_trips_through_json() -> None:
    """R7: `type_id` is read and written; `kind` and `description` may be left out."""
    source = b"""{
      "format": "crmcounters.rules", "version": 1,
      "rules": [{
        "id": "r-typed", "entity_type": "deal", "pipeline_id": "p-sales", "stage_id": "new",
        "action": {"type": "schedule_activity", "type_id": "call-back"}
      }]
    }"""
    rule_set = load_rule_set(source)
    action = rule_set.rules[0].action
    assert action == ScheduleActivity(type_id="call-back")
    assert action.kind is None  # type: ignore[union-attr]
    dumped = dump_rule_set(rule_set)
    assert '"type_id": "call-back"' in dumped
    assert '"kind"' not in dumped
    assert load_rule_set(dumped.encode()) == rule_set


def test_r4_g5_an_activity_needs_a_description_or_a_type() -> None:
    """R4, G5: "Schedule activity" says what the activity is, by a description or a type;
    neither is refused naming the description (in JSON at its path)."""
    from crmcounters import ValidationError

    with pytest.raises(ValidationError, match="description"):
        ScheduleActivity()
    source = b"""{
      "format": "crmcounters.rules", "version": 1,
      "rules": [{
        "id": "r-bare", "entity_type": "deal", "pipeline_id": "p-sales", "stage_id": "new",
        "action": {"type": "schedule_activity", "kind": "call"}
      }]
    }"""
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(source)
    assert [problem.path for problem in caught.value.problems] == ["$.rules[0].action.description"]


def test_r3_a1_a_description_that_renders_empty_is_still_the_subject() -> None:
    """R3, A1: a description is what the rule says even when its placeholders are empty;
    the type's subject stands in only for no description at all."""
    rule = sales_rule(
        "r-typed", action=ScheduleActivity(type_id="call-back", description="{{Client}}")
    )
    rt = runtime([rule], storage=_typed_storage())
    outcome = rt.create_item(attrs.evolve(deal(), client=""))
    [activity] = [e.activity for e in outcome.effects if isinstance(e, CreateActivityEffect)]
    assert activity.subject == ""
    assert activity.kind is ActivityKind.CALL
