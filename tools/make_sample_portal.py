"""Write src/crmcounters/_sample/sample_portal.json: a small, realistic, deterministic portal.

The file is package data (`crmcounters demo` runs on it from any directory)
and the one copy the docs and examples read. Run: python
tools/make_sample_portal.py [OUTPUT]. A test checks that the shipped file is
exactly what this script writes, so change the script, not the file.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    ActivityKind,
    CalendarSettings,
    CommentAdded,
    Department,
    Direction,
    IncomingChannel,
    IncomingMessage,
    InMemoryStorage,
    Item,
    ItemViewed,
    Pipeline,
    Portal,
    Settings,
    Stage,
    StageChanged,
    StageSemantics,
    Task,
    TaskStatus,
    User,
    dump_portal,
)

WARSAW = ZoneInfo("Europe/Warsaw")
#: Monday 2026-12-14, 10:00 in Warsaw: the instant the sample is written for.
AS_OF = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)
OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "crmcounters"
    / "_sample"
    / "sample_portal.json"
)

USERS = [
    User(id="u-marek", name="Marek Nowak", time_zone="Europe/Warsaw", department_id="d-hq"),
    User(id="u-anna", name="Anna Kowalska", time_zone="Europe/Warsaw", department_id="d-eu"),
    User(id="u-piotr", name="Piotr Wiśniewski", time_zone="Europe/Warsaw", department_id="d-eu"),
    User(id="u-claire", name="Claire Martin", time_zone="Europe/Paris", department_id="d-eu"),
    User(
        id="u-carlos", name="Carlos Rivera", time_zone="America/Los_Angeles", department_id="d-am"
    ),
    User(id="u-keala", name="Keala Kahale", time_zone="Pacific/Honolulu", department_id="d-am"),
    User(id="u-linh", name="Nguyễn Thị Linh", time_zone="Asia/Ho_Chi_Minh", department_id="d-apac"),
    User(id="u-tama", name="Tama Teiaua", time_zone="Pacific/Kiritimati", department_id="d-apac"),
]
SELLERS = [u for u in USERS if u.id != "u-marek"]
DEPARTMENTS = [
    Department(id="d-hq", name="Head office", head_id="u-marek"),
    Department(id="d-eu", name="Sales Europe", head_id="u-anna", parent_id="d-hq"),
    Department(id="d-am", name="Sales Americas", head_id="u-carlos", parent_id="d-hq"),
    Department(id="d-apac", name="Sales Asia-Pacific", head_id="u-linh", parent_id="d-hq"),
]


def _stages(*spec: tuple[str, str, StageSemantics]) -> tuple[Stage, ...]:
    return tuple(Stage(id=i, name=n, semantics=s) for i, n, s in spec)


GO, WON, LOST = StageSemantics.IN_PROGRESS, StageSemantics.SUCCESS, StageSemantics.FAILURE
PIPELINES = [
    Pipeline(
        id="p-sales",
        entity_type="deal",
        name="Sales",
        stages=_stages(
            ("new", "New", GO),
            ("preparation", "Preparing documents", GO),
            ("proposal", "Proposal sent", GO),
            ("send-invoice", "Send invoice", GO),
            ("won", "Closed won", WON),
            ("lost", "Closed lost", LOST),
        ),
    ),
    Pipeline(
        id="p-partners",
        entity_type="deal",
        name="Partners",
        stages=_stages(
            ("new", "New", GO),
            ("qualification", "Qualification", GO),
            ("contract", "Contract", GO),
            ("won", "Signed", WON),
            ("lost", "Dropped", LOST),
        ),
    ),
    Pipeline(
        id="p-leads",
        entity_type="lead",
        name="Leads",
        stages=_stages(
            ("new", "Unassigned", GO),
            ("in-work", "In progress", GO),
            ("converted", "Good lead", WON),
            ("junk", "Junk lead", LOST),
        ),
    ),
    Pipeline(
        id="p-invoices",
        entity_type="invoice",
        name="Invoices",
        stages=_stages(
            ("draft", "Draft", GO),
            ("sent", "Sent", GO),
            ("paid", "Paid", WON),
            ("cancelled", "Cancelled", LOST),
        ),
    ),
    Pipeline(
        id="p-projects",
        entity_type="smart:128",
        name="Implementation projects",
        stages=_stages(
            ("brief", "Brief", GO),
            ("production", "Production", GO),
            ("delivered", "Delivered", WON),
            ("cancelled", "Cancelled", LOST),
        ),
    ),
]
CLIENTS = [
    "Hotel Bałtyk",
    "Boulangerie Dupont",
    "Cà phê Sài Gòn",
    "Pacific Surf Co.",
    "Kowalski Logistics",
    "Atelier Lumière",
    "Mekong Textiles",
    "Aloha Tours",
    "Nordic Timber",
    "Vina Seafood",
    "Café de Flore",
    "Sunset Realty",
]
PRODUCTS = ["CRM licences", "Website", "Support plan", "Training", "Integration", "Hardware"]


def _local(user: User, day_offset: int, hour: int, minute: int = 0) -> datetime:
    """An instant at a wall-clock time in the user's zone, `day_offset` days from AS_OF's day."""
    zone = ZoneInfo(user.time_zone)
    day = AS_OF.astimezone(zone).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def build() -> Portal:
    """The sample portal, the same on every run."""
    rng = random.Random(20261214)  # noqa: S311  # sample data, not security
    storage = InMemoryStorage(
        Settings(
            calendar=CalendarSettings(
                country="PL", company_days_off=(AS_OF.date().replace(day=31),)
            )
        )
    )
    storage.add(*USERS, *DEPARTMENTS)
    storage.add(*PIPELINES)
    kinds = ["deal"] * 40 + ["lead"] * 12 + ["invoice"] * 4 + ["smart:128"] * 4
    pipelines_of = {
        "deal": [p for p in PIPELINES if p.entity_type == "deal"],
        "lead": [PIPELINES[2]],
        "invoice": [PIPELINES[3]],
        "smart:128": [PIPELINES[4]],
    }
    items: list[Item] = []
    for number, entity_type in enumerate(kinds, start=1):
        pipeline = pipelines_of[entity_type][number % len(pipelines_of[entity_type])]
        stage = (
            pipeline.stages[rng.randrange(len(pipeline.stages))]
            if number % 9
            else pipeline.stages[-2]
        )
        owner = SELLERS[number % len(SELLERS)]
        client = CLIENTS[number % len(CLIENTS)]
        items.append(
            Item(
                id=f"{entity_type.replace(':', '-')}-{number:03d}",
                entity_type=entity_type,
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                responsible_id=owner.id,
                created_at=_local(owner, -rng.randrange(3, 60), rng.randrange(8, 18)),
                title=f"{PRODUCTS[number % len(PRODUCTS)]} for {client}",
                amount=str(rng.randrange(5, 500) * 100),
                currency="PLN"
                if owner.time_zone == "Europe/Warsaw"
                else ("EUR" if "Paris" in owner.time_zone else "USD"),
                client=client,
                fields={
                    "source": rng.choice(["web", "call", "partner", "fair"]),
                    "priority": rng.randrange(1, 4),
                },
            )
        )
    storage.add(*items)
    users = {u.id: u for u in USERS}
    # Six items keep no activity at all (the "No activities" column, V1).
    active_items = [item for index, item in enumerate(items) if index % 10 != 7]
    activities = _activities(rng, active_items, users)
    storage.add(*activities)
    storage.add(*_tasks(rng, items, users))
    storage.add(*_events(rng, items, users))
    return Portal(
        storage=storage,
        description="Sample portal: 8 users in 4 departments, 60 items, 200 activities "
        "(as of Monday 2026-12-14 10:00 Europe/Warsaw).",
        as_of=AS_OF,
        access=AccessPolicy(
            levels={
                "u-marek": AccessLevel.ALL,
                "u-anna": AccessLevel.SUBDEPARTMENTS,
                "u-carlos": AccessLevel.SUBDEPARTMENTS,
                "u-linh": AccessLevel.SUBDEPARTMENTS,
            }
        ),
    )


_INCOMING = [
    (ActivityKind.CALL, "Incoming call"),
    (ActivityKind.CALL, "Missed call"),
    (ActivityKind.EMAIL, "Re: our offer"),
    (ActivityKind.CHAT, "Chat message from the website"),
    (ActivityKind.PAYMENT, "Order payment received"),
    (ActivityKind.TASK_COMMENT, "New comment in a task"),
]
_PLANNED = [
    (ActivityKind.CALL, Direction.OUTGOING, "Call back"),
    (ActivityKind.EMAIL, Direction.OUTGOING, "Send the proposal"),
    (ActivityKind.MEETING, Direction.NONE, "Meeting at the client's office"),
    (ActivityKind.TODO, Direction.NONE, "Prepare the contract"),
    (ActivityKind.SMS, Direction.OUTGOING, "Remind about the payment"),
    (ActivityKind.OTHER, Direction.NONE, "Check the delivery"),
]
# (day offset from today in the responsible's zone, hour):
# overdue, today, this week, next week, later.
_WHEN = [
    (-9, 11),
    (-3, 16),
    (-1, 9),
    (0, 8),
    (0, 10),
    (0, 11),
    (0, 15),
    (0, 17),
    (1, 10),
    (2, 14),
    (3, 12),
    (4, 9),
    (7, 10),
    (9, 15),
    (12, 11),
    (20, 10),
    (45, 9),
]


def _activities(rng: random.Random, items: list[Item], users: dict[str, User]) -> list[Activity]:
    activities = []
    for number in range(1, 201):
        item = items[(number * 7) % len(items)]
        owner = users[item.responsible_id]
        created = _local(owner, -rng.randrange(5, 30), rng.randrange(8, 18))
        common = {
            "id": f"act-{number:03d}",
            "item_ids": (item.id,),
            "responsible_id": owner.id,
            "created_at": created,
        }
        if (
            number % 47 == 0
        ):  # bound to two items of the same responsible (C2: counts once per item)
            twin = next(i for i in items if i.responsible_id == owner.id and i.id != item.id)
            common["item_ids"] = (item.id, twin.id)
        shape = number % 10
        if shape in (0, 5):  # incoming, unprocessed (C3)
            kind, subject = _INCOMING[number % len(_INCOMING)]
            activities.append(
                Activity(
                    **common,
                    kind=kind,
                    direction=Direction.INCOMING,
                    subject=subject,
                    incoming=True,
                )
            )
            continue
        kind, direction, subject = _PLANNED[number % len(_PLANNED)]
        author = rng.choice(list(users.values())).id
        if shape == 9:  # open, without a deadline (never lights, C4; Later column, V1)
            activities.append(
                Activity(
                    **common, kind=kind, direction=direction, author_id=author, subject=subject
                )
            )
            continue
        day, hour = _WHEN[number % len(_WHEN)]
        deadline = _local(owner, day, hour, rng.choice([0, 0, 10, 30, 45]))
        offsets = None if number % 4 else rng.choice([(30,), (60, 15), (0,), (1440, 15)])
        completed = None
        if shape == 3 and deadline < AS_OF:  # done, no longer counted
            completed = max(deadline, created) + timedelta(minutes=rng.randrange(5, 90))
        activities.append(
            Activity(
                **common,
                kind=kind,
                direction=direction,
                author_id=author,
                subject=subject,
                deadline=deadline,
                completed_at=completed,
                reminder_offsets=offsets,
            )
        )
    return activities


def _tasks(rng: random.Random, items: list[Item], users: dict[str, User]) -> list[Task]:
    tasks = []
    for number, item in enumerate(items[::6], start=1):
        owner = users[item.responsible_id]
        tasks.append(
            Task(
                id=f"task-{number:03d}",
                item_id=item.id,
                title=rng.choice(
                    [
                        "Prepare documents",
                        "Check the client's payment history",
                        "Draft the contract",
                    ]
                ),
                responsible_id=owner.id,
                created_at=_local(owner, -rng.randrange(2, 10), 9),
                status=rng.choice(list(TaskStatus)),
                observer_ids=("u-marek",) if number % 3 == 0 else (),
                deadline=_local(owner, rng.randrange(-2, 8), 17),
                time_tracking=number % 2 == 0,
            )
        )
    return tasks


def _events(rng: random.Random, items: list[Item], users: dict[str, User]) -> list[object]:
    events: list[object] = []
    colleagues = list(users)
    for number, item in enumerate(items, start=1):
        owner = users[item.responsible_id]
        at = item.created_at
        pipeline = next(p for p in PIPELINES if p.id == item.pipeline_id)
        if item.stage_id != pipeline.stages[0].id:
            at += timedelta(hours=rng.randrange(2, 48))
            events.append(
                StageChanged(
                    id=f"ev-{number:03d}-stage",
                    item_id=item.id,
                    at=at,
                    by_user_id=owner.id,
                    from_stage_id=pipeline.stages[0].id,
                    to_stage_id=item.stage_id,
                )
            )
        if number % 3 == 0:
            author = colleagues[number % len(colleagues)]
            events.append(
                CommentAdded(
                    id=f"ev-{number:03d}-comment",
                    item_id=item.id,
                    at=AS_OF - timedelta(hours=rng.randrange(1, 72)),
                    author_id=author,
                    text="Any news from the client?"
                    if author != owner.id
                    else "Called, no answer.",
                )
            )
        if number % 4 == 1:
            events.append(
                IncomingMessage(
                    id=f"ev-{number:03d}-incoming",
                    item_id=item.id,
                    at=AS_OF - timedelta(minutes=rng.randrange(5, 3000)),
                    channel=list(IncomingChannel)[number % 4],
                    text="Hello, could you send the details?",
                )
            )
        if number % 8 == 1:
            events.append(
                ItemViewed(
                    id=f"ev-{number:03d}-viewed",
                    item_id=item.id,
                    at=AS_OF - timedelta(minutes=2),
                    user_id=owner.id,
                )
            )
    return events


def main(argv: list[str]) -> int:
    """Write the sample portal to OUTPUT (or the path given)."""
    target = Path(argv[1]) if len(argv) > 1 else OUTPUT
    target.write_text(dump_portal(build()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
