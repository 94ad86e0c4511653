"""InMemoryStorage's live columns answer exactly what the from-scratch pages answer (issue 15).

A hypothesis state machine writes at random (items added, moved between
stages, reassigned, removed; activities added, rescheduled, completed,
removed; comments and incoming messages; a user moving time zone; new
settings) and moves the clock (minutes, hours, days, backwards, onto the
nights European clocks change), with users in Warsaw, Honolulu (UTC-10) and
Kiritimati (UTC+14). After every step each Kanban board and each user's
Activities view, whole and walked page by page, must equal the same call on
a view of the storage without the page hook (F1, F5, V1, V2).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from _build_focus import PIPELINES, STAGES, USERS, comment, incoming_call, item, message, portal
from _pages import Scratch, kanban_walk, view_walk
from crmcounters import Activity, ActivityKind, Settings, User, activities_view
from crmcounters.focus import kanban_board

#: The nights Europe/Warsaw moves its clocks (forward, then back), and an ordinary Monday.
STARTS = (
    datetime(2026, 3, 28, 22, 0, tzinfo=UTC),
    datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
    datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
)
ITEMS = [f"d{n}" for n in range(7)]
ACTIVITIES = [f"a{n}" for n in range(9)]
OFFSETS = st.integers(min_value=-4 * 24 * 60, max_value=9 * 24 * 60).map(
    lambda n: timedelta(minutes=n)
)
USER_IDS = sorted(USERS)


class LivePagesMachine(RuleBasedStateMachine):
    """Random writes and clock moves; the live pages must equal the from-scratch ones (F1, F5,
    V1, V2, X2)."""

    @initialize(start=st.sampled_from(STARTS))
    def start(self, start: datetime) -> None:
        self.storage = portal()
        self.now = start
        self.serial = 0
        self.cursor: tuple[str, str | None] | None = None  # (user, a view cursor kept across steps)
        self.check()  # builds the live structures at once: every later write updates them

    # -- writes -----------------------------------------------------------------

    @rule(
        item_id=st.sampled_from(ITEMS),
        entity=st.sampled_from(sorted(PIPELINES)),
        stage=st.sampled_from(STAGES),
        responsible=st.sampled_from(USER_IDS),
        created=OFFSETS,
    )
    def put_item(
        self, item_id: str, entity: str, stage: str, responsible: str, created: timedelta
    ) -> None:
        """Add an item, or replace it: a stage move, another responsible, another pipeline."""
        new = item(
            item_id, created=self.now - created, responsible=responsible, entity=entity, stage=stage
        )
        if item_id in {one.id for one in self.storage.items()}:
            self.storage.replace(new)
        else:
            self.storage.add(new)

    @rule(item_id=st.sampled_from(ITEMS))
    def remove_item(self, item_id: str) -> None:
        """Delete an item with its activities and events."""
        if item_id in {one.id for one in self.storage.items()}:
            self.storage.remove_item(item_id)

    @rule(
        activity_id=st.sampled_from(ACTIVITIES),
        items=st.lists(st.sampled_from(ITEMS), min_size=1, max_size=2, unique=True),
        deadline=st.one_of(st.none(), OFFSETS),
        created=OFFSETS,
        offsets=st.sampled_from([None, (), (30,), (1440, 15)]),
        kind=st.sampled_from(["todo", "call", "incoming"]),
        responsible=st.sampled_from(USER_IDS),
    )
    def put_activity(
        self,
        activity_id: str,
        items: list[str],
        deadline: timedelta | None,
        created: timedelta,
        offsets: tuple[int, ...] | None,
        kind: str,
        responsible: str,
    ) -> None:
        """Add or replace an activity (a reschedule): planned, a call, or incoming work."""
        stored = {one.id for one in self.storage.items()}
        bound = tuple(one for one in items if one in stored)
        if not bound:
            return
        at = self.now - created
        if kind == "incoming":
            activity = incoming_call(activity_id, bound[0], at)
        else:
            activity = Activity(
                id=activity_id,
                item_ids=bound,
                kind=ActivityKind.TODO if kind == "todo" else ActivityKind.CALL,
                responsible_id=responsible,
                created_at=at,
                deadline=None if deadline is None else self.now + deadline,
                reminder_offsets=offsets,
            )
        if activity_id in {one.id for one in self.storage.activities()}:
            self.storage.replace(activity)
        else:
            self.storage.add(activity)

    @rule(activity_id=st.sampled_from(ACTIVITIES), late=st.integers(0, 3 * 24 * 60))
    def complete(self, activity_id: str, late: int) -> None:
        """Complete an open activity, now or some time after its creation."""
        found = {one.id: one for one in self.storage.activities()}.get(activity_id)
        if found is not None and found.completed_at is None:
            done = max(found.created_at, self.now - timedelta(minutes=late))
            self.storage.replace(attrs.evolve(found, completed_at=done))

    @rule(activity_id=st.sampled_from(ACTIVITIES))
    def remove_activity(self, activity_id: str) -> None:
        """Delete an activity."""
        if activity_id in {one.id for one in self.storage.activities()}:
            self.storage.remove_activity(activity_id)

    @rule(
        item_id=st.sampled_from(ITEMS),
        when=OFFSETS,
        author=st.one_of(st.none(), st.sampled_from(USER_IDS)),
    )
    def event(self, item_id: str, when: timedelta, author: str | None) -> None:
        """The client writes (author None) or someone comments, in the past or the future."""
        if item_id not in {one.id for one in self.storage.items()}:
            return
        self.serial += 1
        at = self.now + when
        if author is None:
            self.storage.add(message(f"e{self.serial}", item_id, at))
        else:
            self.storage.add(comment(f"e{self.serial}", item_id, at, author))

    @rule(user=st.sampled_from(USER_IDS), zone=st.sampled_from(sorted(set(USERS.values()))))
    def move_user(self, user: str, zone: str) -> None:
        """A user moves to another time zone: their days and weeks move with them (X3)."""
        self.storage.replace(User(id=user, name=user.title(), time_zone=zone))

    @rule(
        week_start=st.sampled_from([0, 6]),
        offsets=st.sampled_from([(15, 0), (60, 0)]),
    )
    def new_settings(self, week_start: int, offsets: tuple[int, ...]) -> None:
        """New portal settings: another first day of the week, other reminder offsets."""
        self.storage.set_settings(Settings(week_start=week_start, focus_reminder_offsets=offsets))

    # -- the clock --------------------------------------------------------------

    @rule(step=st.integers(min_value=-3 * 24 * 60, max_value=8 * 24 * 60))
    def move_clock(self, step: int) -> None:
        """Move `now` by whole minutes, forwards or back (time travel, X2)."""
        self.now += timedelta(minutes=step)

    @rule(step=st.sampled_from([1, 14, 15, 16, 59, 60, 61]))
    def tick(self, step: int) -> None:
        """Small steps across reminder instants (F5: an activity entering its lit window)."""
        self.now += timedelta(minutes=step)

    @rule(start=st.sampled_from(STARTS))
    def jump(self, start: datetime) -> None:
        """Jump onto another DST night."""
        self.now = start

    # -- the comparison -----------------------------------------------------------

    @invariant()
    def check(self) -> None:
        """Every board and view, whole and page by page, equals the from-scratch answer."""
        storage, scratch, now = self.storage, Scratch(self.storage), self.now
        for entity, pipeline in PIPELINES.items():
            assert kanban_board(storage, entity, pipeline, "anna", now) == kanban_board(
                scratch, entity, pipeline, "anna", now
            )
            assert kanban_walk(storage, entity, pipeline, "anna", now, 2) == kanban_walk(
                scratch, entity, pipeline, "anna", now, 2
            )
        for user in USER_IDS:
            assert activities_view(storage, user, now) == activities_view(scratch, user, now)
            assert view_walk(storage, user, now, 1) == view_walk(scratch, user, now, 1)
        if self.cursor is not None:  # a cursor from an earlier step still pages the same
            user, cursor = self.cursor
            if cursor is not None:
                assert activities_view(storage, user, now, limit=1, cursor=cursor) == (
                    activities_view(scratch, user, now, limit=1, cursor=cursor)
                )
        for user in USER_IDS:
            first = activities_view(storage, user, now, limit=1)
            kept = [cursor for cursor in first.next_cursors.values() if cursor is not None]
            if kept:
                self.cursor = (user, kept[0])
                break


LivePagesMachine.TestCase.settings = settings(
    settings.default,
    max_examples=settings.default.max_examples // 4 or 1,
    stateful_step_count=25,
)
test_live_pages_equal_from_scratch_pages = LivePagesMachine.TestCase
