"""`RuleRuntime` over `InMemoryStorage` and `SqlStorage` alike (R6, G5).

The runtime writes each outcome with one `storage.write(add=..., replace=...)`:
all of it or nothing. The same scenario gives the same effects and the same
stored records in memory and in a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from _build_rules import DAY, HOUR, MONDAY, deal, make_storage, sales_rule, sales_trigger
from _sql_backends import BACKENDS, copy_into, sql_storage
from crmcounters import Task, TaskStatus, UnknownIdError
from crmcounters.rules import (
    ChangeResponsible,
    Comparison,
    CompleteTasksEffect,
    CreateTask,
    CreateTaskEffect,
    Delay,
    Job,
    NotifyUsers,
    Outcome,
    RuleEngine,
    RuleSet,
    ScheduleActivity,
    SendClientMessage,
    SetField,
)
from crmcounters.testing import ManualClock, RuleRuntime, RuntimeStorage

STORAGES = ["memory", *BACKENDS]


@contextmanager
def storage_on(kind: str) -> Iterator[RuntimeStorage]:
    """The rules tests' portal (`make_storage`), in memory or in a database."""
    if kind == "memory":
        yield make_storage()
        return
    with sql_storage(kind) as storage:
        copy_into(make_storage(), storage)
        yield storage


def invoice_rules() -> RuleSet:
    """A call scheduled on entering New; an invoice task on entering Proposal; its completion
    moves the deal to Send invoice (R4, R5)."""
    call = sales_rule(
        "r-call",
        action=ScheduleActivity(
            description="Call {{Client}}", kind="call", deadline=Delay(after=2, unit="hours")
        ),
    )
    task = sales_rule(
        "r-task",
        "proposal",
        action=CreateTask(
            title="Prepare the invoice for {{Title}}",
            deadline=Delay(after=1, unit="business_days"),
        ),
    )
    trigger = sales_trigger(
        "t-invoice",
        "send-invoice",
        status="completed",
        filter=Comparison(field="title", op="contains", value="invoice"),
    )
    return RuleSet(rules=[call, task], triggers=[trigger])


def play(storage: RuntimeStorage) -> RuleRuntime:
    """Create a deal, move it to Proposal, complete the invoice task, let a day pass."""
    rt = RuleRuntime(RuleEngine.for_storage(invoice_rules(), storage), storage, ManualClock(MONDAY))
    rt.create_item(deal())
    rt.advance(HOUR)
    rt.move("deal-1", "proposal")  # the call is auto-completed, the task created
    rt.advance(2 * HOUR)
    [task] = [t for t in storage.tasks_of_item("deal-1") if t.is_open]
    rt.set_task_status(task.id, TaskStatus.COMPLETED)  # the trigger moves the deal on
    rt.advance(DAY)
    return rt


def stored(storage: Any) -> tuple[Any, ...]:
    """The records a rule scenario writes, in a stable order."""
    return (
        storage.item("deal-1"),
        sorted(storage.tasks(), key=lambda t: t.id),
        sorted(storage.activities(), key=lambda a: a.id),
        list(storage.events_of_item("deal-1")),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_r4_r5_r6_a_rule_scenario_over_sql_matches_the_one_in_memory(backend: str) -> None:
    """R4, R5, R6: task on entering a stage, its completion moves the stage: same in SQL."""
    with storage_on("memory") as memory:
        expected = play(memory)
    with storage_on(backend) as database:
        found = play(database)
        assert found.storage.item("deal-1").stage_id == "send-invoice"
        assert [effect for _, effect in found.log] == [effect for _, effect in expected.log]
        assert [at for at, _ in found.log] == [at for at, _ in expected.log]
        assert stored(database) == stored(memory)
        assert len(found.pending) == len(expected.pending)


@pytest.mark.parametrize("kind", STORAGES)
def test_g5_r6_an_outcome_whose_replace_half_fails_writes_nothing_and_keeps_no_job(
    kind: str,
) -> None:
    """G5, R6: a new task plus a completed task that is not stored: neither is written."""
    with storage_on(kind) as storage:
        rt = RuleRuntime(RuleEngine.for_storage(RuleSet(), storage), storage, ManualClock(MONDAY))
        rt.create_item(deal())
        new = Task(
            id="task-new",
            item_id="deal-1",
            title="New",
            responsible_id="u-piotr",
            created_at=MONDAY,
        )
        ghost = Task(
            id="task-ghost",
            item_id="deal-1",
            title="Ghost",
            responsible_id="u-piotr",
            created_at=MONDAY,
            status=TaskStatus.COMPLETED,
        )
        job = Job(
            id="job-1",
            rule_id="r-x",
            item_id="deal-1",
            pipeline_id="p-sales",
            stage_id="new",
            entry_id="enter-1",
            entered_at=MONDAY,
            due_at=MONDAY + DAY,
        )
        outcome = Outcome(
            effects=(
                CreateTaskEffect(rule_id="r-x", item_id="deal-1", task=new),
                CompleteTasksEffect(rule_id="r-x", item_id="deal-1", tasks=(ghost,)),
            ),
            scheduled=(job,),
        )
        with pytest.raises(UnknownIdError, match="task-ghost"):
            rt.apply(outcome)
        assert list(storage.tasks_of_item("deal-1")) == []
        assert (len(rt.pending), rt.log, len(rt.outcomes)) == (0, [], 1)


def client_rules() -> RuleSet:
    """R8-R10 on one deal: round-robin on entry, a client e-mail and a notification on
    Proposal, a payment trigger to Send invoice, a field trigger to Won."""
    return RuleSet(
        rules=[
            sales_rule(
                "r-spread", action=ChangeResponsible(round_robin=["u-keala", "u-tama", "u-piotr"])
            ),
            sales_rule(
                "r-mail",
                "proposal",
                action=SendClientMessage(channel="email", text="Offer: {{Title}}", subject="Hi"),
            ),
            sales_rule(
                "r-tell",
                "proposal",
                action=NotifyUsers(text="{{Responsible}} sent it", recipients=["supervisor"]),
            ),
            sales_rule("r-flag", "send-invoice", action=SetField(field="field:paid", value=True)),
        ],
        triggers=[
            sales_trigger("t-mail", "proposal", event="incoming_email"),
            sales_trigger("t-paid", "send-invoice", event="payment_received"),
            sales_trigger("t-won", "won", event="field_changed", field="field:paid"),
        ],
        fields={"paid": "boolean"},
    )


def play_client(storage: RuntimeStorage) -> RuleRuntime:
    """Deactivate Keala, create a deal, the client writes, then pays."""
    storage.replace(attrs.evolve(storage.user("u-keala"), active=False))
    rt = RuleRuntime(RuleEngine.for_storage(client_rules(), storage), storage, ManualClock(MONDAY))
    rt.create_item(deal())
    rt.advance(HOUR)
    rt.receive("deal-1", "email", "interested")
    rt.advance(HOUR)
    rt.pay("deal-1", "4200", "PLN")
    return rt


@pytest.mark.parametrize("backend", BACKENDS)
def test_r8_r9_r10_the_client_scenario_over_sql_matches_the_one_in_memory(backend: str) -> None:
    """R8, R9, R10 over SQL: a deactivated user stays so (User.active stored), the same
    effects, records and outbox entries as in memory."""
    with storage_on("memory") as memory:
        expected = play_client(memory)
    with storage_on(backend) as database:
        found = play_client(database)
        assert database.user("u-keala").active is False
        item = found.storage.item("deal-1")
        assert (item.stage_id, item.fields["paid"]) == ("won", True)
        assert item.responsible_id != "u-keala"
        assert [effect for _, effect in found.log] == [effect for _, effect in expected.log]
        assert stored(database) == stored(memory)
        kinds = [entry.kind for entry in found.outbox.entries()]  # type: ignore[attr-defined]
        assert kinds == ["client_email", "notify"]
