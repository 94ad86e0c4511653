"""A notification centre's day: the reminder feed (N1) across a DST change, and the worker
putting each ping in the outbox once (P3).

Run it: `python examples/reminders_day.py`. A New York salesperson has a call
at 01:30 on the night clocks go back (the second 01:30, in EST) and a meeting
at 09:00; Kathmandu (UTC+5:45) and Kiritimati (UTC+14) colleagues have calls
too. The feed lists every ping of the day in time order, each shown in its
recipient's zone; then a worker delivers them through the outbox as the
clock advances, and completing the meeting at 08:30 drops its last two pings.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from crmcounters import (
    Activity,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    RuleHost,
    Stage,
    User,
    Worker,
    reminder_feed,
)
from crmcounters.rules import RuleEngine, RuleSet
from crmcounters.sql import SqlJobStore, SqlOutbox, import_portal, open_storage
from crmcounters.testing import ManualClock

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK)  # Saturday noon; clocks go back at 2:00


def portal() -> InMemoryStorage:
    """Three users in three zones, one deal each, four activities with deadlines."""
    storage = InMemoryStorage()
    storage.add(
        User(id="u-maya", name="Maya", time_zone="America/New_York"),
        User(id="u-sita", name="Sita", time_zone="Asia/Kathmandu"),
        User(id="u-teiti", name="Teiti", time_zone="Pacific/Kiritimati"),
        Pipeline(id="p", entity_type="deal", stages=(Stage(id="new", name="New"),)),
    )
    created = START - timedelta(days=1)
    storage.add_all(
        Item(
            id=f"deal-{user}",
            entity_type="deal",
            pipeline_id="p",
            stage_id="new",
            responsible_id=f"u-{user}",
            created_at=created,
            title=f"Deal of {user.title()}",
        )
        for user in ("maya", "sita", "teiti")
    )

    def activity(
        activity_id: str, user: str, deadline: datetime, offsets: tuple[int, ...] | None = None
    ) -> Activity:
        return Activity(
            id=activity_id,
            item_ids=(f"deal-{user}",),
            kind="call",
            responsible_id=f"u-{user}",
            created_at=created,
            deadline=deadline,
            subject=activity_id.replace("-", " "),
            reminder_offsets=offsets,
        )

    storage.add(
        # The second 01:30 of the night (fold=1: EST, 06:30 UTC).
        activity("night-call", "maya", datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1)),
        activity(
            "meeting",
            "maya",
            datetime(2026, 11, 1, 9, 0, tzinfo=NEW_YORK),
            offsets=(60, 15),
        ),
        activity(
            "kathmandu-call",
            "sita",
            datetime(2026, 11, 1, 17, 45, tzinfo=ZoneInfo("Asia/Kathmandu")),
        ),
        activity(
            "kiritimati-call",
            "teiti",
            datetime(2026, 11, 2, 0, 10, tzinfo=ZoneInfo("Pacific/Kiritimati")),
        ),
    )
    return storage


def show_feed(storage: InMemoryStorage) -> None:
    print("The feed, Saturday noon to Sunday noon in New York (each in its recipient's zone):")
    for ping in reminder_feed(storage, START, START + timedelta(hours=25)):
        zone = storage.user(ping.recipient_id).zone
        local = ping.at.astimezone(zone)
        print(
            f"  {ping.at:%H:%M} UTC  {local:%a %H:%M %Z}  {ping.recipient_id:<8} "
            f"{ping.activity_id:<16} {ping.offset_minutes:>3} min before"
        )


def deliver(storage: InMemoryStorage) -> None:
    print("The worker, every three hours from Saturday 21:00 New York time:")
    with tempfile.TemporaryDirectory() as folder:
        database = open_storage(Path(folder) / "crm.db", create=True)
        import_portal(Portal(storage=storage), database)
        clock = ManualClock(datetime(2026, 10, 31, 21, 0, tzinfo=NEW_YORK))
        outbox = SqlOutbox(database, clock=clock)
        host = RuleHost(
            RuleEngine.for_storage(RuleSet(), database),
            database,
            SqlJobStore(database),
            outbox,
            clock=clock,
            reminders=True,
        )
        Worker(host).run(once=True)  # the first delivery starts the mark at 21:00
        for step in range(6):
            clock.advance(timedelta(hours=3))
            if step == 4:  # Maya marks the meeting done at 08:30: its later pings never fall
                meeting = database.activity("meeting")
                done = datetime(2026, 11, 1, 8, 30, tzinfo=NEW_YORK).astimezone(UTC)
                database.replace(attrs.evolve(meeting, completed_at=done))
            report = Worker(host).run(once=True)
            taken = outbox.take(100)
            now = clock.now().astimezone(NEW_YORK)
            print(
                f"  {now:%a %H:%M %Z}: {report.reminders} put; "
                + (
                    ", ".join(
                        f"{e.payload['activity_id']}/{e.payload['offset_minutes']}" for e in taken
                    )
                    or "nothing due"
                )
            )
            outbox.acknowledge(entry.id for entry in taken)
        print(f"  left in the outbox: {len(outbox)}")
        database.close()


if __name__ == "__main__":
    data = portal()
    show_feed(data)
    deliver(data)
