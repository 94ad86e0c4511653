"""Rules in production (SPEC P1-P4): a database, a request handler, a worker, an outbox.

What a CRM host does around the pure rule engine, on a SQLite file (a
PostgreSQL DSN works the same):

- a request handler stores a user's move and feeds its event to the rules in
  one transaction (P1): the rules' effects and the jobs they schedule commit
  with the move, or nothing does;
- a worker runs the due jobs in claimed batches, each job once (P2); here
  `Worker(host).run(once=True)`, what `crmcounters worker --once` does;
- notifications wait in the outbox; the host takes them, delivers them and
  acknowledges them, de-duplicating by their stable ids (P3).

A `ManualClock` stands in for the system clock so that the example can skip a
day; a real host leaves `clock` out.

Run: python examples/production_host.py
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from crmcounters import RuleHost, StageChanged, Worker, sample_portal, sample_rules
from crmcounters.rules import RuleEngine
from crmcounters.sql import SqlJobStore, SqlOutbox, SqlStorage, import_portal, open_storage
from crmcounters.testing import ManualClock

WARSAW = ZoneInfo("Europe/Warsaw")  # where the sample portal's sellers work


def move_deal(host: RuleHost, storage: SqlStorage, item_id: str, stage_id: str) -> str:
    """A request handler: the user drags a deal to another stage."""
    now = host.clock.now()
    item = storage.item(item_id)
    event = StageChanged(
        id=f"move-{item_id}-{now:%Y%m%d%H%M%S}",
        item_id=item_id,
        at=now,
        by_user_id=item.responsible_id,
        from_stage_id=item.stage_id,
        to_stage_id=stage_id,
    )
    with host.transaction([item_id]):  # the move and what the rules make of it, together
        storage.write(add=[event], replace=[attrs.evolve(item, stage_id=stage_id)])
        outcome = host.feed(event)
    return (
        f"{item_id} -> {stage_id}: effects now {len(outcome.effects)}, "
        f"jobs for later {len(outcome.scheduled)}"
    )


def main() -> None:
    portal = sample_portal()
    assert portal.as_of is not None
    with tempfile.TemporaryDirectory() as folder:
        storage = open_storage(Path(folder) / "crm.db", create=True)
        with storage:
            import_portal(portal, storage)
            clock = ManualClock(portal.as_of)  # Monday 2026-12-14 10:00 in Warsaw
            host = RuleHost(
                RuleEngine.for_storage(sample_rules(), storage),
                storage,
                SqlJobStore(storage),
                SqlOutbox(storage, clock=clock),
                clock=clock,
            )
            print(move_deal(host, storage, "deal-022", "new"))
            print(move_deal(host, storage, "deal-014", "proposal"))
            due = host.next_due()
            assert due is not None
            print(f"pending jobs: {len(host.jobs)}; next due {due.astimezone(WARSAW):%a %d %H:%M}")

            clock.advance(timedelta(hours=25))  # a day later, the worker's turn
            report = Worker(host).run(once=True)
            print(f"worker: {report.finished} jobs run, {report.effects} effects")

            outbox = host.outbox
            taken = outbox.take(100)
            for entry in taken:
                print(f"deliver {entry.kind} {entry.id}: {dict(entry.payload)['text']}")
            print(
                f"acknowledged {outbox.acknowledge(entry.id for entry in taken)}; "
                f"{len(outbox)} left in the outbox"
            )


if __name__ == "__main__":
    main()
