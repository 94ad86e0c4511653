"""Counters (SPEC section 2, C1-C9): every rule by number, with the seeds' own examples."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest

from _build_counters import (
    CREATED,
    MONDAY,
    UTC,
    WARSAW,
    complete,
    incoming,
    item,
    minutes,
    planned,
    portal,
)
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    Activity,
    ActivityKind,
    CounterIndex,
    CounterMode,
    CounterResult,
    Department,
    Direction,
    InMemoryStorage,
    NaiveDatetimeError,
    Settings,
    UnknownIdError,
    ValidationError,
    counters_of,
    is_at_cap,
    open_activity_count,
    over_cap,
    summed_counters,
)
from crmcounters._counters import lit_at

ALICE = ("alice", "Europe/Warsaw")
BOB = ("bob", "Europe/Warsaw")


def test_c1_there_are_exactly_two_counters_incoming_and_planned() -> None:
    """C1: Incoming and Planned; an item without activities adds to neither."""
    storage = portal(ALICE)
    item(storage, "alice")  # no activities: a view column (V1), not a counter
    result = counters_of(storage, "alice", MONDAY)
    assert (result.incoming, result.planned, result.items) == (0, 0, 0)
    counter_fields = {f.name for f in attrs.fields(CounterResult)}
    assert not any("without" in name for name in counter_fields)


def test_c2_counts_the_items_responsible_not_the_activitys() -> None:
    """C2: Bob's activity on Alice's deal counts for Alice, not Bob."""
    storage = portal(ALICE, BOB)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY - minutes(60), responsible="bob")
    assert counters_of(storage, "alice", MONDAY).planned == 1
    assert counters_of(storage, "bob", MONDAY).planned == 0


def test_c2_activity_responsible_mode_counts_the_activitys_responsible() -> None:
    """C2: the counter-mode setting switches to the activity's own responsible."""
    storage = portal(ALICE, BOB, settings=Settings(counter_mode=CounterMode.ACTIVITY_RESPONSIBLE))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY - minutes(60), responsible="bob")
    assert counters_of(storage, "alice", MONDAY).planned == 0
    assert counters_of(storage, "bob", MONDAY).planned == 1


def test_c2_an_activity_bound_to_two_items_counts_once_per_item() -> None:
    """C2: one activity on two of Alice's deals counts twice, over two items."""
    storage = portal(ALICE)
    first, second = item(storage, "alice"), item(storage, "alice")
    planned(storage, (first, second), MONDAY - minutes(1))
    result = counters_of(storage, "alice", MONDAY)
    assert (result.planned, result.planned_items) == (2, 2)


def test_c2_an_activity_on_items_of_two_users_counts_for_each_owner() -> None:
    """C2: bound to Alice's and Bob's deals, it counts once for each of them."""
    storage = portal(ALICE, BOB)
    planned(storage, (item(storage, "alice"), item(storage, "bob")), MONDAY - minutes(1))
    assert counters_of(storage, "alice", MONDAY).planned == 1
    assert counters_of(storage, "bob", MONDAY).planned == 1


@pytest.mark.parametrize(
    "kind",
    [
        ActivityKind.CALL,
        ActivityKind.EMAIL,
        ActivityKind.CHAT,
        ActivityKind.PAYMENT,
        ActivityKind.TASK_COMMENT,
    ],
)
def test_c3_incoming_counts_open_incoming_channel_activities(kind: ActivityKind) -> None:
    """C3: calls, e-mails, chat messages, order payments and task comments count in Incoming."""
    storage = portal(ALICE)
    incoming(storage, item(storage, "alice"), kind=kind)
    result = counters_of(storage, "alice", MONDAY)
    assert (result.incoming, result.incoming_items, result.planned) == (1, 1, 0)


def test_c3_a_processed_incoming_activity_stops_counting() -> None:
    """C3: Incoming counts open activities only."""
    storage = portal(ALICE)
    email = incoming(storage, item(storage, "alice"))
    complete(storage, email, MONDAY)
    assert counters_of(storage, "alice", MONDAY).incoming == 0


def test_c3_an_outgoing_call_without_the_flag_is_not_incoming() -> None:
    """C3: the incoming-channel flag decides, not the activity kind."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + timedelta(days=3))
    assert counters_of(storage, "alice", MONDAY).incoming == 0


def test_c4_seed_an_activity_14_minutes_before_its_deadline_is_lit() -> None:
    """C4 (seed 000): the default urgency offset is 15 minutes."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + minutes(14))
    assert counters_of(storage, "alice", MONDAY).planned == 1


def test_c4_seed_an_activity_16_minutes_before_its_deadline_is_not_lit() -> None:
    """C4 (seed 000): 16 minutes before the deadline it does not count yet."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + minutes(16))
    result = counters_of(storage, "alice", MONDAY)
    assert result.planned == 0
    assert result.valid_until == MONDAY + minutes(1)


def test_c4_lights_exactly_at_deadline_minus_offset() -> None:
    """C4: lit from `deadline - offset` inclusive."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + minutes(15))
    assert counters_of(storage, "alice", MONDAY).planned == 1
    assert counters_of(storage, "alice", MONDAY - timedelta(microseconds=1)).planned == 0


def test_c4_the_offset_is_adjustable_globally() -> None:
    """C4: Settings.urgency_offset_minutes = 60 lights an hour ahead."""
    storage = portal(ALICE, settings=Settings(urgency_offset_minutes=60))
    planned(storage, item(storage, "alice"), MONDAY + minutes(59))
    assert counters_of(storage, "alice", MONDAY).planned == 1


def test_c4_the_offset_is_adjustable_per_activity_and_the_largest_lights() -> None:
    """C4: an activity with reminders (0, 120) lights two hours ahead."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(119), offsets=(0, 120))
    planned(storage, deal, MONDAY + minutes(1), offsets=(0,))  # lights only at the deadline
    result = counters_of(storage, "alice", MONDAY)
    assert result.planned == 1
    assert result.valid_until == MONDAY + minutes(1)


def test_c4_an_overdue_activity_stays_counted_until_completed() -> None:
    """C4: overdue activities stay lit; completing one stops it."""
    storage = portal(ALICE)
    call = planned(storage, item(storage, "alice"), MONDAY - timedelta(days=30))
    assert counters_of(storage, "alice", MONDAY).planned == 1
    complete(storage, call, MONDAY)
    assert counters_of(storage, "alice", MONDAY).planned == 0


def test_c4_an_activity_without_a_deadline_never_lights() -> None:
    """C4: no deadline, no Planned, no valid_until."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), None)
    result = counters_of(storage, "alice", MONDAY + timedelta(days=10_000))
    assert (result.planned, result.valid_until) == (0, None)


def test_c4_g4_lights_15_real_minutes_before_a_deadline_after_spring_forward() -> None:
    """C4, G4: due 03:05 CEST on 2026-03-29 (01:05 UTC): lit at 00:50 UTC, not an hour late."""
    storage = portal(ALICE)
    deadline = datetime(2026, 3, 29, 3, 5, tzinfo=WARSAW)
    planned(storage, item(storage, "alice"), deadline)
    lit = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
    assert counters_of(storage, "alice", lit).planned == 1
    assert counters_of(storage, "alice", lit - timedelta(seconds=1)).valid_until == lit
    assert storage.activities_of_item(storage.items_of("alice")[0].id)[0].lit_at() == lit


def test_c4_g4_lights_15_real_minutes_before_a_deadline_in_the_repeated_hour() -> None:
    """C4, G4: due at the second 02:10 of 2026-10-25 (CET): lit at 00:55 UTC, not 23:55."""
    storage = portal(ALICE)
    deadline = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=WARSAW)
    assert deadline.astimezone(UTC) == datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    planned(storage, item(storage, "alice"), deadline)
    lit = datetime(2026, 10, 25, 0, 55, tzinfo=UTC)
    assert counters_of(storage, "alice", lit - timedelta(seconds=1)).planned == 0
    assert counters_of(storage, "alice", lit).planned == 1


def test_c4_lit_at_agrees_with_activity_lit_at() -> None:
    """C4: the calculator's fast lit time is `Activity.lit_at`."""
    for offsets in (None, (), (0,), (30, 0), (1440,)):
        activity = Activity(
            id="a",
            item_ids=("d",),
            kind=ActivityKind.MEETING,
            direction=Direction.NONE,
            responsible_id="u",
            created_at=CREATED,
            deadline=MONDAY,
            reminder_offsets=offsets,
        )
        assert lit_at(activity, timedelta(minutes=20)) == activity.lit_at(20)


def test_g5_a_deadline_before_the_datetime_range_in_utc_never_reaches_the_calculator() -> None:
    """G5, C4: a deadline whose UTC instant falls before year 1 (UTC+14) is refused up front.

    The calculator then needs no fallback for activities without a UTC deadline.
    """
    storage = portal(ALICE)
    deal = item(storage, "alice")
    earliest = datetime.min.replace(tzinfo=ZoneInfo("Pacific/Kiritimati"))
    with pytest.raises(ValidationError, match="deadline"):
        planned(storage, deal, earliest)
    assert counters_of(storage, "alice", MONDAY).planned == 0


def test_c5_seed_three_deals_with_two_lit_activities_each_give_planned_6() -> None:
    """C5 (seed 000): activities, not items: 3 deals x 2 lit activities = 6, over 3 items."""
    storage = portal(ALICE)
    for _ in range(3):
        deal = item(storage, "alice")
        planned(storage, deal, MONDAY - timedelta(days=1))
        planned(storage, deal, MONDAY + minutes(5))
    result = counters_of(storage, "alice", MONDAY)
    assert (result.planned, result.planned_items, result.items) == (6, 3, 3)


def test_c5_items_counts_distinct_items_behind_either_counter() -> None:
    """C5: one deal with an incoming and a lit activity is one item."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    incoming(storage, deal)
    planned(storage, deal, MONDAY)
    result = counters_of(storage, "alice", MONDAY)
    assert (result.incoming, result.planned, result.items, result.total) == (1, 1, 1, 2)


def _team() -> tuple[Department, ...]:
    return (
        Department(id="d-root", name="Company", head_id="ceo"),
        Department(id="d-sales", name="Sales", head_id="head", parent_id="d-root"),
        Department(id="d-east", name="Sales East", head_id=None, parent_id="d-sales"),
        Department(id="d-it", name="IT", parent_id="d-root"),
    )


def _team_portal() -> InMemoryStorage:
    storage = portal(
        ("ceo", "Europe/Warsaw", "d-root"),
        ("head", "Europe/Warsaw", "d-sales"),
        ("seller", "Europe/Warsaw", "d-sales"),
        ("east", "Asia/Tokyo", "d-east"),
        ("admin", "Europe/Warsaw", "d-it"),
        ("loner", "UTC", None),
        departments=_team(),
    )
    for user in ("ceo", "head", "seller", "east", "admin", "loner"):
        planned(storage, item(storage, user), MONDAY - minutes(1))
    return storage


@pytest.mark.parametrize(
    ("level", "visible"),
    [
        (AccessLevel.NONE, set()),
        (AccessLevel.OWN, {"head"}),
        (AccessLevel.DEPARTMENT, {"head", "seller"}),
        (AccessLevel.SUBDEPARTMENTS, {"head", "seller", "east"}),
        (AccessLevel.ALL, {"ceo", "head", "seller", "east", "admin", "loner"}),
    ],
)
def test_c7_each_access_level_reaches_its_part_of_the_department_tree(
    level: AccessLevel, visible: set[str]
) -> None:
    """C7: none, own, own + department, + sub-departments, all."""
    storage = _team_portal()
    policy = AccessPolicy(levels={"head": level})
    assert set(policy.visible_users(storage, "head")) == visible
    for user in ("ceo", "head", "seller", "east", "admin", "loner"):
        if user in visible:
            assert counters_of(storage, user, MONDAY, viewer_id="head", policy=policy).planned == 1
        else:
            with pytest.raises(AccessDeniedError, match="C7"):
                counters_of(storage, user, MONDAY, viewer_id="head", policy=policy)


def test_c7_a_department_reaches_the_departments_the_viewer_heads() -> None:
    """C7: the CEO heads the root department: DEPARTMENT reaches its members only."""
    storage = _team_portal()
    policy = AccessPolicy(default=AccessLevel.DEPARTMENT)
    assert set(policy.visible_users(storage, "ceo")) == {"ceo"}
    policy = AccessPolicy(default=AccessLevel.SUBDEPARTMENTS)
    assert set(policy.visible_users(storage, "ceo")) == {"ceo", "head", "seller", "east", "admin"}


def test_c7_by_default_everyone_reads_only_their_own_counters() -> None:
    """C7: without a policy, another user's counters are refused, never zero."""
    storage = _team_portal()
    assert counters_of(storage, "seller", MONDAY).planned == 1
    with pytest.raises(AccessDeniedError):
        counters_of(storage, "seller", MONDAY, viewer_id="head")


def test_c7_summed_counters_of_every_visible_user() -> None:
    """C7: a head sums the counters of the users the policy lets them see."""
    storage = _team_portal()
    policy = AccessPolicy(levels={"head": AccessLevel.SUBDEPARTMENTS})
    summed = summed_counters(storage, MONDAY, viewer_id="head", policy=policy)
    assert set(summed.user_ids) == {"head", "seller", "east"}
    assert (summed.planned, summed.planned_items, summed.incoming) == (3, 3, 0)


def test_c7_summed_counters_refuse_the_whole_call_when_one_user_is_hidden() -> None:
    """C7: naming a user out of reach raises; it never drops them silently."""
    storage = _team_portal()
    policy = AccessPolicy(levels={"head": AccessLevel.DEPARTMENT})
    with pytest.raises(AccessDeniedError, match="east"):
        summed_counters(
            storage, MONDAY, viewer_id="head", user_ids=["seller", "east"], policy=policy
        )
    with pytest.raises(ValidationError):
        summed_counters(storage, MONDAY, viewer_id="head", user_ids="seller", policy=policy)


def test_c7_level_none_refuses_even_the_viewers_own_counters() -> None:
    """C7: `none` means no access to CRM items at all."""
    storage = _team_portal()
    with pytest.raises(AccessDeniedError):
        counters_of(storage, "head", MONDAY, policy=AccessPolicy(default=AccessLevel.NONE))


def test_c7_summed_counters_of_a_viewer_who_may_see_nobody_are_refused_not_zero() -> None:
    """C7: level `none` over every user is an access error, never an empty zero sum."""
    storage = _team_portal()
    nobody = AccessPolicy(default=AccessLevel.NONE)
    with pytest.raises(AccessDeniedError, match=r"'head'.*'none'.*C7"):
        summed_counters(storage, MONDAY, viewer_id="head", policy=nobody)
    with pytest.raises(AccessDeniedError):
        summed_counters(storage, MONDAY, viewer_id="head", user_ids=["head"], policy=nobody)
    with pytest.raises(UnknownIdError):  # an unknown viewer is not "denied"
        summed_counters(storage, MONDAY, viewer_id="ghost", policy=nobody)


def test_c7_unknown_levels_and_users_are_errors() -> None:
    """C7, G5: a bad level is refused at construction; an unknown viewer is not 'denied'."""
    with pytest.raises(ValidationError, match="unknown access level"):
        AccessPolicy(levels={"head": "boss"})  # type: ignore[dict-item]
    storage = _team_portal()
    with pytest.raises(UnknownIdError):
        counters_of(storage, "seller", MONDAY, viewer_id="ghost")


def test_c8_seed_a_user_at_50001_open_activities_is_blocked() -> None:
    """C8 (seed): 50,001 open activities exceed the default cap of 50,000."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    storage.add_all(
        Activity(
            id=f"bulk-{n}",
            item_ids=(deal,),
            kind=ActivityKind.TODO,
            responsible_id="alice",
            created_at=CREATED,
            deadline=MONDAY - minutes(1),
        )
        for n in range(50_000)
    )
    at_cap = counters_of(storage, "alice", MONDAY)
    assert (at_cap.blocked, at_cap.planned, at_cap.open_activities) == (False, 50_000, 50_000)
    planned(storage, deal, MONDAY)
    result = counters_of(storage, "alice", MONDAY)
    assert result.blocked
    assert (result.open_activities, result.cap) == (50_001, 50_000)
    assert (result.incoming, result.planned, result.items, result.total) == (None,) * 4


def test_c8_the_cap_is_adjustable_and_unblocks_when_activities_are_completed() -> None:
    """C8: cap 2; a third open activity blocks; completing one unblocks."""
    storage = portal(ALICE, settings=Settings(open_activity_cap=2))
    deal = item(storage, "alice")
    first = planned(storage, deal, MONDAY)
    planned(storage, deal, None)
    incoming(storage, deal)
    assert counters_of(storage, "alice", MONDAY).blocked
    assert open_activity_count(storage, "alice") == 3
    assert is_at_cap(storage, "alice")
    complete(storage, first, MONDAY)
    result = counters_of(storage, "alice", MONDAY)
    assert not result.blocked
    assert (result.incoming, result.planned, result.open_activities) == (1, 0, 2)


def test_c8_blocked_counts_use_the_one_shared_definition_of_open_activities() -> None:
    """C8: the calculator's open-activity count is `open_activity_count` in both modes."""
    for mode in CounterMode:
        storage = portal(ALICE, BOB, settings=Settings(counter_mode=mode))
        planned(storage, (item(storage, "alice"), item(storage, "alice")), None, responsible="bob")
        for user in ("alice", "bob"):
            result = counters_of(storage, user, MONDAY, policy=AccessPolicy())
            assert result.open_activities == open_activity_count(storage, user)
    assert over_cap(3, 2)
    assert not over_cap(2, 2)


@pytest.mark.parametrize("mode", list(CounterMode))
def test_c8_an_open_activity_counts_once_toward_the_cap_in_both_modes(mode: CounterMode) -> None:
    """C8: one open activity bound to two of Alice's items counts once, whatever the mode.

    Cap 2: two activities, one of them bound to both deals, keep Alice at the cap
    (3 activity-item pairs, 2 activities), so she is not blocked in either mode;
    a third blocks her in both.
    """
    storage = portal(ALICE, settings=Settings(counter_mode=mode, open_activity_cap=2))
    first, second = item(storage, "alice"), item(storage, "alice")
    planned(storage, (first, second), MONDAY)
    planned(storage, first, MONDAY)
    result = counters_of(storage, "alice", MONDAY)
    assert open_activity_count(storage, "alice") == 2
    assert (result.blocked, result.open_activities, result.planned) == (False, 2, 3)  # C2, C5
    assert CounterIndex.build(storage, MONDAY).counters("alice") == result
    planned(storage, second, MONDAY)
    assert open_activity_count(storage, "alice") == 3
    assert counters_of(storage, "alice", MONDAY).blocked
    assert CounterIndex.build(storage, MONDAY).counters("alice").blocked


def test_c8_an_activity_on_two_users_items_counts_once_for_each() -> None:
    """C8: bound to an item of Alice's and one of Bob's, it counts once toward each cap."""
    storage = portal(ALICE, BOB)
    planned(storage, (item(storage, "alice"), item(storage, "bob")), None)
    assert (open_activity_count(storage, "alice"), open_activity_count(storage, "bob")) == (1, 1)


def test_c9_valid_until_is_the_next_lighting_and_the_answer_changes_there() -> None:
    """C9: counters change with time alone; valid_until says exactly when."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(45))
    planned(storage, deal, MONDAY + minutes(90))
    first = counters_of(storage, "alice", MONDAY)
    assert (first.planned, first.valid_until) == (0, MONDAY + minutes(30))
    just_before = counters_of(storage, "alice", MONDAY + minutes(30) - timedelta(microseconds=1))
    assert just_before.planned == 0
    at = counters_of(storage, "alice", MONDAY + minutes(30))
    assert (at.planned, at.valid_until) == (1, MONDAY + minutes(75))
    last = counters_of(storage, "alice", MONDAY + minutes(75))
    assert (last.planned, last.valid_until) == (2, None)


def test_c9_a_blocked_result_does_not_change_with_time() -> None:
    """C8, C9: blocked users have no numbers, so no valid_until."""
    storage = portal(ALICE, settings=Settings(open_activity_cap=1))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(45))
    planned(storage, deal, MONDAY + minutes(90))
    assert counters_of(storage, "alice", MONDAY).valid_until is None


def test_x2_the_same_call_at_another_instant_answers_for_that_instant() -> None:
    """X2: time travel: yesterday's answer and tomorrow's from the same data."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + timedelta(days=1))
    assert counters_of(storage, "alice", MONDAY).planned == 0
    assert counters_of(storage, "alice", MONDAY + timedelta(days=2)).planned == 1


def test_g2_a_naive_now_is_refused() -> None:
    """G2: `now` must be aware."""
    storage = portal(ALICE)
    with pytest.raises(NaiveDatetimeError, match="now"):
        counters_of(storage, "alice", datetime(2026, 12, 14, 10, 0))


def test_g5_an_unknown_user_is_an_error_not_zero() -> None:
    """G5: counters of a user who does not exist raise."""
    storage = portal(ALICE)
    with pytest.raises(UnknownIdError, match="ghost"):
        counters_of(storage, "ghost", MONDAY)
