"""Portals for the explorer tests: the sample, and a small hostile one with a blocked user."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    Department,
    Direction,
    IncomingMessage,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    Settings,
    Stage,
    User,
)
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes

WARSAW = ZoneInfo("Europe/Warsaw")
#: The hostile portal's instant: Monday 2026-12-14 10:00 in Warsaw.
AT = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)

#: Text that would be markup, script or a broken attribute if it reached the page unescaped.
HOSTILE = '"><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>&amp;'


def sample() -> Portal:
    """The shipped sample portal (as of Monday 2026-12-14 10:00 Warsaw)."""
    from crmcounters import load_portal

    return load_portal(sample_bytes(SAMPLE_PORTAL))


def hostile_portal() -> Portal:
    """Three users: `boss` sees all; `rep` is over a cap of 3 (C8); `mute` may see nothing.

    Every title, name and stage name is `HOSTILE`-laced; `deal-1` has an unread
    incoming e-mail and activities lighting during the day.
    """
    storage = InMemoryStorage(Settings(open_activity_cap=3))
    storage.add(
        User(id="boss", name=f"Boss {HOSTILE}", time_zone="Europe/Warsaw", department_id="hq"),
        User(id="rep", name=f"Rep {HOSTILE}", time_zone="Pacific/Kiritimati", department_id="hq"),
        User(id="mute", name="Mute", time_zone="Pacific/Honolulu", department_id="hq"),
        Department(id="hq", name=f"HQ {HOSTILE}", head_id="boss"),
        Pipeline(
            id="p",
            entity_type="deal",
            name=f"Sales {HOSTILE}",
            stages=(Stage(id="new", name=f"New {HOSTILE}"), Stage(id="won", name="Won")),
        ),
    )
    created = AT - timedelta(days=3)

    def deal(item_id: str, responsible: str) -> Item:
        return Item(
            id=item_id,
            entity_type="deal",
            pipeline_id="p",
            stage_id="new",
            responsible_id=responsible,
            created_at=created,
            title=f"{item_id} {HOSTILE}",
            client=HOSTILE,
        )

    storage.add(deal("deal-1", "boss"), deal("deal-2", "boss"), deal("deal-3", "rep"))
    storage.add(deal("deal-4", "mute"))
    activities = [
        Activity(
            id=f"call-{hours}",
            item_ids=("deal-1",),
            kind="call",
            responsible_id="boss",
            created_at=created,
            deadline=AT + timedelta(hours=hours),
        )
        for hours in (1, 3)
    ]
    activities += [
        Activity(
            id=f"todo-{n}",
            item_ids=("deal-3",),
            kind="todo",
            responsible_id="rep",
            created_at=created,
            deadline=AT + timedelta(days=n),
        )
        for n in range(1, 5)  # four open activities: over the cap of 3
    ]
    activities.append(
        Activity(
            id="mail-1",
            item_ids=("deal-1",),
            kind="email",
            direction=Direction.INCOMING,
            responsible_id="boss",
            created_at=AT - timedelta(hours=1),
            incoming=True,
        )
    )
    storage.add(*activities)
    storage.add(
        IncomingMessage(
            id="msg-1",
            item_id="deal-1",
            at=AT - timedelta(hours=1),
            channel="email",
            text=HOSTILE,
        )
    )
    policy = AccessPolicy(levels={"boss": AccessLevel.ALL, "mute": AccessLevel.NONE})
    return Portal(storage=storage, description=f"Hostile {HOSTILE}", as_of=AT, access=policy)
