"""The reminder feed (N1): an hour's pings for 1,000 users and 1,000,000 activities.

Baseline: `reminders_of`, the pure function, scanning every activity (what a
storage without an index does). Ours: `InMemoryStorage.reminders_between` from
its `ReminderIndex` (pings by UTC hour; its build cost beside), and
`SqlStorage.reminders_between`, one range read of `crm_reminders` (SQLite, and
PostgreSQL with CRMCOUNTERS_PG_DSN), with `import_portal`'s time beside. Every
answer is checked against the baseline's before timing; each timed call is
warmed up first.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import attrs

from crmcounters import Portal, reminders_of
from crmcounters.sql import import_portal, open_storage

from ._harness import figure, header, median_seconds, note, scaled, timed
from .bench_counters import NOW, build_portal
from .bench_import import _databases

HOUR = timedelta(hours=1)


def main() -> None:
    """Build the portal, then time the feed over one hour: scan, index, SQL."""
    users = scaled(1_000, minimum=2)
    header(f"reminder feed (N1): {users} users, {users * 1_000} activities, one hour")
    storage, built = timed(lambda: build_portal(users, 200, 5))
    note(f"portal built in {built:.1f} s (deadlines from 3 days before to 7 days after NOW)")
    start, end = NOW, NOW + HOUR
    defaults = storage.settings.focus_reminder_offsets
    expected, scan_s = timed(
        lambda: reminders_of(storage.activities(), start, end, default_offsets=defaults)
    )
    mine = tuple(p for p in expected if p.recipient_id == "u0")
    note(f"{len(expected)} pings in the hour, {len(mine)} of them for u0")

    first, build_s = timed(lambda: storage.reminders_between(start, end))  # builds the index
    assert first == expected
    figure("first feed: builds the ReminderIndex", build_s, baseline=("reminders_of scan", scan_s))
    storage.reminders_between(start, end)  # warm-up
    hour_s = median_seconds(lambda: storage.reminders_between(start, end), repeat=7)
    figure(
        "one hour, every user: reminders_between",
        hour_s,
        baseline=("reminders_of scan", scan_s),
        target="< 50 ms",
    )
    assert storage.reminders_between(start, end, "u0") == mine
    user_s = median_seconds(lambda: storage.reminders_between(start, end, "u0"), repeat=7)
    figure("one hour, one user: reminders_between", user_s, baseline=("reminders_of scan", scan_s))
    later = NOW + 24 * HOUR
    day_s = median_seconds(lambda: storage.reminders_between(later, later + 24 * HOUR), repeat=3)
    figure("one day, every user: reminders_between", day_s, baseline=("one hour", hour_s))
    activity = next(a for a in storage.activities() if a.deadline is not None)
    moved = attrs.evolve(activity, deadline=activity.deadline + HOUR)  # type: ignore[operator]
    back = activity

    def move() -> None:
        storage.replace(moved)
        storage.replace(back)

    write_s = median_seconds(move, repeat=5, number=200) / 2
    figure("a write that moves a deadline (index kept)", write_s)

    with tempfile.TemporaryDirectory() as folder:
        for label, url in _databases(Path(folder), "reminders"):
            with open_storage(url, create=True) as sql:
                _, import_s = timed(lambda sql=sql: import_portal(Portal(storage=storage), sql))
                note(f"{label}: import_portal (fills crm_reminders) in {import_s:.1f} s")
                assert sql.reminders_between(start, end) == expected
                sql.reminders_between(start, end)  # warm-up
                sql_s = median_seconds(lambda sql=sql: sql.reminders_between(start, end), repeat=7)
                figure(
                    f"{label}: one hour, every user: reminders_between",
                    sql_s,
                    baseline=("reminders_of scan", scan_s),
                    target="< 50 ms",
                )
                one_s = median_seconds(
                    lambda sql=sql: sql.reminders_between(start, end, "u0"), repeat=7
                )
                figure(
                    f"{label}: one hour, one user: reminders_between",
                    one_s,
                    baseline=("in memory", user_s),
                )
