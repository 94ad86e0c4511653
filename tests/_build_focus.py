"""Helpers for the focus-mode tests: a small portal and hypothesis strategies over it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from crmcounters import (
    Activity,
    ActivityKind,
    CommentAdded,
    Direction,
    IncomingChannel,
    IncomingMessage,
    InMemoryStorage,
    Item,
    ItemViewed,
    Pipeline,
    Record,
    Settings,
    Stage,
    User,
)

WARSAW = ZoneInfo("Europe/Warsaw")
#: Monday 2026-12-14 10:00 in Warsaw, as in the sample portal.
MONDAY = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)

USERS = {
    "anna": "Europe/Warsaw",
    "piotr": "Europe/Warsaw",
    "keala": "Pacific/Honolulu",  # UTC-10
    "tama": "Pacific/Kiritimati",  # UTC+14
}
PIPELINES = {
    "deal": "p-deal",
    "lead": "p-lead",
    "invoice": "p-invoice",
    "smart:128": "p-smart",
}
STAGES = ("new", "work", "won")


def portal(settings: Settings | None = None) -> InMemoryStorage:
    """Users in four zones and one three-stage pipeline per entity type."""
    storage = InMemoryStorage(settings)
    storage.add(*(User(id=uid, name=uid.title(), time_zone=zone) for uid, zone in USERS.items()))
    storage.add(
        *(
            Pipeline(
                id=pid,
                entity_type=entity,
                stages=[Stage(id=f"{pid}-{stage}", name=stage) for stage in STAGES],
            )
            for entity, pid in PIPELINES.items()
        )
    )
    return storage


def item(
    item_id: str,
    *,
    created: datetime = MONDAY - timedelta(days=30),
    responsible: str = "anna",
    entity: str = "deal",
    stage: str = "new",
) -> Item:
    """An item of `entity` in `stage` of that entity's pipeline."""
    pid = PIPELINES[entity]
    return Item(
        id=item_id,
        entity_type=entity,
        pipeline_id=pid,
        stage_id=f"{pid}-{stage}",
        responsible_id=responsible,
        created_at=created,
        title=f"Deal {item_id}",
    )


def todo(
    activity_id: str,
    *item_ids: str,
    deadline: datetime | None,
    created: datetime = MONDAY - timedelta(days=30),
    completed: datetime | None = None,
    offsets: tuple[int, ...] | None = None,
    responsible: str = "anna",
) -> Activity:
    """A planned to-do bound to `item_ids`."""
    return Activity(
        id=activity_id,
        item_ids=item_ids,
        kind=ActivityKind.TODO,
        responsible_id=responsible,
        created_at=created,
        deadline=deadline,
        completed_at=completed,
        reminder_offsets=offsets,
    )


def incoming_call(activity_id: str, item_id: str, at: datetime, *, flag: bool = True) -> Activity:
    """An incoming call activity (C3's incoming channel when `flag`)."""
    return Activity(
        id=activity_id,
        item_ids=(item_id,),
        kind=ActivityKind.CALL,
        direction=Direction.INCOMING,
        responsible_id="anna",
        created_at=at,
        incoming=flag,
    )


def message(
    event_id: str, item_id: str, at: datetime, channel: str = IncomingChannel.EMAIL
) -> IncomingMessage:
    """The client wrote (or called)."""
    return IncomingMessage(id=event_id, item_id=item_id, at=at, channel=channel)


def comment(event_id: str, item_id: str, at: datetime, author: str) -> CommentAdded:
    """A timeline comment by `author`."""
    return CommentAdded(id=event_id, item_id=item_id, at=at, author_id=author)


def viewed(event_id: str, item_id: str, at: datetime, user: str) -> ItemViewed:
    """`user` opened the item."""
    return ItemViewed(id=event_id, item_id=item_id, at=at, user_id=user)


# -- hypothesis ----------------------------------------------------------------

#: All scenario instants are whole minutes around BASE (UTC), a few days either side.
BASE = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe moves its clocks forward
_MINUTES = st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60)


def minutes(n: int) -> datetime:
    """BASE plus `n` minutes."""
    return BASE + timedelta(minutes=n)


# Built once: a fresh strategy object per draw costs more to check than to draw from.
_FOCUS_OFFSETS = st.sampled_from([(15, 0), (15,), (60, 15, 0), (0,), (1440, 30)])
_ITEM_IDS = st.sampled_from([f"d{n}" for n in range(20)])
_USERS = st.sampled_from(sorted(USERS))
_PIPELINES = st.sampled_from(sorted(PIPELINES))
_UP_TO_3 = st.integers(min_value=0, max_value=3)
_KINDS = st.sampled_from(["todo", "call", "message", "comment", "view"])
_CREATED_BEFORE = st.integers(0, 3 * 24 * 60)
_DONE_AFTER = st.one_of(st.none(), st.integers(0, 4 * 24 * 60))
_BOOLEANS = st.booleans()
_OFFSETS = st.sampled_from([None, (), (30,), (120, 15)])


@st.composite
def scenarios(draw: st.DrawFn, max_items: int = 8) -> InMemoryStorage:
    """A random portal: items with activities (open or completed) and timeline events."""
    settings = Settings(focus_reminder_offsets=draw(_FOCUS_OFFSETS))
    storage = portal(settings)
    count = draw(st.integers(min_value=0, max_value=max_items))
    records: list[Record] = []
    ids = draw(st.lists(_ITEM_IDS, min_size=count, max_size=count, unique=True))
    for item_id in ids:
        created = draw(_MINUTES)
        responsible = draw(_USERS)
        records.append(
            item(
                item_id,
                created=minutes(created),
                responsible=responsible,
                entity=draw(_PIPELINES),
            )
        )
    storage.add(*records)
    more: list[Record] = []
    serial = 0
    for item_id in ids:
        for _ in range(draw(_UP_TO_3)):
            serial += 1
            kind = draw(_KINDS)
            at = minutes(draw(_MINUTES))
            if kind == "todo":
                created = at - timedelta(minutes=draw(_CREATED_BEFORE))
                done = draw(_DONE_AFTER)
                completed = None if done is None else created + timedelta(minutes=done)
                has_deadline = draw(_BOOLEANS)
                offsets = draw(_OFFSETS)
                more.append(
                    todo(
                        f"a{serial}",
                        item_id,
                        deadline=at if has_deadline else None,
                        created=created,
                        completed=completed,
                        offsets=offsets,
                    )
                )
            elif kind == "call":
                more.append(incoming_call(f"a{serial}", item_id, at, flag=draw(_BOOLEANS)))
            elif kind == "message":
                more.append(message(f"e{serial}", item_id, at))
            elif kind == "comment":
                more.append(comment(f"e{serial}", item_id, at, draw(_USERS)))
            else:
                more.append(viewed(f"e{serial}", item_id, at, draw(_USERS)))
    storage.add(*more)
    return storage


#: An instant to look at the scenario from.
instants = _MINUTES.map(minutes)
