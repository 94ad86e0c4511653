"""A morning of incoming work, activity types and a weekly call, on SQLite (I1, I2, A1, A2).

The sample portal is copied into a SQLite database; then, for Piotr (Warsaw):
a client's e-mail is recorded as event and incoming activity in one write
(I1); his reply completes it, and marking an item processed completes its
calls (I2); a "Call back" type gives a deadline two business days later at
10:00 and, once done, proposes "Send the offer" (A1); a weekly call recurs
at 09:00 Warsaw time across the March DST change (A2).

Run: python examples/inbox_day.py
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from crmcounters import (
    Activity,
    ActivityType,
    DeadlineRule,
    activity_from_type,
    activity_occurrences,
    complete_activity,
    counters_of,
    is_unread,
    item_badge,
    mark_processed,
    record_incoming,
    record_reply,
    sample_portal,
)
from crmcounters.sql import import_portal, open_storage

WARSAW = ZoneInfo("Europe/Warsaw")
TYPES = (
    ActivityType(
        id="call-back",
        name="Call back",
        kind="call",
        deadline=DeadlineRule(amount=2, unit="business_days", time_of_day=time(10)),
        next_type_id="offer",
    ),
    ActivityType(
        id="offer",
        name="Send the offer",
        kind="email",
        deadline=DeadlineRule(amount=0, unit="days", time_of_day=time(17)),
    ),
)


def shown(instant: datetime | None) -> str:
    """An instant as Piotr reads it."""
    return "-" if instant is None else instant.astimezone(WARSAW).strftime("%a %d %b %H:%M")


def main() -> None:
    """Play the morning and print what each step changed."""
    portal = sample_portal()
    now = portal.as_of
    assert now is not None
    with open_storage(":memory:") as storage:
        import_portal(portal, storage)
        storage.set_settings(attrs.evolve(storage.settings, activity_types=TYPES))
        incoming = counters_of(storage, "u-piotr", now).incoming
        print(f"{shown(now)} Piotr: Incoming {incoming}")

        # I1: the e-mail is both the timeline event and the incoming activity, in one write.
        at = now + timedelta(minutes=5)
        record_incoming(
            storage, "deal-001", "email", at, event_id="ev-mail", activity_id="act-mail",
            text="Could you resend the offer?",
        )  # fmt: skip
        badge = item_badge(storage, "deal-001", "u-piotr", at)
        incoming = counters_of(storage, "u-piotr", at).incoming
        print(
            f"{shown(at)} e-mail on deal-001: Incoming {incoming}, unread "
            f"{is_unread(storage, 'deal-001', at)}, badge {badge.colour.value} {badge.number}"
        )

        # I2: his reply on the same channel completes the item's incoming e-mails.
        at = now + timedelta(minutes=20)
        reply = Activity(
            id="act-reply", item_ids=("deal-001",), kind="email", direction="outgoing",
            responsible_id="u-piotr", created_at=at, completed_at=at,
        )  # fmt: skip
        done = [a.id for a in record_reply(storage, reply).replace]
        print(
            f"{shown(at)} reply completes {done}: "
            f"Incoming {counters_of(storage, 'u-piotr', at).incoming}"
        )
        for minutes, channel in ((25, "missed_call"), (26, "call")):
            record_incoming(
                storage, "deal-015", channel, now + timedelta(minutes=minutes),
                event_id=f"ev-{channel}", activity_id=f"act-{channel}",
            )  # fmt: skip
        at = now + timedelta(minutes=40)
        processed = mark_processed(storage, "deal-015", at, channel="call")
        print(
            f"{shown(at)} deal-015 calls processed: {len(processed.replace)} completed, "
            f"Incoming {counters_of(storage, 'u-piotr', at).incoming}"
        )

        # A1: a type's defaults, and the next type proposed on completion.
        call = activity_from_type(
            storage, "call-back", activity_id="act-cb", item_ids=["deal-029"], created_at=now
        )
        storage.add(call)
        print(f"Call back on deal-029 due {shown(call.deadline)}")
        at = now + timedelta(hours=3)
        draft = complete_activity(storage, "act-cb", at).proposed
        assert draft is not None
        print(f"  done at {shown(at)}; proposes {draft.subject!r} due {shown(draft.deadline)}")

        # A2: a weekly call at 09:00 Warsaw time, across the DST change of 28 March 2027.
        first = datetime(2027, 3, 22, 9, 0, tzinfo=WARSAW)
        series = Activity(
            id="weekly", item_ids=("deal-036",), kind="call", responsible_id="u-piotr",
            created_at=now, deadline=first, recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=3",
        )  # fmt: skip
        storage.add(series)
        listed = activity_occurrences(storage, series, first, first + timedelta(weeks=6))
        print("Weekly call: " + ", ".join(shown(o) for o in listed))
        following = complete_activity(storage, "weekly", first).add
        print(f"  completing the first adds {[a.id for a in following]}")


if __name__ == "__main__":
    main()
