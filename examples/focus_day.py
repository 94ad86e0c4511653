"""Focus mode over one working day: how a Kanban column reorders itself (SPEC F1-F5).

What it teaches:

- a column sorts by *focus time*, newest first (F1); an item's focus time is
  its latest attention-worthy instant that has come: creation, a client's
  message, a colleague's comment, a reminder 15 minutes before an activity's
  deadline, and the deadline itself (F2);
- a message from the client lifts a deal that had sunk and marks it Unread
  until its responsible opens it (F3); the responsible's own comment does not
  lift the deal, a colleague's does (F2);
- completing an activity does not push the deal down: focus time never
  decreases (F2);
- every ordering says until when it holds, `valid_until` (F5): the host can
  cache it and needs no event to know when to redraw.

The same order is used inside the columns of the Activities view (V2) and on
list pages (F4). The data changes as the day goes on, but every answer is a
pure function of (data, now): the day is replayed at fixed instants.

Run: python examples/focus_day.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from crmcounters import (
    Activity,
    ActivityKind,
    CommentAdded,
    FocusOrder,
    IncomingMessage,
    InMemoryStorage,
    Item,
    ItemViewed,
    Pipeline,
    Stage,
    User,
    is_unread,
    order_by_focus,
)

WARSAW = ZoneInfo("Europe/Warsaw")
TUESDAY = datetime(2026, 12, 15, 8, 0, tzinfo=WARSAW)  # a fixed day, never the system clock
COLUMN = ("deal-1", "deal-2", "deal-3", "deal-4")  # the "New" column of Anna's deals


def at(hour: int, minute: int = 0) -> datetime:
    """An instant on Tuesday 15 December 2026, Warsaw time."""
    return TUESDAY.replace(hour=hour, minute=minute)


def build() -> InMemoryStorage:
    """Anna's four deals in stage New, as they stand at 08:00."""
    storage = InMemoryStorage()
    storage.add(
        User(id="anna", name="Anna", time_zone="Europe/Warsaw"),
        User(id="piotr", name="Piotr", time_zone="Europe/Warsaw"),
        Pipeline(id="sales", entity_type="deal", stages=[Stage(id="new", name="New")]),
    )
    created = {
        "deal-1": TUESDAY - timedelta(days=40),  # postponed a month at the client's request
        "deal-2": TUESDAY - timedelta(days=3),
        "deal-3": TUESDAY - timedelta(days=2),
        "deal-4": TUESDAY - timedelta(hours=16),  # Monday 16:00
    }
    for item_id, created_at in created.items():
        storage.add(
            Item(
                id=item_id,
                entity_type="deal",
                pipeline_id="sales",
                stage_id="new",
                responsible_id="anna",
                created_at=created_at,
            )
        )
    storage.add(
        Activity(
            id="call-in-january",
            item_ids=["deal-1"],
            kind=ActivityKind.CALL,
            responsible_id="anna",
            created_at=TUESDAY - timedelta(days=30),
            deadline=TUESDAY + timedelta(days=30),
        ),
        Activity(
            id="send-offer",
            item_ids=["deal-2"],
            kind=ActivityKind.TODO,
            responsible_id="anna",
            created_at=TUESDAY - timedelta(days=1),
            deadline=at(11, 0),  # reminders at 10:45 and 11:00 (default offsets 15 and 0)
        ),
    )
    return storage


def when(instant: datetime | None) -> str:
    """An instant as Anna reads it: the time today, the day and time otherwise."""
    if instant is None:
        return "never (nothing scheduled)"
    wall = instant.astimezone(WARSAW)
    return f"{wall:%H:%M}" if wall.date() == TUESDAY.date() else f"{wall:%a %d %b %H:%M}"


def show(storage: InMemoryStorage, now: datetime, what: str) -> FocusOrder:
    """Print the column's order at `now`, unread items starred, and until when it holds."""
    order = order_by_focus(storage, COLUMN, now)
    cards = " | ".join(
        f"{item_id}{'*' if is_unread(storage, item_id, now) else ''} {when(focus)}"
        for item_id, focus in order
    )
    print(f"{when(now)}  {what}")
    print(f"       {cards}")
    print(f"       valid until {when(order.valid_until)}")
    return order


def main() -> None:
    """Replay Anna's Tuesday step by step."""
    storage = build()
    show(storage, at(8), "Anna starts her day: the postponed deal-1 has sunk to the bottom")

    storage.add(IncomingMessage(id="mail-1", item_id="deal-1", at=at(9, 12), channel="email"))
    show(storage, at(9, 12), "the client of deal-1 writes an e-mail: it rises, Unread (*)")

    storage.add(ItemViewed(id="view-1", item_id="deal-1", at=at(9, 30), user_id="anna"))
    show(storage, at(9, 30), "Anna opens deal-1: read, the order stays")

    show(storage, at(10, 45), "15 minutes before deal-2's deadline: the reminder lifts it")

    storage.add(CommentAdded(id="note-1", item_id="deal-3", at=at(10, 50), author_id="anna"))
    show(storage, at(10, 50), "Anna comments on deal-3, her own deal: it does not move")

    storage.add(CommentAdded(id="note-2", item_id="deal-3", at=at(10, 55), author_id="piotr"))
    show(storage, at(10, 55), "her colleague Piotr comments on deal-3: it rises")

    show(storage, at(11), "deal-2's deadline: it rises again")

    done = attrs.evolve(storage.activity("send-offer"), completed_at=at(11, 20))
    storage.replace(done)
    show(storage, at(11, 20), "Anna sends the offer and completes the to-do: deal-2 stays on top")


if __name__ == "__main__":
    main()
