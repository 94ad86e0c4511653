"""InMemoryStorage: indexed per-user and per-item reads against a full scan of the same data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crmcounters import Activity, InMemoryStorage, Item, Pipeline, Stage, User

from ._harness import figure, header, median_seconds, note, scaled, timed

T0 = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)


def build(users: int, items_per_user: int, activities_per_item: int) -> InMemoryStorage:
    """A portal of `users` users, each owning items with open activities."""
    storage = InMemoryStorage()
    storage.add_all(User(id=f"u{u}", name=f"User {u}", time_zone="UTC") for u in range(users))
    storage.add(Pipeline(id="p", entity_type="deal", stages=(Stage(id="s", name="S"),)))
    storage.add_all(
        Item(
            id=f"i{u}-{n}",
            entity_type="deal",
            pipeline_id="p",
            stage_id="s",
            responsible_id=f"u{u}",
            created_at=T0,
        )
        for u in range(users)
        for n in range(items_per_user)
    )
    storage.add_all(
        Activity(
            id=f"a{u}-{n}-{k}",
            item_ids=(f"i{u}-{n}",),
            kind="call",
            responsible_id=f"u{u}",
            created_at=T0,
            deadline=T0 + timedelta(hours=k),
        )
        for u in range(users)
        for n in range(items_per_user)
        for k in range(activities_per_item)
    )
    return storage


def main() -> None:
    """Print per-user and per-item read times against a full scan."""
    header("storage: indexed reads vs full scan")
    users = scaled(1_000, 2)
    storage, seconds = timed(lambda: build(users, 20, 5))
    total = len(storage.activities())
    note(f"{users} users, {users * 20} items, {total} activities loaded in {seconds:.2f} s")
    items = list(storage.items())
    activities = list(storage.activities())
    user = "u1"

    def scan_items() -> list[Item]:
        return [i for i in items if i.responsible_id == user]

    def scan_open() -> list[Activity]:
        return [a for a in activities if "i1-3" in a.item_ids and a.is_open]

    figure(
        "items_of(user)",
        median_seconds(lambda: storage.items_of(user), number=200),
        baseline=("full scan", median_seconds(scan_items, number=5)),
    )
    figure(
        "open_activities_of_item(item)",
        median_seconds(lambda: storage.open_activities_of_item("i1-3"), number=200),
        baseline=("full scan", median_seconds(scan_open, number=5)),
    )
