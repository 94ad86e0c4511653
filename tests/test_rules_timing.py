"""R1: when delayed rules run, in the responsible's zone, DST-correct, with business days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from _build_rules import HONOLULU, KIRITIMATI, WARSAW, deal, make_storage, runtime, sales_rule
from crmcounters.rules import Delay, NotifySupervisor, Timing, WorkingHours
from crmcounters.rules._timing import due_at

CALENDAR = make_storage().settings.calendar.build()
HOURS = WorkingHours()


def _due(timing: Timing, entered: datetime, zone: object = WARSAW) -> datetime:
    return due_at(timing, entered, zone, CALENDAR, HOURS)  # type: ignore[arg-type]


def _after(after: int, unit: str, working_time_only: bool = False) -> Timing:
    return Timing(delay=Delay(after=after, unit=unit), working_time_only=working_time_only)


def test_r1_minutes_and_hours_are_exact_durations_across_dst() -> None:
    entered = datetime(2026, 10, 24, 10, 0, tzinfo=WARSAW)  # the day before the clocks go back
    due = _due(_after(24, "hours"), entered)
    assert due.astimezone(UTC) - entered.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(WARSAW).isoformat() == "2026-10-25T09:00:00+01:00"
    assert _due(_after(90, "minutes"), entered) == datetime(2026, 10, 24, 9, 30, tzinfo=UTC)


def test_r1_g4_days_keep_the_local_time_on_a_25_hour_day() -> None:
    entered = datetime(2026, 10, 24, 10, 0, tzinfo=WARSAW)
    due = _due(_after(1, "days"), entered)
    assert due.isoformat() == "2026-10-25T10:00:00+01:00"
    assert due.astimezone(UTC) - entered.astimezone(UTC) == timedelta(hours=25)


def test_r1_g4_days_landing_in_a_spring_forward_gap_move_forward_by_the_gap() -> None:
    entered = datetime(2026, 3, 28, 2, 30, tzinfo=WARSAW)
    assert _due(_after(1, "days"), entered).isoformat() == "2026-03-29T03:30:00+02:00"


@pytest.mark.parametrize(
    ("entered", "after", "expected"),
    [
        ("2026-12-18T10:00:00+01:00", 3, "2026-12-23T10:00:00+01:00"),  # S2's examples
        ("2026-12-23T10:00:00+01:00", 3, "2026-12-30T10:00:00+01:00"),  # 24th-26th off
        ("2026-12-19T09:00:00+01:00", 3, "2026-12-23T09:00:00+01:00"),  # from a Saturday
        ("2026-10-23T10:00:00+02:00", 3, "2026-10-28T10:00:00+01:00"),  # across DST
        ("2026-12-14T10:00:00+01:00", 0, "2026-12-14T10:00:00+01:00"),
    ],
)
def test_r1_business_days_skip_weekends_and_polish_holidays(
    entered: str, after: int, expected: str
) -> None:
    due = _due(_after(after, "business_days"), datetime.fromisoformat(entered))
    assert due.isoformat() == expected


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        ("2026-12-14T10:00:00+01:00", "2026-12-14T10:00:00+01:00"),  # already working time
        ("2026-12-14T07:15:00+01:00", "2026-12-14T09:00:00+01:00"),  # before opening
        ("2026-12-14T18:00:00+01:00", "2026-12-15T09:00:00+01:00"),  # closing time is out
        ("2026-12-18T20:00:00+01:00", "2026-12-21T09:00:00+01:00"),  # Friday night
        ("2026-12-24T11:00:00+01:00", "2026-12-28T09:00:00+01:00"),  # Christmas Eve off
    ],
)
def test_r1_working_time_only_moves_to_the_next_working_period(entered: str, expected: str) -> None:
    due = _due(Timing(working_time_only=True), datetime.fromisoformat(entered))
    assert due.isoformat() == expected


def test_r1_g4_working_time_is_the_responsibles_in_honolulu() -> None:
    entered = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)  # Sunday 23:00 in Honolulu
    due = _due(Timing(working_time_only=True), entered, HONOLULU)
    assert due.astimezone(HONOLULU).isoformat() == "2026-12-14T09:00:00-10:00"
    assert due.astimezone(UTC).isoformat() == "2026-12-14T19:00:00+00:00"


def test_r1_g4_working_time_is_the_responsibles_in_kiritimati() -> None:
    entered = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)  # Monday 23:00 in Kiritimati
    due = _due(Timing(working_time_only=True), entered, KIRITIMATI)
    assert due.astimezone(KIRITIMATI).isoformat() == "2026-12-15T09:00:00+14:00"
    assert due.astimezone(UTC).isoformat() == "2026-12-14T19:00:00+00:00"


def test_r1_g4_a_day_delay_in_kiritimati_crosses_the_date_line_in_its_own_calendar() -> None:
    entered = datetime(2026, 12, 18, 11, 0, tzinfo=UTC)  # Saturday 01:00 in Kiritimati
    due = _due(_after(1, "business_days"), entered, KIRITIMATI)
    assert due.astimezone(KIRITIMATI).isoformat() == "2026-12-21T01:00:00+14:00"


def test_r1_custom_working_hours_apply() -> None:
    hours = WorkingHours(start=time(7, 30), end=time(15, 0))
    entered = datetime(2026, 12, 14, 16, 0, tzinfo=WARSAW)
    due = due_at(Timing(working_time_only=True), entered, WARSAW, CALENDAR, hours)
    assert due.isoformat() == "2026-12-15T07:30:00+01:00"


def test_r1_immediate_rules_run_at_once_and_delayed_ones_wait_for_the_runtime() -> None:
    rules = [
        sales_rule("r-now", action=NotifySupervisor(text="now")),
        sales_rule("r-later", timing=_after(2, "hours"), action=NotifySupervisor(text="later")),
        sales_rule(
            "r-office",
            timing=Timing(working_time_only=True),
            action=NotifySupervisor(text="office"),
        ),
    ]
    rt = runtime(rules, start=datetime(2026, 12, 14, 17, 30, tzinfo=WARSAW))
    outcome = rt.create_item(deal(responsible_id="u-tama"))  # 06:30 Tuesday in Kiritimati
    assert [n.text for n in rt.notifications] == ["now"]
    assert {job.rule_id: job.due_at.astimezone(UTC).hour for job in outcome.scheduled} == {
        "r-later": 18,
        "r-office": 19,  # 09:00 in Kiritimati
    }
    rt.advance_to(datetime(2026, 12, 15, 0, 0, tzinfo=UTC))
    assert [(n.text, n.at.astimezone(UTC).hour) for n in rt.notifications] == [
        ("now", 16),
        ("later", 18),
        ("office", 19),
    ]


def test_r1_working_time_only_rule_runs_at_once_in_working_time() -> None:
    rule = sales_rule(
        "r-office", timing=Timing(working_time_only=True), action=NotifySupervisor(text="x")
    )
    rt = runtime([rule])  # Monday 10:00 in Warsaw
    outcome = rt.create_item(deal())
    assert outcome.scheduled == ()
    assert len(rt.notifications) == 1


def test_r1_a_late_event_runs_rules_already_due_without_waiting() -> None:
    from crmcounters import StageChanged
    from crmcounters.rules import PendingJobs, RuleEngine, RuleSet

    rule = sales_rule("r-late", timing=_after(24, "hours"), action=NotifySupervisor(text="x"))
    storage = make_storage()
    engine = RuleEngine.for_storage(RuleSet(rules=[rule]), storage)
    storage.add(deal())
    entered = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)
    event = StageChanged(
        id="e-1", item_id="deal-1", at=entered, by_user_id="u-piotr", to_stage_id="new"
    )
    on_time = engine.handle(event, storage, entered, PendingJobs())
    assert [job.due_at for job in on_time.scheduled] == [entered + timedelta(hours=24)]
    late = engine.handle(event, storage, entered + timedelta(hours=30), PendingJobs())
    assert late.scheduled == ()
    assert len(late.effects) == 1  # the host was down: the rule runs as soon as it hears
