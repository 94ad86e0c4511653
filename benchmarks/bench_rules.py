"""Rule engine: 100,000 items enter a stage with 3 delayed rules each; run_due across two days.

Target (issue 6): at least 50,000 job evaluations per second, memory linear in
pending jobs. The baseline keeps the same jobs in a plain list and scans all of
them on every tick (what a host without a due-time index would do); both
evaluate the due jobs with the same engine, so the ratio is the index's gain.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from benchmarks._harness import figure, header, note, peak_memory, scaled, timed
from crmcounters import (
    CalendarSettings,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    StageChanged,
    User,
)
from crmcounters.rules import (
    AddHistoryEntry,
    Comparison,
    Delay,
    Job,
    NotifySupervisor,
    Outcome,
    PendingJobs,
    Rule,
    RuleEngine,
    RuleSet,
    ScheduleActivity,
    Timing,
)

WARSAW = ZoneInfo("Europe/Warsaw")
START = datetime(2026, 12, 14, 8, 0, tzinfo=WARSAW)  # a Monday
TICK = timedelta(minutes=15)
ZONES = ("Europe/Warsaw", "Europe/Paris", "Pacific/Honolulu", "Pacific/Kiritimati")


def _portal(n_items: int) -> InMemoryStorage:
    storage = InMemoryStorage(Settings(calendar=CalendarSettings(country="PL")))
    users = [User(id="boss", name="Boss", time_zone="Europe/Warsaw", department_id="d-0")]
    departments = [Department(id="d-0", name="Head office", head_id="boss")]
    for d in range(1, 11):
        departments.append(
            Department(id=f"d-{d}", name=f"Team {d}", head_id=f"u-{d}-0", parent_id="d-0")
        )
        users += [
            User(
                id=f"u-{d}-{u}",
                name=f"User {d}.{u}",
                time_zone=ZONES[u % 4],
                department_id=f"d-{d}",
            )
            for u in range(20)
        ]
    storage.add(*users, *departments)
    stages = [Stage(id=s, name=s.title()) for s in ("new", "preparation", "proposal")]
    storage.add(Pipeline(id="p-sales", entity_type="deal", stages=stages))
    responsible = [u.id for u in users[1:]]
    storage.add_all(
        Item(
            id=f"deal-{n}",
            entity_type="deal",
            pipeline_id="p-sales",
            stage_id="new",
            responsible_id=responsible[n % len(responsible)],
            created_at=START,
            title=f"Deal {n}",
            amount=Decimal(n % 5000),
            currency="PLN",
            client=f"Client {n % 977}",
        )
        for n in range(n_items)
    )
    return storage


def _rule_set() -> RuleSet:
    def rule(rule_id: str, **kwargs: object) -> Rule:
        return Rule(id=rule_id, entity_type="deal", pipeline_id="p-sales", stage_id="new", **kwargs)  # type: ignore[arg-type]

    return RuleSet(
        rules=[
            rule(
                "r-notify",
                timing=Timing(delay=Delay(after=24, unit="hours")),
                condition=Comparison(field="amount", op="ge", value=1000),
                action=NotifySupervisor(
                    text="{{Responsible}} has not moved {{Title}} ({{Amount}})"
                ),
            ),
            rule(
                "r-history",
                timing=Timing(delay=Delay(after=1, unit="business_days"), working_time_only=True),
                action=AddHistoryEntry(text="{{Title}} not moved in one business day"),
            ),
            rule(
                "r-call",
                timing=Timing(delay=Delay(after=30, unit="hours")),
                action=ScheduleActivity(description="Call {{Client}} about {{Title}}"),
            ),
        ]
    )


class _ScanAll:
    """The baseline job store: a list, scanned whole on every tick."""

    def __init__(self, jobs: Iterable[Job]) -> None:
        self.jobs = list(jobs)

    def pending_of_item(self, item_id: str) -> list[Job]:
        return [job for job in self.jobs if job.item_id == item_id]

    def due(self, now: datetime) -> list[Job]:
        return sorted((j for j in self.jobs if j.due_at <= now), key=lambda j: (j.due_at, j.id))

    def apply(self, outcome: Outcome) -> None:
        gone = set(outcome.finished) | set(outcome.cancelled)
        if gone:
            self.jobs = [job for job in self.jobs if job.id not in gone]


def _entered_at(n: int, n_items: int) -> datetime:
    """Deals arrive evenly over Monday's ten working hours."""
    return START + timedelta(hours=10) * n / n_items


def _enter_all(engine: RuleEngine, storage: InMemoryStorage, pending: PendingJobs) -> int:
    n_items = len(storage.items())
    for n, item in enumerate(storage.items()):
        at = _entered_at(n, n_items)
        event = StageChanged(
            id=f"e-{item.id}",
            item_id=item.id,
            at=at,
            by_user_id=item.responsible_id,
            to_stage_id="new",
        )
        pending.apply(engine.handle(event, storage, at, pending))
    return len(pending)


def _move_some(engine: RuleEngine, storage: InMemoryStorage, pending: PendingJobs) -> int:
    """A fifth of the deals move on two hours after they arrive: their jobs are cancelled (R1)."""
    cancelled = 0
    n_items = len(storage.items())
    for n, item in enumerate(list(storage.items())):
        if n % 5:
            continue
        at = _entered_at(n, n_items) + timedelta(hours=2)
        moved = attrs.evolve(item, stage_id="preparation")
        storage.replace(moved)
        event = StageChanged(
            id=f"m-{item.id}",
            item_id=item.id,
            at=at,
            by_user_id=item.responsible_id,
            from_stage_id="new",
            to_stage_id="preparation",
        )
        outcome = engine.handle(event, storage, at, pending)
        cancelled += len(outcome.cancelled)
        pending.apply(outcome)
    return cancelled


def _run_days(
    engine: RuleEngine, storage: InMemoryStorage, store: PendingJobs | _ScanAll
) -> tuple[int, int]:
    evaluations = effects = 0
    now = START
    end = START + timedelta(days=2, hours=12)
    while now <= end:
        outcome = engine.run_due(storage, now, store)
        store.apply(outcome)
        evaluations += len(outcome.finished)
        effects += len(outcome.effects)
        now += TICK
    return evaluations, effects


def main() -> None:
    """Print job evaluations per second and memory per pending job, against the scan baseline."""
    n_items = scaled(100_000, minimum=50)
    header(
        f"rules: {n_items:,} items enter a stage over a day, 3 delayed rules each; "
        "run_due every 15 min for 2.5 days"
    )
    storage = _portal(n_items)
    engine, build_seconds = timed(lambda: RuleEngine.for_storage(_rule_set(), storage))
    note(f"engine built (calendar included) in {build_seconds * 1e3:.0f} ms")

    pending = PendingJobs()
    scheduled, enter_seconds = timed(lambda: _enter_all(engine, storage, pending))
    figure(f"handle: {n_items:,} stage entries ({scheduled:,} jobs)", enter_seconds)
    note(f"  {n_items / enter_seconds:,.0f} events per second")
    cancelled, move_seconds = timed(lambda: _move_some(engine, storage, pending))
    figure(f"handle: {n_items // 5:,} moves ({cancelled:,} jobs cancelled)", move_seconds)

    baseline_store = _ScanAll(pending)
    cpu_seconds: list[float] = []

    def ours_with_cpu() -> tuple[int, int]:
        start = time.process_time()
        result = _run_days(engine, storage, pending)
        cpu_seconds.append(time.process_time() - start)
        return result

    (evaluations, effects), ours = timed(ours_with_cpu)
    cpu = cpu_seconds[0]
    (base_evaluations, base_effects), base = timed(
        lambda: _run_days(engine, storage, baseline_store)
    )
    assert (evaluations, effects) == (base_evaluations, base_effects)
    figure(
        f"run_due over 2.5 days: {evaluations:,} job evaluations",
        ours,
        baseline=("scan all jobs each tick", base),
    )
    rate = evaluations / ours if ours > 0 else float("inf")
    note(f"  {rate:,.0f} job evaluations per second, {effects:,} effects [target: >= 50,000/s]")
    note(
        f"  {evaluations / cpu if cpu > 0 else float('inf'):,.0f} per CPU second "
        "(wall time suffers on a busy machine)"
    )

    jobs = baseline_store_jobs(storage, engine)
    for size in (len(jobs) // 2, len(jobs)):
        _, peak = peak_memory(lambda size=size: PendingJobs(_copies(jobs[:size])))  # type: ignore[misc]
        note(
            f"memory: {size:,} pending jobs take {peak / 1e6:,.1f} MB "
            f"= {peak / max(size, 1):,.0f} bytes per job"
        )


def baseline_store_jobs(storage: InMemoryStorage, engine: RuleEngine) -> list[Job]:
    """A fresh set of jobs, one stage entry per item, for the memory figures."""
    pending = PendingJobs()
    for item in storage.items():
        event = StageChanged(
            id=f"x-{item.id}",
            item_id=item.id,
            at=START,
            by_user_id=item.responsible_id,
            to_stage_id=item.stage_id,
        )
        pending.apply(engine.handle(event, storage, START, pending))
    return list(pending)


def _copies(jobs: list[Job]) -> list[Job]:
    """New job values with their own strings, so the measure counts what a loaded store holds."""
    return [
        Job(
            id="".join(job.id),
            rule_id=job.rule_id,
            item_id="".join(job.item_id),
            pipeline_id=job.pipeline_id,
            stage_id=job.stage_id,
            entry_id="".join(job.entry_id),
            entered_at=job.entered_at,
            due_at=job.due_at + timedelta(0),
        )
        for job in jobs
    ]


if __name__ == "__main__":
    main()
