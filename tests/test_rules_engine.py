"""R6: the engine turns events and the clock into effects and jobs; cascades and their limit."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from _build_rules import (
    HOUR,
    MONDAY,
    deal,
    make_storage,
    ping_pong_rules,
    runtime,
    sales_rule,
    sales_trigger,
)
from crmcounters import (
    CommentAdded,
    HistoryEntryAdded,
    NaiveDatetimeError,
    Portal,
    StageChanged,
    dump_portal,
    load_portal,
)
from crmcounters.rules import (
    AddHistoryEntry,
    CascadeError,
    ChangeStageEffect,
    CompleteActivitiesEffect,
    CompleteTasks,
    CreateTask,
    Delay,
    Job,
    NotifySupervisor,
    Outcome,
    PendingJobs,
    RuleEngine,
    RuleSet,
    ScheduleActivity,
    TaskStatusChanged,
    Timing,
)

LATER = Timing(delay=Delay(after=2, unit="hours"))


def _loop_rules() -> tuple[list[object], list[object]]:
    """The issue's ping-pong set without delays: New and Preparation move the deal to each
    other at once, through their tasks' triggers."""
    loop = ping_pong_rules()
    return list(loop.rules), list(loop.triggers)


def test_r6_a_cascade_that_does_not_settle_stops_at_the_depth_limit_and_applies_nothing() -> None:
    rules, triggers = _loop_rules()
    rt = runtime(rules, triggers, max_depth=9)
    with pytest.raises(CascadeError) as caught:
        rt.create_item(deal())
    error = caught.value
    assert error.item_id == "deal-1"
    assert error.max_depth == 9
    assert "did not settle within 9 steps" in str(error)
    assert "deal-1: preparation -> new" in str(error)
    assert rt.storage.tasks_of_item("deal-1") == []  # nothing of the cascade was applied
    assert rt.storage.item("deal-1").stage_id == "new"
    assert len(rt.pending) == 0


def test_r6_a_cascade_that_settles_is_one_outcome_in_order() -> None:
    rules = [
        sales_rule("r-task", "proposal", action=CreateTask(title="Prepare the invoice")),
        sales_rule("r-call", "proposal", action=ScheduleActivity(description="Call")),
        sales_rule(
            "r-close",
            "proposal",
            timing=LATER,
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["proposal"]),
        ),
        sales_rule("r-invoice", "send-invoice", action=AddHistoryEntry(text="invoice {{Stage}}")),
    ]
    trigger = sales_trigger("t-invoice", "send-invoice")
    rt = runtime(rules, [trigger])
    rt.create_item(deal(stage_id="proposal"))
    [outcome] = rt.advance(2 * HOUR)
    kinds = [type(effect).__name__ for effect in outcome.effects]
    assert kinds == [
        "CompleteTasksEffect",
        "ChangeStageEffect",
        "CompleteActivitiesEffect",
        "AddHistoryEffect",
    ]
    assert [effect.depth for effect in outcome.effects] == [0, 1, 2, 2]
    assert rt.storage.item("deal-1").stage_id == "send-invoice"
    entry = outcome.effects[3]
    assert entry.entry.text == "invoice Send invoice"  # type: ignore[union-attr]
    assert rt.storage.open_activities_of_item("deal-1") == []


def test_r6_handle_is_pure_the_same_call_gives_the_same_outcome_and_changes_nothing() -> None:
    storage = make_storage()
    rule_set = RuleSet(
        rules=[
            sales_rule("r-1", action=CreateTask(title="{{Title}}")),
            sales_rule("r-2", timing=LATER, action=NotifySupervisor(text="x")),
        ]
    )
    engine = RuleEngine.for_storage(rule_set, storage)
    storage.add(deal())
    event = StageChanged(
        id="e-1", item_id="deal-1", at=MONDAY, by_user_id="u-piotr", to_stage_id="new"
    )
    storage.add(event)
    before = dump_portal(Portal(storage=storage))
    pending = PendingJobs()
    first = engine.handle(event, storage, MONDAY, pending)
    second = engine.handle(event, storage, MONDAY, pending)
    assert first == second
    assert len(first.effects) == 1
    assert len(first.scheduled) == 1
    assert dump_portal(Portal(storage=storage)) == before
    assert len(pending) == 0


def test_g2_naive_now_is_refused() -> None:
    storage = make_storage()
    engine = RuleEngine.for_storage(RuleSet(), storage)
    with pytest.raises(NaiveDatetimeError, match="now"):
        engine.run_due(storage, datetime(2026, 12, 14, 10), PendingJobs())


def test_r6_other_events_change_nothing() -> None:
    rt = runtime([sales_rule("r-1", action=NotifySupervisor(text="x"))])
    rt.create_item(deal())
    comment = CommentAdded(id="c-1", item_id="deal-1", at=MONDAY, author_id="u-anna")
    assert rt.handle(comment) == Outcome()


def test_r1_a_stale_stage_change_fires_nothing() -> None:
    rt = runtime([sales_rule("r-1", "preparation", action=NotifySupervisor(text="x"))])
    rt.create_item(deal())
    stale = StageChanged(
        id="e-old",
        item_id="deal-1",
        at=MONDAY,
        by_user_id="u-piotr",
        from_stage_id="new",
        to_stage_id="preparation",
    )
    outcome = rt.handle(stale)  # the storage says the deal is still in "new"
    assert outcome.effects == ()
    assert "not newly in 'preparation'" in outcome.skipped[0].reason


def test_r5_a_stale_task_status_change_fires_no_trigger() -> None:
    rt = runtime([sales_rule("r-t", action=CreateTask(title="x"))], [sales_trigger("t", "won")])
    rt.create_item(deal())
    [task] = rt.storage.tasks_of_item("deal-1")
    event = TaskStatusChanged(
        id="e", task_id=task.id, item_id="deal-1", at=MONDAY, to_status="completed"
    )
    outcome = rt.handle(event)  # the task is still "new" in storage
    assert outcome.effects == ()
    assert "is new, not completed" in outcome.skipped[0].reason


def test_r1_run_due_skips_a_job_whose_item_left_the_stage_even_if_not_cancelled() -> None:
    storage = make_storage()
    engine = RuleEngine.for_storage(
        RuleSet(rules=[sales_rule("r-1", timing=LATER, action=NotifySupervisor(text="x"))]),
        storage,
    )
    storage.add(deal(stage_id="preparation"))
    job = Job(
        id="j-1",
        rule_id="r-1",
        item_id="deal-1",
        pipeline_id="p-sales",
        stage_id="new",
        entry_id="e-1",
        entered_at=MONDAY,
        due_at=MONDAY,
    )
    gone = attrs.evolve(job, id="j-2", item_id="deal-gone")
    renamed = attrs.evolve(job, id="j-3", rule_id="r-removed")
    storage.add(deal("deal-3"))
    renamed = attrs.evolve(renamed, item_id="deal-3")
    outcome = engine.run_due(storage, MONDAY + HOUR, PendingJobs([job, gone, renamed]))
    assert outcome.effects == ()
    assert outcome.finished == ("j-1", "j-2", "j-3")
    reasons = [skip.reason for skip in outcome.skipped]
    assert reasons == [
        "the item left the rule's stage (R1)",
        "the item no longer exists",
        "the rule is no longer in this stage's rule set",
    ]


def test_r1_a_cascade_in_run_due_cancels_the_same_items_later_jobs() -> None:
    rules = [
        sales_rule("r-task", action=CreateTask(title="t")),
        sales_rule(
            "r-close",
            timing=LATER,
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new"]),
        ),
        sales_rule(
            "r-notify",
            timing=Timing(delay=Delay(after=121, unit="minutes")),
            action=NotifySupervisor(text="still new"),
        ),
    ]
    rt = runtime(rules, [sales_trigger("t", "preparation")])
    rt.create_item(deal())
    outcomes = rt.advance(3 * HOUR)
    assert rt.storage.item("deal-1").stage_id == "preparation"
    assert rt.notifications == []
    assert sum(len(o.cancelled) for o in outcomes) == 1
    assert len(rt.pending) == 0


def test_r4_leaving_a_stage_completes_only_auto_complete_activities_of_other_stages() -> None:
    rules = [
        sales_rule("r-a", action=ScheduleActivity(description="a")),
        sales_rule("r-b", action=ScheduleActivity(description="b", auto_complete=False)),
        sales_rule("r-c", "preparation", action=ScheduleActivity(description="c")),
    ]
    rt = runtime(rules)
    rt.create_item(deal())
    outcome = rt.move("deal-1", "preparation")
    [closing] = [e for e in outcome.effects if isinstance(e, CompleteActivitiesEffect)]
    assert [a.subject for a in closing.activities] == ["a"]
    assert closing.left_stage_id == "new"
    assert sorted(a.subject for a in rt.storage.open_activities_of_item("deal-1")) == ["b", "c"]


def test_r6_effects_carry_their_records_with_deterministic_ids() -> None:
    rt = runtime([sales_rule("r-1", action=AddHistoryEntry(text="hello"))])
    outcome = rt.create_item(deal())
    [effect] = outcome.effects
    assert effect.entry.id == "enter-1~r-1~history"  # type: ignore[union-attr]


def test_r4_history_entry_round_trips_in_the_portal_format() -> None:
    rt = runtime([sales_rule("r-1", action=AddHistoryEntry(text="x {{Title}}"))])
    rt.create_item(deal())
    text = dump_portal(Portal(storage=rt.storage))
    assert '"type": "history"' in text
    loaded = load_portal(text).storage
    [entry] = [e for e in loaded.events() if isinstance(e, HistoryEntryAdded)]
    assert entry == rt.storage.event(entry.id)
    assert dump_portal(Portal(storage=loaded)) == text


def test_g5_a_history_entry_by_an_unknown_author_is_refused_by_the_storage() -> None:
    from crmcounters import DanglingReferenceError

    storage = make_storage()
    storage.add(deal())
    with pytest.raises(DanglingReferenceError, match="author_id"):
        storage.add(
            HistoryEntryAdded(id="h", item_id="deal-1", at=MONDAY, author_id="u-nobody", text="")
        )


def test_r5_trigger_on_an_item_of_another_pipeline_does_nothing() -> None:
    from crmcounters import Item, Task

    rt = runtime([], [sales_trigger("t", "won")])
    rt.storage.add(
        Item(
            id="lead-1",
            entity_type="lead",
            pipeline_id="p-leads",
            stage_id="new",
            responsible_id="u-anna",
            created_at=MONDAY,
        ),
    )
    rt.storage.add(
        Task(id="t-1", item_id="lead-1", title="x", responsible_id="u-anna", created_at=MONDAY)
    )
    assert rt.set_task_status("t-1", "completed").effects == ()


def test_r5_the_first_matching_trigger_in_rule_set_order_wins() -> None:
    triggers = [sales_trigger("t-won", "won"), sales_trigger("t-prop", "proposal")]
    rt = runtime([sales_rule("r", action=CreateTask(title="x"))], triggers)
    rt.create_item(deal())
    [task] = rt.storage.tasks_of_item("deal-1")
    [effect] = rt.set_task_status(task.id, "completed").effects
    assert isinstance(effect, ChangeStageEffect)
    assert effect.trigger_id == "t-won"


def test_pending_jobs_refuse_duplicates_and_keep_due_order() -> None:
    job = Job(
        id="j-b",
        rule_id="r",
        item_id="i",
        pipeline_id="p",
        stage_id="s",
        entry_id="e",
        entered_at=MONDAY,
        due_at=MONDAY + HOUR,
    )
    early = attrs.evolve(job, id="j-c", due_at=MONDAY)
    tie = attrs.evolve(job, id="j-a")
    pending = PendingJobs([job, early, tie])
    with pytest.raises(ValueError, match="duplicate job id"):
        pending.add(attrs.evolve(job, item_id="other"), early)
    assert len(pending) == 3
    assert [j.id for j in pending.due(MONDAY + HOUR)] == ["j-c", "j-a", "j-b"]
    assert [j.id for j in pending.due(MONDAY + HOUR)] == ["j-c", "j-a", "j-b"]  # not consumed
    pending.apply(Outcome(finished=("j-c",), cancelled=("j-a",)))
    assert [j.id for j in pending.due(MONDAY + 2 * HOUR)] == ["j-b"]
    assert pending.next_due() == MONDAY + HOUR
    assert [j.id for j in pending.pending_of_item("i")] == ["j-b"]
    pending.discard(["j-b", "unknown"])
    assert pending.next_due() is None
    assert "j-b" not in pending


def test_pending_jobs_memory_stays_linear_after_many_cancellations() -> None:
    pending = PendingJobs()
    base = Job(
        id="j",
        rule_id="r",
        item_id="i",
        pipeline_id="p",
        stage_id="s",
        entry_id="e",
        entered_at=MONDAY,
        due_at=MONDAY,
    )
    for round_ in range(5):
        jobs = [
            attrs.evolve(base, id=f"j-{round_}-{n}", due_at=MONDAY + timedelta(minutes=n))
            for n in range(1000)
        ]
        pending.add(*jobs)
        pending.discard(job.id for job in jobs)
    assert len(pending) == 0
    assert len(pending._heap) <= 2048  # stale heap entries are compacted away


def _looping_job_rules() -> tuple[list[object], list[object]]:
    """The loop of `_loop_rules`, entered an hour after a deal reaches "proposal"."""
    rules, triggers = _loop_rules()
    rules += [
        sales_rule("r-p", "proposal", action=CreateTask(title="ping")),
        sales_rule(
            "r-p-done",
            "proposal",
            timing=Timing(delay=Delay(after=1, unit="hours")),
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["proposal"]),
        ),
        sales_rule(
            "r-late",
            "send-invoice",
            timing=Timing(delay=Delay(after=1, unit="hours")),
            action=NotifySupervisor(text="{{Title}} waits"),
        ),
    ]
    triggers = [attrs.evolve(t, allow_backward=True) for t in triggers]  # type: ignore[misc]
    return rules, triggers


def test_r6_a_job_whose_cascade_does_not_settle_is_skipped_and_other_due_jobs_run() -> None:
    """R6: run_due isolates each job; the looping one is finished, its effects dropped."""
    rules, triggers = _looping_job_rules()
    rt = runtime(rules, triggers, max_depth=9)
    rt.create_item(deal("deal-1", stage_id="proposal"))
    rt.create_item(deal("deal-2", stage_id="send-invoice"))
    assert len(rt.pending) == 2
    [outcome] = rt.advance(HOUR)
    assert [(type(e).__name__, e.item_id) for e in outcome.effects] == [("NotifyEffect", "deal-2")]
    assert set(outcome.finished) == {job.id for job in rt.outcomes[0].scheduled} | {
        job.id for job in rt.outcomes[1].scheduled
    }
    [skip] = [skip for skip in outcome.skipped if skip.item_id == "deal-1"]
    assert skip.source_id == "r-p-done"
    assert skip.job_id == rt.outcomes[0].scheduled[0].id
    assert "did not settle within 9 steps" in skip.reason
    assert "effects were dropped" in skip.reason
    assert skip.chain[-1] in skip.reason
    assert "deal-1: preparation -> new" in skip.chain
    # Nothing of the loop was applied; the job is gone, so later runs are not blocked.
    assert rt.storage.item("deal-1").stage_id == "proposal"
    assert [t.title for t in rt.storage.tasks_of_item("deal-1") if t.is_open] == ["ping"]
    assert len(rt.pending) == 0
    assert rt.advance(HOUR) == []


def test_r6_handle_raises_for_a_cascade_that_does_not_settle_and_returns_nothing() -> None:
    """R6: a direct event whose cascade loops raises `CascadeError`; nothing is applied."""
    rules, triggers = _looping_job_rules()
    rt = runtime(rules, triggers, max_depth=9)
    storage, pending = rt.storage, rt.pending
    storage.add(deal("deal-1"))
    event = StageChanged(
        id="e-1",
        item_id="deal-1",
        at=MONDAY,
        by_user_id="u-piotr",
        from_stage_id=None,
        to_stage_id="new",
    )
    with pytest.raises(CascadeError):
        rt.engine.handle(event, storage, MONDAY, pending)
    assert storage.tasks_of_item("deal-1") == []
