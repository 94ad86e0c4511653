"""Focus time (F2): which instants lift an item, and which do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest

from _build_focus import (
    MONDAY,
    WARSAW,
    comment,
    incoming_call,
    item,
    message,
    portal,
    todo,
)
from crmcounters import (
    Activity,
    FocusReason,
    IncomingChannel,
    NaiveDatetimeError,
    Settings,
    UnknownIdError,
    ValidationError,
    focus_sources,
    focus_time,
    focus_timeline,
    order_by_focus,
    reminder_offsets,
    reschedule,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_f2_a_new_item_has_its_creation_as_focus_time() -> None:
    storage = portal()
    storage.add(item("d1", created=MONDAY))
    assert focus_time(storage, "d1", MONDAY + timedelta(hours=5)) == MONDAY


def test_f2_focus_time_is_returned_in_utc_and_equals_the_local_instant() -> None:
    storage = portal()
    storage.add(item("d1", created=MONDAY))
    result = focus_time(storage, "d1", MONDAY)
    assert result.tzinfo is UTC
    assert result == MONDAY


def test_f2_seed_rises_15_minutes_before_the_deadline_and_again_at_the_deadline() -> None:
    """Seed 002: focus fires 15 minutes before the deadline and at the moment itself."""
    storage = portal()
    deadline = MONDAY + timedelta(hours=4)
    created = MONDAY - timedelta(days=2)
    storage.add(item("d1", created=created), todo("a1", "d1", deadline=deadline))
    assert focus_time(storage, "d1", deadline - 16 * MINUTE) == created
    assert focus_time(storage, "d1", deadline - 15 * MINUTE) == deadline - 15 * MINUTE
    assert focus_time(storage, "d1", deadline - MINUTE) == deadline - 15 * MINUTE
    assert focus_time(storage, "d1", deadline) == deadline
    assert focus_time(storage, "d1", deadline + timedelta(days=9)) == deadline


def test_f2_seed_comment_by_the_responsible_does_not_move_the_item() -> None:
    storage = portal()
    storage.add(item("d1", responsible="anna"))
    before = focus_time(storage, "d1", MONDAY)
    storage.add(comment("c1", "d1", MONDAY - timedelta(hours=1), author="anna"))
    assert focus_time(storage, "d1", MONDAY) == before


def test_f2_seed_comment_by_a_colleague_lifts_the_item() -> None:
    storage = portal()
    storage.add(item("d1", responsible="anna"))
    storage.add(comment("c1", "d1", MONDAY - timedelta(hours=1), author="piotr"))
    assert focus_time(storage, "d1", MONDAY) == MONDAY - timedelta(hours=1)


def test_f2_comments_are_judged_against_the_current_responsible() -> None:
    """Decision: the item's responsible now decides whose comments are a colleague's."""
    storage = portal()
    storage.add(item("d1", responsible="anna"))
    storage.add(comment("c1", "d1", MONDAY - timedelta(hours=1), author="piotr"))
    storage.replace(item("d1", responsible="piotr"))
    assert focus_time(storage, "d1", MONDAY) == MONDAY - timedelta(days=30)


@pytest.mark.parametrize("channel", list(IncomingChannel))
def test_f2_each_incoming_channel_lifts_the_item(channel: IncomingChannel) -> None:
    storage = portal()
    storage.add(item("d1"), message("m1", "d1", MONDAY - MINUTE, channel=channel))
    assert focus_time(storage, "d1", MONDAY) == MONDAY - MINUTE


def test_f2_an_incoming_call_activity_is_an_incoming_event() -> None:
    storage = portal()
    storage.add(item("d1"), incoming_call("a1", "d1", MONDAY - MINUTE))
    assert focus_time(storage, "d1", MONDAY) == MONDAY - MINUTE
    (source,) = [s for s in focus_sources(storage, "d1") if s.activity_id == "a1"]
    assert source.reason is FocusReason.INCOMING_ACTIVITY


def test_f2_a_processed_incoming_call_still_counts_but_an_outgoing_one_does_not() -> None:
    storage = portal()
    outgoing = attrs.evolve(
        incoming_call("a2", "d2", MONDAY - MINUTE, flag=False), direction="outgoing"
    )
    storage.add(item("d1"), item("d2"), incoming_call("a1", "d1", MONDAY - MINUTE, flag=False))
    storage.add(outgoing)
    assert focus_time(storage, "d1", MONDAY) == MONDAY - MINUTE
    assert focus_time(storage, "d2", MONDAY) == MONDAY - timedelta(days=30)


def test_f2_instants_in_the_future_do_not_count_yet() -> None:
    storage = portal()
    storage.add(
        item("d1"),
        message("m1", "d1", MONDAY + MINUTE),
        comment("c1", "d1", MONDAY + MINUTE, author="piotr"),
    )
    assert focus_time(storage, "d1", MONDAY) == MONDAY - timedelta(days=30)
    assert focus_time(storage, "d1", MONDAY + MINUTE) == MONDAY + MINUTE


def test_f2_completing_an_activity_does_not_push_the_item_down() -> None:
    storage = portal()
    deadline = MONDAY - timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    before = focus_time(storage, "d1", MONDAY)
    assert before == deadline
    storage.replace(todo("a1", "d1", deadline=deadline, completed=MONDAY))
    assert focus_time(storage, "d1", MONDAY) == before
    assert focus_time(storage, "d1", MONDAY + timedelta(days=3)) == before


def test_f2_reminders_after_completion_never_fire() -> None:
    """An activity done early: its reminders were never reached while it was open."""
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline, completed=MONDAY))
    assert focus_time(storage, "d1", deadline + timedelta(hours=1)) == MONDAY - timedelta(days=30)


def test_f2_a_reminder_reached_before_completion_keeps_counting() -> None:
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    completed = deadline - 5 * MINUTE  # after the 15-minute reminder, before the deadline
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline, completed=completed))
    assert focus_time(storage, "d1", deadline + timedelta(hours=1)) == deadline - 15 * MINUTE


def test_f2_an_activity_without_a_deadline_never_lifts_the_item() -> None:
    storage = portal()
    storage.add(item("d1"), todo("a1", "d1", deadline=None))
    assert focus_sources(storage, "d1")[-1].reason is FocusReason.CREATED


def test_f2_global_offsets_are_adjustable_and_keep_the_deadline() -> None:
    """Decision: like an activity's own offsets, the portal's always include the deadline."""
    settings = Settings(focus_reminder_offsets=(60,))
    assert settings.focus_reminder_offsets == (60, 0)
    storage = portal(settings)
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    assert focus_timeline(storage, "d1").instants == (deadline - 60 * MINUTE, deadline)


def test_f2_per_activity_offsets_replace_the_defaults_and_keep_the_deadline() -> None:
    """Decision: an activity's own offsets, plus the deadline itself (offset 0)."""
    storage = portal()
    deadline = MONDAY + timedelta(hours=3)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline, offsets=(120,)))
    assert focus_timeline(storage, "d1").instants == (deadline - 120 * MINUTE, deadline)
    assert reminder_offsets(storage.activity("a1"), (15, 0)) == (120, 0)


def test_f2_an_activity_with_empty_offsets_reminds_at_its_deadline_only() -> None:
    storage = portal()
    deadline = MONDAY + timedelta(hours=3)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline, offsets=()))
    assert focus_timeline(storage, "d1").instants == (deadline,)


def test_f2_an_activity_bound_to_two_items_lifts_both() -> None:
    storage = portal()
    deadline = MONDAY - MINUTE
    storage.add(item("d1"), item("d2"), todo("a1", "d1", "d2", deadline=deadline))
    assert focus_time(storage, "d1", MONDAY) == deadline
    assert focus_time(storage, "d2", MONDAY) == deadline


def test_f2_an_item_created_after_now_keeps_its_creation_as_focus_time() -> None:
    """Decision: an item is never older than its creation, even seen from before it."""
    storage = portal()
    storage.add(item("d1", created=MONDAY + timedelta(hours=1)))
    assert focus_time(storage, "d1", MONDAY) == MONDAY + timedelta(hours=1)


def test_f2_the_latest_of_all_sources_wins() -> None:
    storage = portal()
    storage.add(
        item("d1"),
        todo("a1", "d1", deadline=MONDAY - timedelta(hours=3)),
        message("m1", "d1", MONDAY - timedelta(hours=2)),
        comment("c1", "d1", MONDAY - timedelta(hours=1), author="piotr"),
    )
    assert focus_time(storage, "d1", MONDAY) == MONDAY - timedelta(hours=1)


# -- time zones and DST (G4, X3) -------------------------------------------------


def test_f2_offsets_are_durations_across_the_autumn_dst_change() -> None:
    """Deadline 02:05 CET on 2026-10-25, the second pass through 02:xx in Warsaw.

    Fifteen minutes earlier is 02:50 CEST (the first pass), 00:50 UTC — not
    01:50 local, which naive wall-clock arithmetic would give (an hour too early).
    """
    storage = portal()
    deadline = datetime(2026, 10, 25, 2, 5, fold=1, tzinfo=WARSAW)
    assert deadline.utcoffset() == timedelta(hours=1)
    storage.add(
        item("d1", created=deadline - timedelta(days=5)), todo("a1", "d1", deadline=deadline)
    )
    reminder = datetime(2026, 10, 25, 0, 50, tzinfo=UTC)
    # PEP 495: == across zones is False for an ambiguous (fold) time, so compare in UTC.
    assert focus_timeline(storage, "d1").instants == (reminder, deadline.astimezone(UTC))
    assert focus_time(storage, "d1", reminder - timedelta(seconds=1)) < reminder
    assert focus_time(storage, "d1", reminder) == reminder


def test_f2_offsets_are_durations_across_the_spring_dst_change() -> None:
    """Deadline 03:10 CEST on 2026-03-29: fifteen minutes before is 01:55 CET (00:55 UTC)."""
    storage = portal()
    deadline = datetime(2026, 3, 29, 3, 10, tzinfo=WARSAW)
    storage.add(
        item("d1", created=deadline - timedelta(days=5)), todo("a1", "d1", deadline=deadline)
    )
    assert focus_timeline(storage, "d1").instants[0] == datetime(2026, 3, 29, 0, 55, tzinfo=UTC)


def test_x3_items_of_honolulu_and_kiritimati_users_compare_by_instant() -> None:
    """UTC-10 and UTC+14 are 24 hours apart on the wall clock: focus compares instants.

    Tama's client writes at 09:00 Tuesday in Kiritimati (19:00 UTC Monday);
    Keala's client writes at 10:00 Monday in Honolulu (20:00 UTC Monday): Keala's
    item is newer although its local date is a day earlier.
    """
    storage = portal()
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    honolulu = ZoneInfo("Pacific/Honolulu")
    tama_at = datetime(2026, 12, 15, 9, 0, tzinfo=kiritimati)
    keala_at = datetime(2026, 12, 14, 10, 0, tzinfo=honolulu)
    storage.add(
        item("d-tama", responsible="tama"),
        item("d-keala", responsible="keala"),
        message("m1", "d-tama", tama_at),
        message("m2", "d-keala", keala_at),
    )
    now = datetime(2026, 12, 14, 21, 0, tzinfo=UTC)
    assert focus_time(storage, "d-tama", now) == datetime(2026, 12, 14, 19, 0, tzinfo=UTC)
    assert order_by_focus(storage, ["d-tama", "d-keala"], now).item_ids == ("d-keala", "d-tama")


def test_x3_a_honolulu_deadline_reminds_at_the_same_instant_whatever_the_viewer() -> None:
    storage = portal()
    deadline = datetime(2026, 12, 14, 23, 30, tzinfo=ZoneInfo("Pacific/Honolulu"))
    storage.add(item("d1", responsible="keala"), todo("a1", "d1", deadline=deadline))
    kiritimati_now = (deadline - 15 * MINUTE).astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert focus_time(storage, "d1", kiritimati_now) == deadline - 15 * MINUTE


# -- bad input (G2, G5) -------------------------------------------------------------


def test_g2_a_naive_now_is_refused() -> None:
    storage = portal()
    storage.add(item("d1"))
    with pytest.raises(NaiveDatetimeError, match="now"):
        focus_time(storage, "d1", datetime(2026, 12, 14, 10, 0))


def test_g5_an_unknown_item_is_an_error() -> None:
    with pytest.raises(UnknownIdError, match="nope"):
        focus_time(portal(), "nope", MONDAY)


# -- F2: a reschedule keeps the reminders already reached -------------------------


def test_f2_postponing_an_activity_does_not_lower_the_focus_time() -> None:
    """F2: "focus time never decreases"; `reschedule` keeps the latest reminder reached."""
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    moved_at = deadline + MINUTE  # both reminders (15 and 0 minutes) have fired
    before = focus_time(storage, "d1", moved_at)
    assert before == deadline
    postponed = reschedule(storage.activity("a1"), deadline + timedelta(days=30), moved_at)
    assert postponed.reminded_at == deadline
    storage.replace(postponed)
    assert focus_time(storage, "d1", moved_at) == before
    assert focus_sources(storage, "d1")[1].reason is FocusReason.EARLIER_REMINDER
    # The new deadline lifts the item again when its own reminders come.
    new_deadline = deadline + timedelta(days=30)
    assert focus_time(storage, "d1", new_deadline) == new_deadline


def test_f2_a_replace_without_reschedule_loses_the_earlier_reminders() -> None:
    """Why `reschedule` exists: a bare deadline change forgets what was reached."""
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    storage.replace(attrs.evolve(storage.activity("a1"), deadline=deadline + timedelta(days=30)))
    assert focus_time(storage, "d1", deadline + MINUTE) == MONDAY - timedelta(days=30)


def test_f2_reschedule_before_any_reminder_keeps_nothing() -> None:
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    early = reschedule(storage.activity("a1"), deadline + HOUR, deadline - 16 * MINUTE)
    assert early.reminded_at is None
    # Only the 15-minute reminder was reached: it is kept, not the future deadline.
    once = reschedule(storage.activity("a1"), deadline + HOUR, deadline - 10 * MINUTE)
    assert once.reminded_at == deadline - 15 * MINUTE


def test_f2_rescheduling_twice_keeps_the_latest_reminder_reached() -> None:
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    first = reschedule(storage.activity("a1"), deadline + HOUR, deadline + MINUTE)
    # Moved again before the new deadline's reminders: the first reach stays.
    second = reschedule(first, deadline + 2 * HOUR, deadline + 30 * MINUTE)
    assert second.reminded_at == deadline
    # Moved after the second deadline's reminder: the later one wins.
    third = reschedule(second, None, deadline + 2 * HOUR - 10 * MINUTE)
    assert third.reminded_at == deadline + 2 * HOUR - 15 * MINUTE
    assert third.deadline is None


def test_f2_reschedule_uses_the_portal_offsets_given() -> None:
    storage = portal()
    deadline = MONDAY + timedelta(hours=2)
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    moved = reschedule(storage.activity("a1"), None, deadline - 50 * MINUTE, (60,))
    assert moved.reminded_at == deadline - 60 * MINUTE


def test_f2_a_dst_reschedule_keeps_the_utc_instant() -> None:
    """Reminders are durations before the deadline, in UTC, across Warsaw's autumn change."""
    storage = portal()
    deadline = datetime(2026, 10, 25, 2, 30, tzinfo=WARSAW, fold=1)  # the second 02:30
    storage.add(item("d1"), todo("a1", "d1", deadline=deadline))
    moved = reschedule(storage.activity("a1"), None, deadline.astimezone(UTC) + MINUTE)
    assert moved.reminded_at == deadline.astimezone(UTC)


@pytest.mark.parametrize(
    ("activity", "deadline", "now", "field"),
    [
        ("not an activity", None, MONDAY, "activity"),
        (None, MONDAY.replace(tzinfo=None), MONDAY, "deadline"),
        (None, None, MONDAY.replace(tzinfo=None), "now"),
    ],
)
def test_f2_reschedule_refuses_bad_input(
    activity: object, deadline: datetime | None, now: datetime, field: str
) -> None:
    chosen = activity if activity is not None else todo("a1", "d1", deadline=MONDAY)
    with pytest.raises((ValidationError, NaiveDatetimeError)) as raised:
        reschedule(chosen, deadline, now)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_f2_only_open_planned_activities_are_rescheduled() -> None:
    done = todo("a1", "d1", deadline=MONDAY, completed=MONDAY)
    with pytest.raises(ValidationError, match="only an open activity"):
        reschedule(done, MONDAY + HOUR, MONDAY)
    with pytest.raises(ValidationError, match="no deadline to move"):
        reschedule(incoming_call("c1", "d1", MONDAY), MONDAY + HOUR, MONDAY)


def test_g5_a_reminded_at_at_the_edge_of_the_datetime_range_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        Activity(
            id="a1",
            item_ids=["d1"],
            kind="todo",
            responsible_id="anna",
            created_at=MONDAY,
            reminded_at=datetime.max.replace(tzinfo=UTC),
        )
    assert raised.value.field == "reminded_at"
