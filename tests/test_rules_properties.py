"""Invariants of the engine, over random days of work (R1, R6, R8-R10, X2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from _build_rules import MONDAY, STAGE_IDS, USERS, deal, make_storage, sales_rule, sales_trigger
from crmcounters import (
    IncomingMessage,
    InMemoryStorage,
    Item,
    StageChanged,
    Storage,
    Task,
    record_incoming,
)
from crmcounters.rules import (
    AddHistoryEntry,
    ChangeResponsible,
    ChangeStageEffect,
    Comparison,
    CompleteActivitiesEffect,
    CompleteTasks,
    CreateTask,
    Delay,
    FieldChanged,
    MoveToStage,
    NotifySupervisor,
    NotifyUsers,
    Outcome,
    RuleEngine,
    RuleEvent,
    RuleSet,
    ScheduleActivity,
    SendClientMessage,
    SetField,
    Timing,
)
from crmcounters.testing import ManualClock, RuleRuntime

RULE_SET = RuleSet(
    rules=[
        sales_rule(
            "r-late",
            timing=Timing(delay=Delay(after=24, unit="hours")),
            condition=Comparison(field="amount", op="ge", value=1000),
            action=NotifySupervisor(text="{{Title}} is late"),
        ),
        sales_rule("r-qualify", action=CreateTask(title="qualify {{Client}}")),
        sales_rule(
            "r-call",
            timing=Timing(delay=Delay(after=1, unit="business_days")),
            action=ScheduleActivity(description="call"),
        ),
        sales_rule(
            "r-note",
            "preparation",
            timing=Timing(working_time_only=True),
            action=AddHistoryEntry(text="{{Stage}}"),
        ),
        sales_rule(
            "r-invoice",
            "proposal",
            timing=Timing(delay=Delay(after=90, unit="minutes")),
            action=CreateTask(title="invoice"),
        ),
        sales_rule(
            "r-close",
            "won",
            action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new", "proposal"]),
        ),
        # R8-R10: the new actions in the same days of work.
        sales_rule(
            "r-inform",
            "won",
            action=NotifyUsers(text="{{Title}} won", recipients=["responsible", "head:d-hq"]),
        ),
        sales_rule(
            "r-write",
            "proposal",
            action=SendClientMessage(channel="sms", text="{{Client}}: {{Title}}"),
        ),
        sales_rule(
            "r-spread",
            timing=Timing(delay=Delay(after=2, unit="hours")),
            action=ChangeResponsible(round_robin=["u-piotr", "u-keala", "u-tama"]),
        ),
        sales_rule("r-hot", "preparation", action=SetField(field="field:hot", value=True)),
        sales_rule(
            "r-push",
            "send-invoice",
            timing=Timing(delay=Delay(after=1, unit="days")),
            action=MoveToStage(stage_id="won"),
        ),
    ],
    triggers=[
        sales_trigger(
            "t-invoice",
            "send-invoice",
            filter=Comparison(field="title", op="contains", value="invoice"),
        ),
        sales_trigger(
            "t-qualified",
            "preparation",
            filter=Comparison(field="title", op="contains", value="qualify"),
        ),
        sales_trigger("t-mail", "proposal", event="incoming_email"),
        sales_trigger("t-missed", "new", event="missed_call", allow_backward=True),
        sales_trigger(
            "t-paid",
            "send-invoice",
            event="payment_received",
            filter=Comparison(field="event:amount", op="ge", value=1000),
        ),
        sales_trigger(
            "t-hot",
            "proposal",
            event="field_changed",
            field="field:hot",
            filter=Comparison(field="event:value", op="eq", value=True),
        ),
        sales_trigger(
            "t-cold",
            "preparation",
            event="field_changed",
            field="field:hot",
            filter=Comparison(field="event:value", op="eq", value=False),
            allow_backward=True,
        ),
    ],
    fields={"hot": "boolean"},
)
ENGINE = RuleEngine.for_storage(RULE_SET, make_storage())
RULE_STAGE = {rule.id: (rule.pipeline_id, rule.stage_id) for rule in RULE_SET.rules}

ITEMS = 3
_op = st.one_of(
    st.tuples(
        st.just("create"),
        st.integers(0, ITEMS - 1),
        st.sampled_from(STAGE_IDS),
        st.sampled_from(["500", "5000"]),
        st.sampled_from([user.id for user in USERS]),
    ),
    st.tuples(st.just("move"), st.integers(0, ITEMS - 1), st.sampled_from(STAGE_IDS)),
    st.tuples(st.just("advance"), st.integers(1, 60 * 30)),
    st.tuples(st.just("task"), st.integers(0, ITEMS - 1), st.integers(0, 3)),
    st.tuples(
        st.just("incoming"),
        st.integers(0, ITEMS - 1),
        st.sampled_from(["email", "call", "missed_call", "chat", "payment", "task_comment"]),
    ),
    st.tuples(st.just("pay"), st.integers(0, ITEMS - 1), st.sampled_from(["50", "4200"])),
    st.tuples(st.just("field"), st.integers(0, ITEMS - 1), st.booleans()),
)
OPS = st.lists(_op, max_size=25)


#: One call the host made: ("handle", now, event, the record the user changed before it)
#: or ("run_due", now, None, None).
_Call = tuple[str, datetime, RuleEvent | None, Item | Task | IncomingMessage | None]


class _Recorder:
    """Wraps the engine; notes where each item stood when each outcome was decided, and
    every call with what the user had just stored, so that it can be replayed."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self.storage = storage
        self.seen: list[tuple[dict[str, tuple[str, str]], Outcome]] = []
        self.calls: list[_Call] = []

    def _stages(self) -> dict[str, tuple[str, str]]:
        return {item.id: (item.pipeline_id, item.stage_id) for item in self.storage.items()}

    def handle(self, event: RuleEvent, storage: Storage, now: datetime, pending: Any) -> Outcome:
        changed: Item | Task | IncomingMessage | None
        if isinstance(event, StageChanged | FieldChanged):
            changed = self.storage.item(event.item_id)
        elif isinstance(event, IncomingMessage):
            changed = event
        elif hasattr(event, "task_id"):
            changed = self.storage.task(event.task_id)
        else:  # a payment stores nothing of its own
            changed = None
        self.calls.append(("handle", now, event, changed))
        stages = self._stages()
        outcome = ENGINE.handle(event, storage, now, pending)
        self.seen.append((stages, outcome))
        return outcome

    def run_due(self, storage: Storage, now: datetime, pending: Any) -> Outcome:
        self.calls.append(("run_due", now, None, None))
        stages = self._stages()
        outcome = ENGINE.run_due(storage, now, pending)
        self.seen.append((stages, outcome))
        return outcome


def replay(calls: list[_Call]) -> RuleRuntime:
    """The recorded calls again, on a fresh copy of the data with a freshly built engine."""
    storage = make_storage()
    clock = ManualClock(MONDAY)
    rt = RuleRuntime(RuleEngine.for_storage(RULE_SET, storage), storage, clock)
    for kind, now, event, changed in calls:
        clock.set(now)
        if kind == "run_due":
            rt.run_due()
            continue
        assert event is not None
        if isinstance(event, StageChanged):  # the user created or moved the item
            if event.from_stage_id is None:
                storage.add(changed, event)  # type: ignore[arg-type]
            else:
                storage.replace(changed)  # type: ignore[arg-type]
                storage.add(event)
        elif isinstance(event, IncomingMessage):  # the client wrote or called (I1)
            record_incoming(
                storage,
                event.item_id,
                event.channel,
                event.at,
                event_id=event.id,
                activity_id=f"{event.id}-a",  # as RuleRuntime.receive names it
                text=event.text,
            )
        elif changed is not None:  # the user changed the task's status or a field
            storage.replace(changed)  # type: ignore[arg-type]
        rt.handle(event)
    return rt


def simulate(ops: list[tuple[Any, ...]], *, settle: bool = True) -> tuple[RuleRuntime, _Recorder]:
    storage = make_storage()
    recorder = _Recorder(storage)
    rt = RuleRuntime(recorder, storage, ManualClock(MONDAY))  # type: ignore[arg-type]
    for op in ops:
        kind, *args = op
        if kind == "create":
            index, stage, amount, responsible = args
            if f"deal-{index}" not in {item.id for item in storage.items()}:
                rt.create_item(
                    deal(
                        f"deal-{index}",
                        stage_id=stage,
                        amount=amount,
                        responsible_id=responsible,
                        created_at=rt.clock.now(),
                    )
                )
        elif kind == "move":
            index, stage = args
            item_id = f"deal-{index}"
            if item_id in {item.id for item in storage.items()}:
                rt.move(item_id, stage)
        elif kind == "advance":
            rt.advance(timedelta(minutes=args[0]))
        elif kind in ("incoming", "pay", "field"):
            index, value = args
            item_id = f"deal-{index}"
            if item_id in {item.id for item in storage.items()}:
                if kind == "incoming":
                    rt.receive(item_id, value, "hello")
                elif kind == "pay":
                    rt.pay(item_id, value, "PLN")
                else:
                    rt.set_field(item_id, "field:hot", value)
        else:
            # Complete one of the portal's open tasks (any item's), so that triggers fire
            # in most examples, not only when the drawn item happens to have a task.
            index, which = args
            open_tasks = sorted(
                (t for t in storage.tasks() if t.is_open), key=lambda task: (task.item_id, task.id)
            )
            if open_tasks:
                rt.set_task_status(open_tasks[(index + which) % len(open_tasks)].id, "completed")
    if settle:
        rt.advance(timedelta(days=3))
    return rt, recorder


@given(OPS)
def test_r1_no_effect_is_ever_produced_for_an_item_no_longer_in_the_rules_stage(
    ops: list[tuple[Any, ...]],
) -> None:
    _, recorder = simulate(ops)
    for stages, outcome in recorder.seen:
        where = dict(stages)
        for effect in outcome.effects:
            if isinstance(effect, ChangeStageEffect):
                where[effect.item_id] = (effect.item.pipeline_id, effect.item.stage_id)
            elif isinstance(effect, CompleteActivitiesEffect):
                assert all(a.rule_id is not None for a in effect.activities)
            else:
                assert where[effect.item_id] == RULE_STAGE[effect.rule_id], effect


@given(OPS)
def test_r6_x2_replaying_the_same_events_gives_the_same_effects(ops: list[tuple[Any, ...]]) -> None:
    """R6, X2: the events a day produced, fed at their instants to a fresh engine over a
    fresh copy of the data, give the same outcomes, effects and final data."""
    first, recorder = simulate(ops)
    second = replay(recorder.calls)
    assert second.outcomes == first.outcomes
    assert second.log == first.log
    for read in ("items", "tasks", "activities", "events"):
        ordered = sorted(getattr(second.storage, read)(), key=lambda record: record.id)
        assert ordered == sorted(getattr(first.storage, read)(), key=lambda record: record.id)
    assert list(second.pending) == list(first.pending)


@given(OPS)
def test_r1_every_pending_job_belongs_to_an_item_still_in_its_stage(
    ops: list[tuple[Any, ...]],
) -> None:
    rt, _ = simulate(ops, settle=False)
    for job in rt.pending:
        item = rt.storage.item(job.item_id)
        assert (item.pipeline_id, item.stage_id) == (job.pipeline_id, job.stage_id)


def test_r10_x2_replay_with_every_new_event_kind() -> None:
    """One fixed day with each new event (the property above draws them at random)."""
    ops: list[tuple[Any, ...]] = [
        ("create", 0, "new", "5000", "u-piotr"),
        ("field", 0, True),
        ("incoming", 0, "email"),
        ("pay", 0, "4200"),
        ("create", 1, "proposal", "500", "u-anna"),
        ("incoming", 1, "payment"),
        ("field", 1, False),
        ("advance", 600),
        ("incoming", 1, "missed_call"),
    ]
    first, recorder = simulate(ops)
    second = replay(recorder.calls)
    assert second.log == first.log
    assert len(first.log) > 10
    for read in ("items", "tasks", "activities", "events"):
        ordered = sorted(getattr(second.storage, read)(), key=lambda record: record.id)
        assert ordered == sorted(getattr(first.storage, read)(), key=lambda record: record.id)
