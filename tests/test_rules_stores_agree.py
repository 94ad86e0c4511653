"""The job stores agree (P1, P2, R6): generated rule sets and streams of user actions give
the same outcomes with `PendingJobs` in memory as with `SqlJobStore` in a database, and the
same final data, jobs and outbox when a `RuleHost` runs the due jobs in small claimed batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build_rules import (
    MONDAY,
    STAGE_IDS,
    USERS,
    deal,
    make_storage,
    ping_pong_rules,
    sales_rule,
    sales_trigger,
)
from _sql_backends import PG_DSN, PG_SKIP_REASON, copy_into, sql_examples, sql_storage
from crmcounters import (
    CascadeError,
    InMemoryOutbox,
    RuleHost,
    StageChanged,
    TaskStatus,
    WritableStorage,
)
from crmcounters.rules import (
    AddHistoryEntry,
    Comparison,
    CompleteTasks,
    CreateTask,
    Delay,
    JobQueue,
    NotifySupervisor,
    PendingJobs,
    Rule,
    RuleEngine,
    RuleSet,
    ScheduleActivity,
    TaskStatusChanged,
    Timing,
    Trigger,
)
from crmcounters.sql import SqlJobStore, SqlOutbox
from crmcounters.testing import ManualClock, RuleRuntime

_IN = {
    "now": Timing(),
    "minutes": Timing(delay=Delay(after=20, unit="minutes")),
    "hours": Timing(delay=Delay(after=3, unit="hours")),
    "business": Timing(delay=Delay(after=1, unit="business_days")),
    "working": Timing(working_time_only=True),
}
RULE_POOL = [
    sales_rule(f"r-{stage}-{kind}-{action}", stage, timing=_IN[kind], **extra)
    for stage in ("new", "preparation", "proposal")
    for kind, action, extra in (
        ("now", "task", {"action": CreateTask(title=f"{stage} task")}),
        ("minutes", "done", {"action": CompleteTasks(pipeline_id="p-sales", stage_ids=[stage])}),
        (
            "hours",
            "notify",
            {
                "action": NotifySupervisor(text="{{Title}} in {{Stage}}"),
                "condition": Comparison(field="amount", op="ge", value=1000),
            },
        ),
        ("business", "call", {"action": ScheduleActivity(description="call {{Client}}")}),
        ("working", "note", {"action": AddHistoryEntry(text="{{Responsible}}: {{Stage}}")}),
    )
]
TRIGGER_POOL = [
    sales_trigger(
        f"t-{source}-{target}",
        target,
        allow_backward=True,
        filter=Comparison(field="title", op="contains", value=source),
    )
    for source, target in (
        ("new", "preparation"),
        ("preparation", "proposal"),
        ("proposal", "new"),
        ("preparation", "new"),
    )
]


def _rule_set(rules: list[Rule], triggers: list[Trigger], loop: bool) -> RuleSet:
    """The drawn rules, and with `loop` the ping-pong set, which restarts itself (P4)."""
    if loop:
        ping_pong = ping_pong_rules(Delay(after=20, unit="minutes"))
        rules, triggers = [*rules, *ping_pong.rules], [*triggers, *ping_pong.triggers]
    return RuleSet(rules=rules, triggers=triggers)


RULE_SETS = st.builds(
    _rule_set,
    rules=st.lists(
        st.sampled_from(RULE_POOL), unique_by=lambda rule: rule.id, min_size=4, max_size=12
    ),
    triggers=st.lists(
        st.sampled_from(TRIGGER_POOL), unique_by=lambda t: t.id, min_size=1, max_size=4
    ),
    loop=st.booleans(),
)
ITEMS = 3
_WORKED = ["new", "preparation", "proposal"]  # the stages with rules


def _create(index: int) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just("create"),
        st.just(index),
        st.sampled_from(_WORKED),
        st.sampled_from(["500", "5000"]),
        st.sampled_from([user.id for user in USERS]),
    )


#: Each deal is created first (in a stage with rules), then the user moves deals, completes
#: tasks and lets time pass.
OPS = st.builds(
    lambda first, rest: [*first, *rest],
    st.tuples(*(_create(index) for index in range(ITEMS))),
    st.lists(
        st.one_of(
            st.tuples(st.just("move"), st.integers(0, ITEMS - 1), st.sampled_from(STAGE_IDS)),
            st.tuples(st.just("advance"), st.integers(1, 60 * 30)),
            st.tuples(st.just("task"), st.integers(0, 5)),
        ),
        max_size=15,
    ),
)


@attrs.define
class Host:
    """One way of running the rules: stores a user's change and feeds its event; moves time."""

    storage: WritableStorage
    jobs: JobQueue
    outbox: InMemoryOutbox | SqlOutbox
    clock: ManualClock
    feed: Callable[[Any], object]
    advance_to: Callable[[datetime], object]
    runtime: RuleRuntime | None = None


_Parts = tuple[WritableStorage, JobQueue, Any, ManualClock]


def _runtime(rule_set: RuleSet, parts: _Parts) -> Host:
    storage, jobs, outbox, clock = parts
    rt = RuleRuntime(RuleEngine.for_storage(rule_set, storage), storage, clock, jobs, outbox)
    return Host(storage, jobs, outbox, clock, rt.handle, rt.advance_to, rt)


def _rule_host(rule_set: RuleSet, parts: _Parts) -> Host:
    storage, jobs, outbox, clock = parts
    host = RuleHost(
        RuleEngine.for_storage(rule_set, storage), storage, jobs, outbox, clock=clock, batch_size=2
    )

    def advance_to(at: datetime) -> None:
        while (due := host.next_due()) is not None and due <= at:
            clock.set(max(clock.now(), due))
            host.run_due()
        clock.set(at)

    return Host(storage, jobs, outbox, clock, host.feed, advance_to)


@contextmanager
def _stores(kind: str) -> Iterator[_Parts]:
    clock = ManualClock(MONDAY)
    if kind == "memory":
        yield make_storage(), PendingJobs(), InMemoryOutbox(clock=clock), clock
        return
    with sql_storage(kind) as storage:
        copy_into(make_storage(), storage)
        yield storage, SqlJobStore(storage), SqlOutbox(storage, clock=clock), clock


def play(host: Host, ops: list[tuple[Any, ...]]) -> None:
    """The user actions, in order; a refused cascade (R6) leaves the user's change stored."""
    storage = host.storage
    clock = host.clock
    for number, op in enumerate(ops):
        kind, *args = op
        now = clock.now()
        event: Any = None
        if kind == "create":
            index, stage, amount, responsible = args
            item_id = f"deal-{index}"
            if item_id in {item.id for item in storage.items()}:
                continue
            item = deal(
                item_id, stage_id=stage, amount=amount, responsible_id=responsible, created_at=now
            )
            event = StageChanged(
                id=f"op-{number}",
                item_id=item_id,
                at=now,
                by_user_id=responsible,
                to_stage_id=stage,
            )
            storage.add(item, event)
        elif kind == "move":
            index, stage = args
            items = {item.id: item for item in storage.items()}
            item = items.get(f"deal-{index}")
            if item is None or item.stage_id == stage:
                continue
            event = StageChanged(
                id=f"op-{number}",
                item_id=item.id,
                at=now,
                by_user_id=item.responsible_id,
                from_stage_id=item.stage_id,
                to_stage_id=stage,
            )
            storage.write(add=[event], replace=[attrs.evolve(item, stage_id=stage)])
        elif kind == "task":
            tasks = sorted(
                (
                    t
                    for item in storage.items()
                    for t in storage.tasks_of_item(item.id)
                    if t.is_open
                ),
                key=lambda task: task.id,
            )
            if not tasks:
                continue
            task = tasks[args[0] % len(tasks)]
            storage.replace(attrs.evolve(task, status=TaskStatus.COMPLETED))
            event = TaskStatusChanged(
                id=f"op-{number}",
                task_id=task.id,
                item_id=task.item_id,
                at=now,
                from_status=task.status,
                to_status=TaskStatus.COMPLETED,
            )
        else:
            host.advance_to(now + timedelta(minutes=args[0]))
            continue
        with suppress(CascadeError):
            host.feed(event)
    host.advance_to(clock.now() + timedelta(days=3))


def _state(host: Host) -> dict[str, Any]:
    storage = host.storage
    items = sorted(storage.items(), key=lambda item: item.id)
    return {
        "items": items,
        "tasks": sorted((t for i in items for t in storage.tasks_of_item(i.id)), key=_by_id),
        "activities": sorted(
            {a.id: a for i in items for a in storage.activities_of_item(i.id)}.values(), key=_by_id
        ),
        "events": sorted((e for i in items for e in storage.events_of_item(i.id)), key=_by_id),
        "jobs": sorted(host.jobs, key=_by_id),  # type: ignore[call-overload]
        "outbox": sorted(host.outbox.entries(), key=_by_id),
    }


def _by_id(record: Any) -> str:
    return str(record.id)


def _same_outcomes(backend: str, rule_set: RuleSet, ops: list[tuple[Any, ...]]) -> None:
    """P1, P2: `RuleRuntime` over memory and over `backend` gives equal outcomes, effects and
    final data; a `RuleHost` over `backend` claiming two jobs at a time (each batch its own
    transaction) ends with the same data, jobs and outbox."""
    with _stores("memory") as memory_parts:
        memory = _runtime(rule_set, memory_parts)
        play(memory, ops)
        assert memory.runtime is not None
        expected = _state(memory)
    with _stores(backend) as sql_parts:
        sql = _runtime(rule_set, sql_parts)
        play(sql, ops)
        assert sql.runtime is not None
        assert sql.runtime.outcomes == memory.runtime.outcomes
        assert sql.runtime.log == memory.runtime.log
        assert _state(sql) == expected
    with _stores(backend) as sql_parts:
        hosted = _rule_host(rule_set, sql_parts)
        play(hosted, ops)
        assert _state(hosted) == expected


@settings(max_examples=sql_examples())
@given(rule_set=RULE_SETS, ops=OPS)
def test_p1_p2_memory_and_sqlite_job_stores_give_identical_outcomes(
    rule_set: RuleSet, ops: list[tuple[Any, ...]]
) -> None:
    _same_outcomes("sqlite", rule_set, ops)


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
@settings(max_examples=max(8, sql_examples() // 3))  # each example is a few hundred queries
@given(rule_set=RULE_SETS, ops=OPS)
def test_p1_p2_memory_and_postgresql_job_stores_give_identical_outcomes(
    rule_set: RuleSet, ops: list[tuple[Any, ...]]
) -> None:
    _same_outcomes("postgres", rule_set, ops)
