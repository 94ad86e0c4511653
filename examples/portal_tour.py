"""A tour of the sample portal: who works where, what they own, what is open.

Run: python examples/portal_tour.py [PORTAL.json]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from crmcounters import read_portal

SAMPLE = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "crmcounters"
    / "_sample"
    / "sample_portal.json"
)


def main(argv: list[str]) -> int:
    """Print each user's items and open activities as of the portal's `as_of`."""
    portal = read_portal(argv[1] if len(argv) > 1 else SAMPLE)
    storage = portal.storage
    print(portal.description)
    calendar = storage.settings.calendar.build()
    if portal.as_of is not None:
        # Instants are held in UTC (G4); a day is a day in some user's zone: the first user's.
        local = portal.as_of.astimezone(next(iter(storage.users())).zone)
        print(f"As of {local.isoformat()}")
        print(f"Working day in {calendar.country}: {calendar.is_working_day(local.date())}")
    print()
    for user in storage.users():
        supervisor = storage.supervisor_of(user.id)
        items = storage.items_of(user.id)
        open_by_kind: Counter[str] = Counter()
        for item in items:
            for activity in storage.open_activities_of_item(item.id):
                open_by_kind["incoming" if activity.incoming else "planned"] += 1
        boss = supervisor.name if supervisor else "-"
        print(
            f"{user.name:<18} {user.time_zone:<20} supervisor {boss:<16} "
            f"items {len(items):>2}  open incoming {open_by_kind['incoming']:>2}  "
            f"open planned {open_by_kind['planned']:>2}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
