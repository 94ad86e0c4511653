"""The counter math of the help articles, worked through with the library (SPEC C1-C9, V1).

What it teaches:

- Planned counts *activities*, not items: 3 deals with 2 lit activities each
  give Planned 6 over 3 deals (C5);
- an activity lights 15 minutes before its deadline: lit 14 minutes before,
  not 16 minutes before, and `valid_until` says when it will light (C4, C9);
- a deadline that has passed keeps the item in Today until the user's local
  midnight, then the item is Overdue, while Planned counts it red all along
  (V1, seed 001's test-drive story);
- "today" is the responsible's day: a Los Angeles user at 17:00 (already
  01:00 UTC tomorrow) still sees this morning's call in Today (X3);
- the badge colours, and the grey badge a head of department sees on an
  employee's item (C6, C7);
- the open-activity cap: above it the counters are *blocked* and say why (C8).

Run: python examples/counter_math.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    ActivityKind,
    Badge,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    User,
    activities_view,
    counters_of,
    item_badge,
    over_cap,
)

WARSAW = ZoneInfo("Europe/Warsaw")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MONDAY_10 = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)  # never the system clock


def portal(settings: Settings | None = None) -> InMemoryStorage:
    """An empty portal: a sales department headed by Marek, with Anna and Bob."""
    storage = InMemoryStorage(settings)
    storage.add(
        Department(id="sales", name="Sales", head_id="marek"),
        User(id="marek", name="Marek", time_zone="Europe/Warsaw", department_id="sales"),
        User(id="anna", name="Anna", time_zone="Europe/Warsaw", department_id="sales"),
        User(id="bob", name="Bob", time_zone="America/Los_Angeles", department_id="sales"),
        Pipeline(id="deals", entity_type="deal", stages=[Stage(id="new", name="New")]),
    )
    return storage


def deal(storage: InMemoryStorage, deal_id: str, responsible: str, created: datetime) -> None:
    """Store one deal in stage New."""
    storage.add(
        Item(
            id=deal_id,
            entity_type="deal",
            pipeline_id="deals",
            stage_id="new",
            responsible_id=responsible,
            created_at=created,
            title=deal_id,
        )
    )


def activity(
    storage: InMemoryStorage,
    activity_id: str,
    deal_id: str,
    responsible: str,
    deadline: datetime | None,
    *,
    kind: ActivityKind = ActivityKind.CALL,
    incoming: bool = False,
) -> None:
    """Store one open activity, created the week before."""
    storage.add(
        Activity(
            id=activity_id,
            item_ids=[deal_id],
            kind=kind,
            responsible_id=responsible,
            created_at=MONDAY_10 - timedelta(days=7),
            deadline=deadline,
            incoming=incoming,
        )
    )


def local(instant: datetime | None, zone: ZoneInfo = WARSAW) -> str:
    """An instant as the user reads it."""
    return "-" if instant is None else instant.astimezone(zone).strftime("%a %d %b %H:%M")


def three_deals_two_activities() -> None:
    """C5: the seed's example. Planned is 6 (activities), over 3 deals."""
    print("1. Three deals with two lit activities each (C5)")
    storage = portal()
    for n in (1, 2, 3):
        deal(storage, f"deal-{n}", "anna", MONDAY_10 - timedelta(days=10))
        activity(storage, f"call-{n}", f"deal-{n}", "anna", MONDAY_10 - timedelta(days=1))
        activity(storage, f"meet-{n}", f"deal-{n}", "anna", MONDAY_10 + timedelta(minutes=5))
    result = counters_of(storage, "anna", MONDAY_10)
    print(f"   Planned {result.planned} over {result.planned_items} deals")
    print()


def fifteen_minutes_before() -> None:
    """C4, C9: an activity lights at deadline - 15 min; valid_until says when."""
    print("2. A meeting at 10:30 lights at 10:15 (C4, C9)")
    storage = portal()
    deal(storage, "deal-1", "anna", MONDAY_10 - timedelta(days=1))
    deadline = datetime(2026, 12, 14, 10, 30, tzinfo=WARSAW)
    activity(storage, "meeting", "deal-1", "anna", deadline, kind=ActivityKind.MEETING)
    for minutes_before in (16, 14):
        now = deadline - timedelta(minutes=minutes_before)
        result = counters_of(storage, "anna", now)
        print(
            f"   {minutes_before} min before: Planned {result.planned}, "
            f"valid until {local(result.valid_until)}"
        )
    print()


def today_until_midnight() -> None:
    """V1 and the seed's test drive: a passed deadline stays in Today until 00:00, then Overdue."""
    print("3. A test drive booked for 15:00, not yet closed (V1, C4)")
    storage = portal()
    deal(storage, "deal-1", "anna", MONDAY_10 - timedelta(days=3))
    deadline = datetime(2026, 12, 14, 15, 0, tzinfo=WARSAW)
    activity(storage, "test-drive", "deal-1", "anna", deadline, kind=ActivityKind.MEETING)
    for wall in (
        datetime(2026, 12, 14, 16, 0, tzinfo=WARSAW),
        datetime(2026, 12, 14, 23, 59, tzinfo=WARSAW),
        datetime(2026, 12, 15, 0, 0, tzinfo=WARSAW),
    ):
        view = activities_view(storage, "anna", wall)
        planned = counters_of(storage, "anna", wall).planned
        print(
            f"   {local(wall)}: column {view.column_of('deal-1').value}, Planned {planned}, "
            f"view valid until {local(view.valid_until)}"
        )
    print()


def los_angeles_at_five() -> None:
    """X3: the responsible's own day decides, not UTC and not the server's zone."""
    print("4. Bob in Los Angeles at 17:00 with a call due 09:00 his time (X3)")
    storage = portal()
    now = datetime(2026, 12, 14, 17, 0, tzinfo=LOS_ANGELES)
    deal(storage, "deal-la", "bob", now - timedelta(days=1))
    activity(storage, "call", "deal-la", "bob", datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES))
    view = activities_view(storage, "bob", now)
    print(f"   now is {now.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC")
    print(f"   column {view.column_of('deal-la').value} (his today is {view.today})")
    print(f"   Overdue from {local(view.valid_until, LOS_ANGELES)} Los Angeles time")
    print()


def shown(badge: Badge) -> str:
    """A badge in words: colour, number, and the dot."""
    return f"{badge.colour.value} {badge.number}{' with a dot' if badge.dot else ''}"


def badges() -> None:
    """C6, C7: the badge colours, and what a head of department sees."""
    print("5. Badges (C6) as Anna and as her head Marek (C7)")
    storage = portal()
    for deal_id in ("green", "red", "dot", "empty"):
        deal(storage, deal_id, "anna", MONDAY_10 - timedelta(days=2))
    activity(storage, "chat", "green", "anna", None, kind=ActivityKind.CHAT, incoming=True)
    activity(storage, "late", "red", "anna", MONDAY_10 - timedelta(hours=1))
    activity(storage, "email", "red", "anna", None, kind=ActivityKind.EMAIL, incoming=True)
    activity(storage, "friday", "dot", "anna", MONDAY_10 + timedelta(days=4))
    policy = AccessPolicy(levels={"marek": AccessLevel.DEPARTMENT})
    for deal_id in ("green", "red", "dot", "empty"):
        mine = item_badge(storage, deal_id, "anna", MONDAY_10)
        head = item_badge(storage, deal_id, "marek", MONDAY_10, policy=policy)
        print(f"   {deal_id:<6} Anna sees {shown(mine)}; Marek sees {shown(head)}")
    print()


def the_cap() -> None:
    """C8: above the cap the counters are blocked, with the count, instead of numbers."""
    print("6. The open-activity cap (C8)")
    print(f"   default cap {Settings().open_activity_cap:,}:")
    print(f"   50,000 open activities blocked? {over_cap(50_000, 50_000)}")
    print(f"   50,001 open activities blocked? {over_cap(50_001, 50_000)}")
    # Storing 50,001 activities would take a while; the rule is the same with a
    # small cap, so the portal below caps at 5 (Settings(open_activity_cap=5)).
    storage = portal(Settings(open_activity_cap=5))
    deal(storage, "deal-1", "anna", MONDAY_10 - timedelta(days=1))
    for n in range(1, 7):
        activity(storage, f"todo-{n}", "deal-1", "anna", MONDAY_10 - timedelta(hours=n))
        result = counters_of(storage, "anna", MONDAY_10)
        if n >= 5:
            if result.blocked:
                extra = result.open_activities - result.cap
                shown = f"blocked, complete or delete {extra} to see the numbers again"
            else:
                shown = f"Planned {result.planned}"
            print(f"   cap {result.cap}, {result.open_activities} open: {shown}")


def main() -> None:
    """Run every worked example in turn."""
    three_deals_two_activities()
    fifteen_minutes_before()
    today_until_midnight()
    los_angeles_at_five()
    badges()
    the_cap()


if __name__ == "__main__":
    main()
