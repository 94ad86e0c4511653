"""`CounterIndex` (C1-C9 at scale): per-change updates agree with a full recomputation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from _build_counters import MONDAY, UTC, incoming, item, minutes, planned, portal
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    Activity,
    ActivityKind,
    CounterIndex,
    CounterMode,
    DanglingReferenceError,
    InMemoryStorage,
    Pipeline,
    PlannedRule,
    Settings,
    Stage,
    UnknownIdError,
    ValidationError,
    counters_of,
    summed_counters,
)
from crmcounters._calendar import day_start

SEE_ALL = AccessPolicy(default=AccessLevel.ALL)


def test_c9_advancing_the_clock_lights_activities_through_the_heap() -> None:
    """C4, C9: the index lights an activity when its lit time is reached, not before."""
    storage = portal(("alice", "Europe/Warsaw"))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(45))
    index = CounterIndex.build(storage, MONDAY)
    assert (index.counters("alice").planned, index.counters("alice").valid_until) == (
        0,
        MONDAY + minutes(30),
    )
    index.advance_to(MONDAY + minutes(30) - timedelta(microseconds=1))
    assert index.counters("alice").planned == 0
    index.advance_to(MONDAY + minutes(30))
    assert index.counters("alice") == counters_of(storage, "alice", MONDAY + minutes(30))
    with pytest.raises(ValidationError, match="forward"):
        index.advance_to(MONDAY)


def test_c2_reassigning_an_item_moves_its_counts() -> None:
    """C2: a new responsible takes the item's activities to their counters."""
    storage = portal(("alice", "UTC"), ("bob", "UTC"))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY)
    planned(storage, deal, MONDAY + timedelta(days=1))
    incoming(storage, deal)
    index = CounterIndex.build(storage, MONDAY)
    moved = attrs.evolve(storage.item(deal), responsible_id="bob")
    storage.replace(moved)
    index.put_item(moved)
    for user in ("alice", "bob"):
        assert index.counters(user) == counters_of(storage, user, MONDAY)
    assert index.counters("bob").valid_until == MONDAY + timedelta(days=1) - minutes(15)


def test_g5_bad_changes_leave_the_index_unchanged() -> None:
    """G5: an activity on an unknown item, unknown ids to delete: errors, nothing changes."""
    storage = portal(("alice", "UTC"))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY)
    index = CounterIndex.build(storage, MONDAY)
    before = index.counters("alice")
    stray = Activity(
        id="stray",
        item_ids=(deal, "ghost"),
        kind=ActivityKind.CALL,
        responsible_id="alice",
        created_at=MONDAY,
    )
    with pytest.raises(DanglingReferenceError, match="ghost"):
        index.put_activity(stray)
    with pytest.raises(UnknownIdError):
        index.remove_activity("stray")
    with pytest.raises(UnknownIdError):
        index.remove_item("ghost")
    with pytest.raises(ValidationError):
        index.put_activity(storage.item(deal))  # type: ignore[arg-type]
    assert index.counters("alice") == before


def test_g5_removing_an_item_forgets_its_closed_activities_like_the_storage() -> None:
    """G5: after remove_item, a completed activity bound only to that item is unknown.

    One bound to another item too stays, and goes when that item goes.
    """
    storage = portal(("alice", "UTC"))
    deal, other = item(storage, "alice"), item(storage, "alice")
    only = planned(storage, deal, MONDAY)
    shared = planned(storage, (deal, other), MONDAY)
    for activity in (only, shared):
        storage.replace(attrs.evolve(activity, completed_at=MONDAY))
    index = CounterIndex.build(storage, MONDAY)
    storage.remove_item(deal)
    index.remove_item(deal)
    with pytest.raises(UnknownIdError):
        storage.remove_activity(only.id)
    with pytest.raises(UnknownIdError, match=only.id):
        index.remove_activity(only.id)
    storage.remove_item(other)
    index.remove_item(other)
    with pytest.raises(UnknownIdError, match=shared.id):
        index.remove_activity(shared.id)
    assert index.counters("alice") == counters_of(storage, "alice", MONDAY)


def test_g5_an_item_whose_responsible_is_unknown_is_refused_and_changes_nothing() -> None:
    """G5, C2: put_item refuses an unknown responsible like the storage, index unchanged."""
    storage = portal(("alice", "UTC"))
    deal = item(storage, "alice")
    call = planned(storage, deal, MONDAY)
    index = CounterIndex.build(storage, MONDAY)
    before = index.counters("alice")
    stray = attrs.evolve(storage.item(deal), responsible_id="ghost")
    with pytest.raises(DanglingReferenceError, match="ghost"):
        storage.replace(stray)
    with pytest.raises(DanglingReferenceError, match="ghost"):
        index.put_item(stray)
    with pytest.raises(DanglingReferenceError, match="ghost"):
        index.put_item(attrs.evolve(stray, id="new-deal"))
    assert index.counters("alice") == before
    with pytest.raises(DanglingReferenceError, match="new-deal"):  # not taken either
        index.put_activity(attrs.evolve(call, id="x", item_ids=("new-deal",)))


def test_c7_index_reads_follow_the_access_policy() -> None:
    """C7: the index refuses what the policy refuses, and sums what it allows."""
    storage = portal(("alice", "UTC"), ("bob", "UTC"))
    planned(storage, item(storage, "bob"), MONDAY)
    index = CounterIndex.build(storage, MONDAY)
    with pytest.raises(AccessDeniedError):
        index.counters("bob", viewer_id="alice")
    assert index.counters("bob", viewer_id="alice", policy=SEE_ALL).planned == 1
    summed = index.summed(viewer_id="alice", policy=SEE_ALL)
    assert summed == summed_counters(storage, MONDAY, viewer_id="alice", policy=SEE_ALL)
    with pytest.raises(UnknownIdError):
        index.counters("ghost")


def test_c7_index_sums_for_a_viewer_who_may_see_nobody_are_refused_not_zero() -> None:
    """C7: `CounterIndex.summed` refuses level `none` like `summed_counters`, never zero."""
    storage = portal(("alice", "UTC"), ("bob", "UTC"))
    planned(storage, item(storage, "bob"), MONDAY)
    index = CounterIndex.build(storage, MONDAY)
    nobody = AccessPolicy(default=AccessLevel.NONE)
    with pytest.raises(AccessDeniedError, match=r"'alice'.*'none'.*C7"):
        index.summed(viewer_id="alice", policy=nobody)
    with pytest.raises(AccessDeniedError):
        index.summed(viewer_id="alice", user_ids=["alice"], policy=nobody)


# -- the stateful proof -----------------------------------------------------------

_ZONES = [
    "Europe/Warsaw",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "Australia/Lord_Howe",
]
#: Saturday 2026-10-24 22:00 UTC: the night Warsaw (and the EU) falls back.
_START = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
_USERS = ("u0", "u1", "u2")
#: The sections items are added to or moved between (C10).
_SECTIONS: tuple[tuple[str, str | None], ...] = (
    ("deal", "p-deal"),
    ("deal", "p-vip"),
    ("lead", "p-lead"),
    ("contact", None),
)


def _next_offset_change(zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first instant after `after` at which `zone`'s UTC offset changes (DST), within a year."""
    before = after.astimezone(zone).utcoffset()
    low = after
    for _ in range(366):
        high = low + timedelta(days=1)
        if high.astimezone(zone).utcoffset() != before:
            while high - low > timedelta(seconds=1):  # zones change on whole seconds
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            return high.replace(microsecond=0)
        low = high
    return None


class _PerItemReads:
    """An InMemoryStorage read through the Storage protocol alone: `items_of`, then
    `open_activities_of_item` per item, without the per-user groups its writes keep."""

    def __init__(self, inner: InMemoryStorage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "_open_groups":
            raise AttributeError(name)
        return getattr(self._inner, name)


class CounterIndexMachine(RuleBasedStateMachine):
    """Random changes and clock advances; after every step the index equals recomputation.

    Counters do not depend on time zones: an activity lights at an instant
    (deadline - offset, in UTC, C4) and Planned compares instants only, so the
    index serves no answer in a user's zone (the Activities view, which does,
    is computed from storage). The zones still matter to what is checked:
    deadlines are written in the responsible's zone (some at local midnight,
    some in a repeated DST hour), and the clock lands on each user's local
    midnights and DST changes, and a microsecond before them, where a
    zone-dependent bug would show; there the index must still equal the
    full recomputation.
    """

    activities = Bundle("activities")
    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.storage = InMemoryStorage()
        self.index: CounterIndex | None = None
        self.now = _START
        self.serial = 0
        self.zones: dict[str, ZoneInfo] = {}

    def _next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:04d}"

    @initialize(
        target=items,
        mode=st.sampled_from(list(CounterMode)),
        rule=st.sampled_from(list(PlannedRule)),
        offset=st.sampled_from([0, 15, 60]),
        cap=st.sampled_from([3, 6, 50_000]),
        zones=st.lists(st.sampled_from(_ZONES), min_size=len(_USERS), max_size=len(_USERS)),
    )
    def setup(
        self, mode: CounterMode, rule: PlannedRule, offset: int, cap: int, zones: list[str]
    ) -> str:
        self.zones = {user: ZoneInfo(zone) for user, zone in zip(_USERS, zones, strict=True)}
        self.storage = portal(
            *zip(_USERS, zones, strict=True),
            settings=Settings(
                counter_mode=mode,
                planned_rule=rule,
                urgency_offset_minutes=offset,
                open_activity_cap=cap,
            ),
        )
        for et, pid in _SECTIONS:
            if pid is not None and pid != "p-deal":
                self.storage.add(
                    Pipeline(id=pid, entity_type=et, stages=(Stage(id="new", name="New"),))
                )
        first = item(self.storage, "u0", self._next_id("deal"))
        self.index = CounterIndex.build(self.storage, self.now)
        return first

    @property
    def _index(self) -> CounterIndex:
        assert self.index is not None
        return self.index

    @rule(target=items, owner=st.sampled_from(_USERS), section=st.sampled_from(_SECTIONS))
    def add_item(self, owner: str, section: tuple[str, str | None]) -> str:
        et, pid = section
        new = item(self.storage, owner, self._next_id("item"), entity_type=et, pipeline_id=pid)
        self._index.put_item(self.storage.item(new))
        return new

    @rule(deal=items, section=st.sampled_from(_SECTIONS))
    def move_item_to_another_section(self, deal: str, section: tuple[str, str | None]) -> None:
        """C10: a deal moves pipeline, or an item changes type (a lead becomes a deal, say)."""
        if deal not in {one.id for one in self.storage.items()}:
            return
        et, pid = section
        moved = attrs.evolve(
            self.storage.item(deal),
            entity_type=et,
            pipeline_id=pid,
            stage_id=None if pid is None else "new",
        )
        self.storage.replace(moved)
        self._index.put_item(moved)

    @rule(deal=items, owner=st.sampled_from(_USERS))
    def reassign_item(self, deal: str, owner: str) -> None:
        if deal not in {one.id for one in self.storage.items()}:
            return
        moved = attrs.evolve(self.storage.item(deal), responsible_id=owner)
        self.storage.replace(moved)
        self._index.put_item(moved)

    @precondition(lambda self: len(self.storage.items()) > 1)
    @rule(deal=consumes(items))
    def remove_item(self, deal: str) -> None:
        if deal not in {one.id for one in self.storage.items()}:
            return
        self.storage.remove_item(deal)
        self._index.remove_item(deal)

    @rule(
        target=activities,
        deals=st.lists(items, min_size=1, max_size=2),
        responsible=st.sampled_from(_USERS),
        is_incoming=st.booleans(),
        due_in=st.one_of(st.none(), st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60)),
        at_local_midnight=st.booleans(),
        offsets=st.one_of(st.none(), st.lists(st.sampled_from([0, 15, 30, 120, 1440]), max_size=2)),
    )
    def add_activity(
        self,
        deals: list[str],
        responsible: str,
        is_incoming: bool,
        due_in: int | None,
        at_local_midnight: bool,
        offsets: list[int] | None,
    ) -> str:
        known = {one.id for one in self.storage.items()}
        bound = tuple(dict.fromkeys(deal for deal in deals if deal in known))
        if not bound:
            return ""
        deadline = None
        if not is_incoming and due_in is not None:
            zone = self.zones[responsible]  # written in the responsible's zone (X3)
            deadline = (self.now + minutes(due_in)).astimezone(zone)
            if at_local_midnight:
                deadline = day_start(deadline.date(), zone)
        activity = Activity(
            id=self._next_id("act"),
            item_ids=bound,
            kind=ActivityKind.EMAIL if is_incoming else ActivityKind.CALL,
            responsible_id=responsible,
            created_at=_START,
            incoming=is_incoming,
            deadline=deadline,
            reminder_offsets=None if offsets is None else tuple(offsets),
        )
        self.storage.add(activity)
        self._index.put_activity(activity)
        return activity.id

    def _stored(self, activity_id: str) -> Activity | None:
        try:
            return self.storage.activity(activity_id)
        except UnknownIdError:
            return None

    @rule(activity_id=activities)
    def complete_activity(self, activity_id: str) -> None:
        activity = self._stored(activity_id)
        if activity is None or not activity.is_open:
            return
        done = attrs.evolve(activity, completed_at=max(self.now, activity.created_at))
        self.storage.replace(done)
        self._index.put_activity(done)

    @rule(activity_id=activities, shift=st.integers(min_value=-2 * 24 * 60, max_value=2 * 24 * 60))
    def reschedule_activity(self, activity_id: str, shift: int) -> None:
        activity = self._stored(activity_id)
        if activity is None or activity.incoming:
            return
        zone = self.zones[activity.responsible_id]
        moved = attrs.evolve(activity, deadline=(self.now + minutes(shift)).astimezone(zone))
        self.storage.replace(moved)
        self._index.put_activity(moved)

    @rule(activity_id=consumes(activities))
    def delete_activity(self, activity_id: str) -> None:
        if self._stored(activity_id) is None:
            return
        self.storage.remove_activity(activity_id)
        self._index.remove_activity(activity_id)

    @rule(
        step=st.one_of(
            st.integers(min_value=0, max_value=90),
            st.sampled_from([15, 24 * 60, 25 * 60, 3 * 24 * 60]),
        )
    )
    def advance_clock(self, step: int) -> None:
        self.now += minutes(step)
        self._index.advance_to(self.now)

    @rule(user=st.sampled_from(_USERS))
    def advance_to_the_next_lighting(self, user: str) -> None:
        """Land exactly on a lit time (C9's valid_until), where off-by-one bugs live."""
        until = counters_of(self.storage, user, self.now).valid_until
        if until is not None:
            self.now = until
            self._index.advance_to(self.now)

    def _land_on(self, instant: datetime | None, just_before: bool) -> None:
        """Move the clock to `instant` (or a microsecond before it), checking on the way."""
        if instant is None:
            return
        if just_before:
            instant -= timedelta(microseconds=1)
        if instant > self.now:
            self.now = instant.astimezone(UTC)  # elapsed time adds in UTC (G4)
            self._index.advance_to(self.now)

    @rule(user=st.sampled_from(_USERS), just_before=st.booleans())
    def advance_to_a_local_midnight(self, user: str, just_before: bool) -> None:
        """Land on (or just before) the user's next local midnight (G4: their 'today' ends)."""
        zone = self.zones[user]
        tomorrow = self.now.astimezone(zone).date() + timedelta(days=1)
        self._land_on(day_start(tomorrow, zone), just_before)

    @rule(user=st.sampled_from(_USERS), just_before=st.booleans())
    def advance_to_a_dst_change(self, user: str, just_before: bool) -> None:
        """Land on (or just before) the next DST change of the user's zone, if any (G4)."""
        self._land_on(_next_offset_change(self.zones[user], self.now), just_before)

    @invariant()
    def index_equals_full_recomputation(self) -> None:
        if self.index is None:
            return
        plain = _PerItemReads(self.storage)
        for user in _USERS:
            assert self.index.counters(user) == counters_of(self.storage, user, self.now)
            # InMemoryStorage keeps each user's items and open activities for the pass
            # (issue 15); read item by item through the Storage protocol, the same answer.
            assert counters_of(plain, user, self.now) == counters_of(self.storage, user, self.now)
            for et, pid in (*_SECTIONS, ("deal", None)):
                assert self.index.counters(user, entity_type=et, pipeline_id=pid) == counters_of(
                    self.storage, user, self.now, entity_type=et, pipeline_id=pid
                )
        assert self.index.summed(viewer_id="u0", policy=SEE_ALL) == summed_counters(
            self.storage, self.now, viewer_id="u0", policy=SEE_ALL
        )


CounterIndexMachine.TestCase.settings = settings(
    settings.default,
    stateful_step_count=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_counter_index_equals_full_recomputation_after_every_step = CounterIndexMachine.TestCase
