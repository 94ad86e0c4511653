"""The reminder feed over SQL (N1): `crm_reminders`, kept by every write, filled by the import
and the migration, answers as the pure function does (PostgreSQL when a DSN is set)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import small_storage, todo
from _sql_backends import (
    BACKENDS,
    PG_DSN,
    PG_SKIP_REASON,
    copy_into,
    fresh_database,
    make_older,
    sql_examples,
    sql_storage,
)
from crmcounters import (
    Portal,
    Settings,
    UnknownIdError,
    ValidationError,
    reminder_feed,
    reminders_of,
    sample_portal,
)
from crmcounters.sql import (
    SqlStorage,
    create_schema,
    import_portal,
    migrate_schema,
    open_storage,
)
from crmcounters.testing.strategies import aware_datetimes, portals

H = timedelta(hours=1)


def expected(storage: object, start: datetime, end: datetime, user: str | None = None) -> tuple:
    return reminders_of(
        storage.activities(),  # type: ignore[attr-defined]
        start,
        end,
        default_offsets=storage.settings.focus_reminder_offsets,  # type: ignore[attr-defined]
        user_id=user,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples(), deadline=None)
@given(
    portal=portals(max_activities=20),
    windows=st.lists(st.tuples(aware_datetimes(), st.integers(0, 24 * 60)), min_size=1, max_size=3),
    data=st.data(),
)
def test_n1_sql_feed_equals_the_pure_function_through_writes(
    backend: str, portal: Portal, windows: list[tuple[datetime, int]], data: st.DataObject
) -> None:
    """N1: the SQL feed (an index range) equals `reminders_of` over the activities, before and
    after completions, deletions, moved deadlines, new offsets and new default offsets."""
    memory = portal.storage
    with sql_storage(backend) as storage:
        try:
            copy_into(memory, storage)
        except ValidationError:  # PostgreSQL text refuses NUL: tested in test_sql_storage
            if backend == "sqlite":
                raise
            return
        users = [None, *sorted(u.id for u in memory.users())[:2]]

        def check() -> None:
            for start, hours in windows:
                end = start + timedelta(hours=hours)
                for user in users:
                    want = expected(memory, start, end, user)
                    assert storage.reminders_between(start, end, user) == want
                    assert reminder_feed(storage, start, end, user_id=user) == want

        check()
        for _ in range(data.draw(st.integers(0, 3))):
            activities = list(memory.activities())
            if not activities:
                break
            activity = data.draw(st.sampled_from(activities))
            change = data.draw(st.sampled_from(["complete", "delete", "move", "offsets"]))
            if change == "delete":
                memory.remove_activity(activity.id)
                storage.remove_activity(activity.id)
                continue
            if change == "complete" and activity.is_open:
                changed = attrs.evolve(activity, completed_at=activity.created_at + H)
            elif change == "move" and not activity.incoming:
                changed = attrs.evolve(activity, deadline=data.draw(aware_datetimes()))
            else:
                changed = attrs.evolve(activity, reminder_offsets=(45, 5))
            memory.replace(changed)
            storage.replace(changed)
        if data.draw(st.booleans()):
            new = attrs.evolve(memory.settings, focus_reminder_offsets=(60, 10))
            memory.set_settings(new)
            storage.set_settings(new)
        check()


@pytest.mark.parametrize("backend", BACKENDS)
def test_n1_import_portal_fills_the_reminders(backend: str, tmp_path: Path) -> None:
    portal = sample_portal()
    assert portal.as_of is not None
    start, end = portal.as_of - 24 * H, portal.as_of + 7 * 24 * H
    with fresh_database(backend, tmp_path) as url, open_storage(url, create=True) as storage:
        import_portal(portal, storage)
        got = storage.reminders_between(start, end)
        assert got == expected(portal.storage, start, end)
        assert len(got) > 20
        assert storage.next_reminder_after(start) == got[0].at


@pytest.mark.parametrize("backend", BACKENDS)
def test_n1_removing_an_item_drops_or_rebinds_its_pings(backend: str) -> None:
    memory = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    memory.add(todo("a1", "d1", deadline=deadline), todo("a2", "d2", "d1", deadline=deadline))
    with sql_storage(backend) as storage:
        copy_into(memory, storage)
        window = (deadline - H, deadline + H)
        assert [r.item_id for r in storage.reminders_between(*window)] == ["d1", "d2", "d1", "d2"]
        storage.remove_item("d2")
        assert [r.item_id for r in storage.reminders_between(*window)] == ["d1", "d1", "d1", "d1"]
        storage.remove_item("d1")
        assert storage.reminders_between(*window) == ()
        assert storage.next_reminder_after(deadline - H) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_n1_sql_feed_checks_its_arguments(backend: str) -> None:
    with sql_storage(backend) as storage:
        copy_into(small_storage(), storage)
        start = datetime(2026, 12, 14, tzinfo=UTC)
        with pytest.raises(ValidationError, match="end"):
            reminder_feed(storage, start, start - H)
        with pytest.raises(UnknownIdError):
            reminder_feed(storage, start, start + H, user_id="nobody")


def _older_with_activities(connection: object) -> None:
    memory = small_storage()
    memory.set_settings(Settings(focus_reminder_offsets=(30,)))
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    memory.add(
        todo("a1", "d1", deadline=deadline),
        todo("a2", "d2", deadline=deadline, reminder_offsets=(1440,)),
        todo("a3", "d2", deadline=deadline, completed_at=deadline - 20 * 60 * timedelta(seconds=1)),
    )
    copy_into(memory, SqlStorage(connection))  # type: ignore[arg-type]
    make_older(connection, 2)


def test_n1_migrating_from_version_2_fills_the_pings_of_stored_activities() -> None:
    with closing(sqlite3.connect(":memory:")) as connection:
        _migrated_sqlite(connection)


def _migrated_sqlite(connection: sqlite3.Connection) -> None:
    create_schema(connection)
    _older_with_activities(connection)
    connection.commit()
    assert migrate_schema(connection) == 2
    storage = SqlStorage(connection)
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    got = [
        (r.activity_id, r.offset_minutes)
        for r in storage.reminders_between(deadline - 48 * H, deadline + H)
    ]
    # a2: its own 1440 and the deadline; a1: the portal's 30 and the deadline; a3 completed
    # 20 minutes before its deadline: its 30-minute ping fell, the deadline's never did.
    assert got == [("a2", 1440), ("a1", 30), ("a3", 30), ("a1", 0), ("a2", 0)]


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_n1_migrating_from_version_2_on_postgresql(tmp_path: Path) -> None:
    import psycopg

    with fresh_database("postgres", tmp_path) as url, psycopg.connect(url, autocommit=True) as db:
        create_schema(db)
        _older_with_activities(db)
        assert migrate_schema(db) == 2
        storage = SqlStorage(db)
        deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
        assert len(storage.reminders_between(deadline - 48 * H, deadline + H)) == 5


@pytest.mark.parametrize("backend", ["memory", *BACKENDS])
def test_n1_a1_a2_types_offsets_and_the_next_occurrence_ping(backend: str) -> None:
    """N1 with A1 and A2: an activity of a type pings at the type's offsets; completing a
    recurring one drops its later pings and the next occurrence, written by the same
    write, pings a week on (Los Angeles, across the November DST change)."""
    from zoneinfo import ZoneInfo

    from crmcounters import ActivityType, InMemoryStorage, activity_from_type, complete_activity

    la = ZoneInfo("America/Los_Angeles")
    memory = small_storage()
    memory.set_settings(
        Settings(
            activity_types=(
                ActivityType(id="call-back", name="Call back", kind="call", reminder_offsets=(60,)),
            )
        )
    )
    first = datetime(2026, 10, 26, 9, 0, tzinfo=la)
    typed = activity_from_type(
        memory, "call-back", activity_id="typed", item_ids=("d2",), created_at=first - 24 * H
    )
    typed = attrs.evolve(typed, deadline=first + 2 * H)
    weekly = todo(
        "call",
        "d1",
        created_at=first - 72 * H,
        deadline=first,
        recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=3",
    )

    def check(storage: InMemoryStorage | SqlStorage) -> None:
        storage.add(typed, weekly)
        got = [
            (r.activity_id, r.at, r.offset_minutes)
            for r in reminder_feed(storage, first - H, first + 3 * H)
        ]
        assert got == [
            ("call", first.astimezone(UTC) - 15 * 60 * timedelta(seconds=1), 15),
            ("call", first.astimezone(UTC), 0),
            ("typed", first.astimezone(UTC) + H, 60),  # the type's 60 minutes
            ("typed", first.astimezone(UTC) + 2 * H, 0),
        ]
        (second,) = complete_activity(storage, "call", first - 20 * 60 * timedelta(seconds=1)).add
        week = reminder_feed(storage, first - H, first + 8 * 24 * H, user_id="rep")
        # Completed at 08:40, before both of its pings (08:45, 09:00): they are dropped; the
        # next occurrence's fall on 2 November at 08:45 and 09:00 PST (UTC-8 since 1 November).
        assert [(r.activity_id, r.at.astimezone(la).hour, r.offset_minutes) for r in week] == [
            (second.id, 8, 15),
            (second.id, 9, 0),
        ]
        assert week[1].at == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)

    if backend == "memory":
        check(memory)
        return
    with sql_storage(backend) as storage:
        copy_into(memory, storage)
        check(storage)
