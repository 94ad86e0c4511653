"""Rule engine: 50,000 items enter a stage with 7 delayed rules each; run_due across two days;
then trigger matching among 100 and 10,000 triggers.

Target (issues 6 and 17): at least 50,000 job evaluations per second with the
R8/R9 actions in the mix (notify users, an SMS to the client, round-robin, set
field, beside the R4 ones), memory linear in pending jobs. The baseline keeps
the same jobs in a plain list and scans all of them on every tick (what a host
without a due-time index would do); both evaluate the due jobs with the same
engine, so the ratio is the index's gain.

Trigger matching (issue 17, R10): an event costs O(triggers of its kind in its
item's pipeline), not O(all triggers): the same payments are handled by an
engine with 100 and with 10,000 triggers of other kinds and pipelines (the
ratio should be about 1), against a baseline that scans every trigger; a third
engine has its 10,000 triggers all of the payment's kind and pipeline, to show
what the cost does grow with.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from benchmarks._harness import (
    figure,
    header,
    median_seconds,
    note,
    peak_memory,
    scaled,
    timed,
)
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
    ChangeResponsible,
    Comparison,
    Delay,
    Job,
    NotifySupervisor,
    NotifyUsers,
    Outcome,
    PaymentReceived,
    PendingJobs,
    Rule,
    RuleEngine,
    RuleSet,
    ScheduleActivity,
    SendClientMessage,
    SetField,
    Timing,
    Trigger,
    TriggerEvent,
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
            # R8, R9: the new actions in the mix.
            rule(
                "r-inform",
                timing=Timing(delay=Delay(after=26, unit="hours")),
                action=NotifyUsers(
                    text="{{Title}} waits in {{Stage}}",
                    recipients=["responsible", "supervisor", "head:d-0"],
                ),
            ),
            rule(
                "r-sms",
                timing=Timing(delay=Delay(after=25, unit="hours")),
                action=SendClientMessage(channel="sms", text="{{Client}}: about {{Title}}"),
            ),
            rule(
                "r-spread",
                timing=Timing(delay=Delay(after=28, unit="hours")),
                condition=Comparison(field="amount", op="lt", value=2500),
                action=ChangeResponsible(round_robin=["u-1-1", "u-2-1", "u-3-1", "u-4-1"]),
            ),
            rule(
                "r-flag",
                timing=Timing(delay=Delay(after=27, unit="hours")),
                action=SetField(field="field:late", value=True),
            ),
        ],
        fields={"late": "boolean"},
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
    n_items = scaled(50_000, minimum=50)
    header(
        f"rules: {n_items:,} items enter a stage over a day, 7 delayed rules each "
        "(R4 and R8/R9 actions); run_due every 15 min for 2.5 days"
    )
    storage = _portal(n_items)
    engine, build_seconds = timed(
        lambda: RuleEngine.for_storage(_rule_set(), storage, sms_max_length=160)
    )
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
    trigger_matching()


#: Trigger kinds other than the payment's, for the triggers an event must not look at.
_OTHER_KINDS = (
    TriggerEvent.INCOMING_EMAIL,
    TriggerEvent.INCOMING_CALL,
    TriggerEvent.MISSED_CALL,
    TriggerEvent.CHAT_MESSAGE,
)


def _trigger_portal(n_items: int, n_pipelines: int) -> InMemoryStorage:
    """The rules portal, plus pipelines for triggers elsewhere."""
    storage = _portal(n_items)
    stages = [Stage(id=s, name=s.title()) for s in ("new", "preparation", "proposal")]
    storage.add(
        *(
            Pipeline(id=f"p-other-{n}", entity_type="deal", stages=stages)
            for n in range(n_pipelines)
        )
    )
    return storage


def _triggers(n_others: int, n_pipelines: int, *, same_kind: bool = False) -> list[Trigger]:
    """5 payment triggers in the sales pipeline whose filter never holds (so each payment
    tests all 5 and moves nothing), plus `n_others`: of other kinds and pipelines, or (with
    `same_kind`) payment triggers of the sales pipeline that never hold either."""
    never = Comparison(field="event:amount", op="gt", value=10**12)
    found = [
        Trigger(
            id=f"t-pay-{n}",
            entity_type="deal",
            pipeline_id="p-sales",
            stage_id="proposal",
            event=TriggerEvent.PAYMENT_RECEIVED,
            filter=never,
        )
        for n in range(5)
    ]
    for n in range(n_others):
        if same_kind:
            found.append(
                Trigger(
                    id=f"t-same-{n}",
                    entity_type="deal",
                    pipeline_id="p-sales",
                    stage_id=("preparation", "proposal")[n % 2],
                    event=TriggerEvent.PAYMENT_RECEIVED,
                    filter=never,
                )
            )
            continue
        elsewhere = n % 2 == 0  # half in other pipelines (any kind), half of other kinds here
        found.append(
            Trigger(
                id=f"t-other-{n}",
                entity_type="deal",
                pipeline_id=f"p-other-{n % n_pipelines}" if elsewhere else "p-sales",
                stage_id=("preparation", "proposal")[n % 2],
                event=TriggerEvent.PAYMENT_RECEIVED if elsewhere else _OTHER_KINDS[n % 4],
            )
        )
    return found


def _pay_all(engine: RuleEngine, storage: InMemoryStorage, payments: list[PaymentReceived]) -> int:
    pending = PendingJobs()
    effects = 0
    for payment in payments:
        effects += len(engine.handle(payment, storage, payment.at, pending).effects)
    return effects


def _scan_all(
    triggers: list[Trigger], storage: InMemoryStorage, payments: list[PaymentReceived]
) -> int:
    """The baseline: each payment looks at every trigger for its kind and pipeline."""
    found = 0
    for payment in payments:
        item = storage.item(payment.item_id)
        for trigger in triggers:
            if (
                trigger.event is TriggerEvent.PAYMENT_RECEIVED
                and trigger.pipeline_id == item.pipeline_id
            ):
                found += 1
    return found


def trigger_matching() -> None:
    """Payments handled by engines with 100 and 10,000 triggers of other kinds and pipelines."""
    n_events = scaled(20_000, minimum=20)
    n_pipelines = 100
    header(
        f"rules: trigger matching, {n_events:,} payments; 5 payment triggers in the item's "
        "pipeline beside 100 or 10,000 others"
    )
    storage = _trigger_portal(n_events, n_pipelines)
    payments = [
        PaymentReceived(
            id=f"pay-{n}", item_id=f"deal-{n}", at=START, amount=Decimal(100), currency="PLN"
        )
        for n in range(n_events)
    ]
    engines = {}
    for label, count, same in (
        ("100 others", 100, False),
        ("10,000 others", 10_000, False),
        ("10,000 of the same kind and pipeline", 10_000, True),
    ):
        triggers = _triggers(count, n_pipelines, same_kind=same)
        engine, build = timed(
            lambda triggers=triggers: RuleEngine.for_storage(RuleSet(triggers=triggers), storage)  # type: ignore[misc]
        )
        note(f"engine with {len(triggers):,} triggers ({label}) built in {build * 1e3:.0f} ms")
        engines[label] = (engine, triggers)
    _pay_all(engines["100 others"][0], storage, payments[:100])  # warm-up
    n = len(payments)
    # Interleaved rounds: on a shared machine the load drifts; both see the same drift.
    rounds: dict[str, list[float]] = {"100 others": [], "10,000 others": []}
    for _ in range(7):
        for label, times in rounds.items():
            engine = engines[label][0]
            times.append(timed(lambda engine=engine: _pay_all(engine, storage, payments))[1] / n)  # type: ignore[misc]
    small, large = (statistics.median(times) for times in rounds.values())
    # The linear cases take milliseconds per payment: a sample of the payments is enough.
    sample = payments[: max(10, n // 100)]
    same_engine = engines["10,000 of the same kind and pipeline"][0]
    same = median_seconds(lambda: _pay_all(same_engine, storage, sample), repeat=3) / len(sample)
    big_triggers = engines["10,000 others"][1]
    scan = median_seconds(lambda: _scan_all(big_triggers, storage, sample), repeat=3) / len(sample)
    figure("per payment, 100 other triggers", small)
    figure(
        "per payment, 10,000 other triggers",
        large,
        baseline=("scanning the 10,005 triggers", scan),
    )
    ratio = large / small if small > 0 else float("inf")
    note(f"  10,000 vs 100 other triggers: {ratio:.2f}x the cost [target: ~1, O(kind, pipeline)]")
    figure(
        "per payment, 10,000 of its own kind and pipeline",
        same,
        baseline=("100 other triggers", small),
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
