"""The scenarios of seed 004 ("Employee monitoring and control"), simulated day by day."""

from __future__ import annotations

from _build_rules import HOUR, MINUTE, WARSAW, deal, runtime, sales_rule, sales_trigger
from crmcounters import HISTORY_INFORMATION, Activity, HistoryEntryAdded, StageChanged, TaskStatus
from crmcounters.rules import (
    AddHistoryEntry,
    ChangeStageEffect,
    Comparison,
    CompleteTasks,
    CreateTask,
    Delay,
    NotifySupervisor,
    ScheduleActivity,
    Timing,
)

AFTER_24H = Timing(delay=Delay(after=24, unit="hours"))


def _notify_rule() -> object:
    return sales_rule(
        "r-notify",
        timing=AFTER_24H,
        action=NotifySupervisor(
            text="{{Responsible}} has not moved {{Title}} ({{Amount}} {{Currency}}) in 24 hours"
        ),
    )


def test_r1_r4_notifies_the_supervisor_when_the_deal_is_not_moved_within_24_hours() -> None:
    rt = runtime([_notify_rule()])
    rt.create_item(deal())
    rt.advance(24 * HOUR - MINUTE)
    assert rt.notifications == []
    rt.advance(MINUTE)
    [note] = rt.notifications
    assert note.recipient_ids == ("u-anna",)  # Piotr's department head
    assert note.text == "Piotr Wiśniewski has not moved Website for deal-1 (4200 PLN) in 24 hours"
    assert note.at == rt.clock.now()
    assert len(rt.pending) == 0


def test_r1_does_not_notify_when_the_deal_is_moved_at_23h59() -> None:
    rt = runtime([_notify_rule()])
    rt.create_item(deal())
    assert len(rt.pending) == 1
    rt.advance(23 * HOUR + 59 * MINUTE)
    outcome = rt.move("deal-1", "preparation")
    assert len(outcome.cancelled) == 1
    rt.advance(48 * HOUR)
    assert rt.notifications == []
    assert len(rt.pending) == 0


def test_r4_supervisor_of_a_department_head_is_the_next_head_up() -> None:
    rt = runtime([_notify_rule()])
    rt.create_item(deal(responsible_id="u-anna"))
    rt.advance(24 * HOUR)
    [note] = rt.notifications
    assert note.recipient_ids == ("u-marek",)


def test_r4_notification_recipients_are_configurable() -> None:
    rule = sales_rule(
        "r-notify",
        action=NotifySupervisor(
            text="{{Title}}", recipients=("supervisor", "responsible", "user:u-marek")
        ),
    )
    rt = runtime([rule])
    rt.create_item(deal())
    [note] = rt.notifications
    assert note.recipient_ids == ("u-anna", "u-piotr", "u-marek")


def test_r4_no_supervisor_at_the_root_is_reported_as_a_skip_not_silence() -> None:
    rt = runtime([sales_rule("r-notify", action=NotifySupervisor(text="late"))])
    outcome = rt.create_item(deal(responsible_id="u-marek"))
    assert outcome.effects == ()
    [skip] = outcome.skipped
    assert skip.source_id == "r-notify"
    assert "no supervisor" in skip.reason


def test_r4_adds_a_history_entry_of_type_information_after_24_hours() -> None:
    rule = sales_rule(
        "r-history",
        timing=AFTER_24H,
        action=AddHistoryEntry(text="{{Title}} for {{Client}} was not moved in time"),
    )
    rt = runtime([rule, _notify_rule()])
    rt.create_item(deal())
    rt.advance(24 * HOUR)
    history = [e for e in rt.storage.events_of_item("deal-1") if isinstance(e, HistoryEntryAdded)]
    [entry] = history
    assert entry.entry_type == HISTORY_INFORMATION
    assert entry.text == "Website for deal-1 for Boulangerie Dupont was not moved in time"
    assert entry.author_id == "u-piotr"  # default: the item's responsible
    assert entry.rule_id == "r-history"
    assert len(rt.notifications) == 1


def test_r4_history_entry_is_written_on_behalf_of_the_configured_user() -> None:
    rule = sales_rule("r-history", action=AddHistoryEntry(text="checked", author_id="u-marek"))
    rt = runtime([rule])
    rt.create_item(deal())
    [entry] = [e for e in rt.storage.events() if isinstance(e, HistoryEntryAdded)]
    assert entry.author_id == "u-marek"


def test_r4_r5_task_created_on_entering_a_stage_then_its_completion_moves_to_send_invoice() -> None:
    create = sales_rule(
        "r-task",
        "proposal",
        action=CreateTask(
            title="Prepare the invoice for {{Title}}",
            description="Amount: {{Amount}} {{Currency}}",
            observer_ids=["u-anna"],
            time_tracking=True,
            deadline=Delay(after=1, unit="business_days"),
        ),
    )
    trigger = sales_trigger(
        "t-invoice",
        "send-invoice",
        status="completed",
        filter=Comparison(field="title", op="contains", value="invoice"),
    )
    rt = runtime([create], [trigger])
    rt.create_item(deal())
    rt.move("deal-1", "proposal")
    [task] = rt.storage.tasks_of_item("deal-1")
    assert task.title == "Prepare the invoice for Website for deal-1"
    assert task.description == "Amount: 4200 PLN"
    assert (task.rule_id, task.rule_pipeline_id, task.rule_stage_id) == (
        "r-task",
        "p-sales",
        "proposal",
    )
    assert task.observer_ids == ("u-anna",)
    assert task.time_tracking
    assert task.responsible_id == "u-piotr"
    assert task.deadline is not None
    # the next business day, at the same local time in the responsible's zone
    assert task.deadline.astimezone(WARSAW).isoformat() == "2026-12-15T10:00:00+01:00"
    rt.advance(2 * HOUR)
    outcome = rt.set_task_status(task.id, TaskStatus.COMPLETED)
    [move] = outcome.effects
    assert isinstance(move, ChangeStageEffect)
    assert rt.storage.item("deal-1").stage_id == "send-invoice"
    [change] = [e for e in rt.storage.events_of_item("deal-1") if isinstance(e, StageChanged)][-1:]
    assert change.by_user_id == "u-piotr"  # default: the item's responsible
    assert change.from_stage_id == "proposal"


def test_r5_trigger_filter_and_status_must_both_match() -> None:
    trigger = sales_trigger(
        "t-invoice",
        "send-invoice",
        status="completed",
        filter=Comparison(field="title", op="contains", value="invoice"),
        change_stage_as="u-marek",
    )
    create = sales_rule(
        "r-call", action=CreateTask(title="Call the client"), name="create a call task"
    )
    create_invoice = sales_rule("r-invoice", action=CreateTask(title="Send the INVOICE"))
    rt = runtime([create, create_invoice], [trigger])
    rt.create_item(deal())
    call, invoice = rt.storage.tasks_of_item("deal-1")
    assert rt.set_task_status(call.id, "completed").effects == ()
    assert rt.set_task_status(invoice.id, "in_progress").effects == ()
    rt.set_task_status(invoice.id, "completed")
    assert rt.storage.item("deal-1").stage_id == "send-invoice"
    last = [e for e in rt.storage.events_of_item("deal-1") if isinstance(e, StageChanged)][-1]
    assert last.by_user_id == "u-marek"


def test_r5_trigger_moves_only_forward_unless_allowed_backward() -> None:
    back = sales_trigger("t-back", "new", status="completed")
    rt = runtime([sales_rule("r-task", "proposal", action=CreateTask(title="x"))], [back])
    rt.create_item(deal(stage_id="proposal"))
    [task] = rt.storage.tasks_of_item("deal-1")
    assert rt.set_task_status(task.id, "completed").effects == ()
    assert rt.storage.item("deal-1").stage_id == "proposal"

    allowed = sales_trigger("t-back", "new", status="completed", allow_backward=True)
    rt = runtime([sales_rule("r-task", "proposal", action=CreateTask(title="x"))], [allowed])
    rt.create_item(deal(stage_id="proposal"))
    [task] = rt.storage.tasks_of_item("deal-1")
    rt.set_task_status(task.id, "completed")
    assert rt.storage.item("deal-1").stage_id == "new"


def test_r5_a_refused_backward_move_is_listed_in_skipped() -> None:
    """R5, X1: a trigger that matches but would move the item back leaves a Skip saying why."""
    back = sales_trigger("t-back", "new", status="completed")
    other = sales_trigger(
        "t-other", "won", status="completed", filter=Comparison(field="title", op="eq", value="y")
    )
    rt = runtime([sales_rule("r-task", "proposal", action=CreateTask(title="x"))], [back, other])
    rt.create_item(deal(stage_id="proposal"))
    [task] = rt.storage.tasks_of_item("deal-1")
    outcome = rt.set_task_status(task.id, "completed")
    assert outcome.effects == ()
    [skip] = outcome.skipped  # t-other's filter does not match: not a refusal
    assert (skip.source_id, skip.item_id) == ("t-back", "deal-1")
    assert skip.reason.startswith("moving backward is not allowed (R5)")
    assert "'proposal'" in skip.reason
    assert "allow_backward" in skip.reason


def test_r4_complete_task_on_closed_won_completes_the_rule_created_tasks() -> None:
    rules = [
        sales_rule("r-new", "new", action=CreateTask(title="Qualify {{Client}}")),
        sales_rule("r-prep", "preparation", action=CreateTask(title="Prepare documents")),
        sales_rule("r-prop", "proposal", action=CreateTask(title="Follow up the proposal")),
        sales_rule(
            "r-close",
            "won",
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new", "preparation"]),
        ),
    ]
    rt = runtime(rules)
    rt.create_item(deal())
    rt.move("deal-1", "preparation")
    rt.move("deal-1", "proposal")
    manual = rt.storage.tasks_of_item("deal-1")
    assert len(manual) == 3
    rt.advance(HOUR)
    outcome = rt.move("deal-1", "won")
    status = {t.title: t.status for t in rt.storage.tasks_of_item("deal-1")}
    assert status == {
        "Qualify Boulangerie Dupont": TaskStatus.COMPLETED,
        "Prepare documents": TaskStatus.COMPLETED,
        "Follow up the proposal": TaskStatus.NEW,  # created in a stage not chosen
    }
    assert len(outcome.effects) == 1


def test_r4_complete_task_leaves_tasks_not_created_by_rules() -> None:
    from crmcounters import Task

    rule = sales_rule(
        "r-close", "won", action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new"])
    )
    rt = runtime([rule])
    rt.create_item(deal())
    rt.storage.add(
        Task(
            id="t-manual",
            item_id="deal-1",
            title="by hand",
            responsible_id="u-piotr",
            created_at=rt.clock.now(),
        )
    )
    outcome = rt.move("deal-1", "won")
    assert outcome.effects == ()
    assert rt.storage.task("t-manual").status is TaskStatus.NEW
    assert "no open task" in outcome.skipped[0].reason


def test_r4_scheduled_activity_auto_completes_when_the_deal_moves_on() -> None:
    rule = sales_rule(
        "r-call",
        action=ScheduleActivity(
            description="Call {{Client}} about {{Title}}",
            kind="call",
            deadline=Delay(after=2, unit="hours"),
        ),
    )
    rt = runtime([rule])
    rt.create_item(deal())
    [activity] = rt.storage.open_activities_of_item("deal-1")
    assert activity.subject == "Call Boulangerie Dupont about Website for deal-1"
    assert activity.responsible_id == "u-piotr"
    assert activity.rule_id == "r-call"
    assert activity.deadline == rt.clock.now() + 2 * HOUR
    rt.advance(HOUR)
    rt.move("deal-1", "preparation")
    assert rt.storage.open_activities_of_item("deal-1") == []
    done: Activity = rt.storage.activity(activity.id)
    assert done.completed_at == rt.clock.now()


def test_r4_scheduled_activity_without_auto_complete_stays_open() -> None:
    rule = sales_rule(
        "r-call",
        action=ScheduleActivity(description="Call", auto_complete=False, responsible_id="u-anna"),
    )
    rt = runtime([rule])
    rt.create_item(deal())
    rt.move("deal-1", "preparation")
    [activity] = rt.storage.open_activities_of_item("deal-1")
    assert activity.responsible_id == "u-anna"


def test_r2_condition_is_checked_when_the_job_runs_not_when_scheduled() -> None:
    from crmcounters import Item

    rule = sales_rule(
        "r-big",
        timing=AFTER_24H,
        condition=Comparison(field="amount", op="ge", value=10000),
        action=NotifySupervisor(text="big deal {{Title}} waits"),
    )
    rt = runtime([rule])
    rt.create_item(deal(amount="500"))
    item: Item = rt.storage.item("deal-1")
    rt.advance(12 * HOUR)
    import attrs

    rt.storage.replace(attrs.evolve(item, amount="25000"))  # raised before the job runs
    rt.advance(12 * HOUR)
    assert [n.text for n in rt.notifications] == ["big deal Website for deal-1 waits"]

    rt = runtime([rule])
    rt.create_item(deal(amount="25000"))
    rt.storage.replace(attrs.evolve(rt.storage.item("deal-1"), amount="500"))
    outcome = rt.advance(24 * HOUR)[0]
    assert rt.notifications == []
    assert outcome.skipped[0].reason == "the condition does not hold (R2)"


def test_r1_leaving_and_re_entering_restarts_the_delay() -> None:
    rt = runtime([_notify_rule()])
    rt.create_item(deal())
    rt.advance(20 * HOUR)
    rt.move("deal-1", "preparation")
    rt.move("deal-1", "new")
    rt.advance(20 * HOUR)
    assert rt.notifications == []  # 40 hours in total, but only 20 since re-entering
    rt.advance(4 * HOUR)
    assert len(rt.notifications) == 1
