"""The rule engine (R1-R10): events and the clock in, effects and jobs out; it acts on nothing."""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol

import attrs

from .._activities import Activity, ActivityKind
from .._calendar import BusinessCalendar
from .._errors import UnknownIdError, ValidationError
from .._events import HistoryEntryAdded, IncomingMessage, StageChanged, TimelineEvent
from .._gc import collector_paused
from .._items import FieldValue, Item
from .._pipelines import Pipeline
from .._settings import Settings
from .._storage import Storage
from .._tasks import Task, TaskStatus
from .._type_defaults import typed_activity
from .._users import Department, User
from .._validate import instant
from ._actions import (
    RECIPIENT_RESPONSIBLE,
    RECIPIENT_SUPERVISOR,
    AddHistoryEntry,
    ChangeResponsible,
    ClientChannel,
    CompleteTasks,
    CreateTask,
    Deadline,
    MoveToStage,
    NotifySupervisor,
    NotifyUsers,
    ScheduleActivity,
    SendClientMessage,
    SetField,
    department_head_id,
    recipient_user_id,
)
from ._conditions import compile_item_condition, compile_task_condition
from ._effects import (
    AddHistoryEffect,
    ChangeFieldEffect,
    ChangeStageEffect,
    ClientMessageEffect,
    CompleteActivitiesEffect,
    CompleteTasksEffect,
    CreateActivityEffect,
    CreateTaskEffect,
    Effect,
    Job,
    NotifyEffect,
    Outcome,
    Skip,
    TaskStatusChanged,
)
from ._jobs import JobStore
from ._placeholders import Template
from ._problems import CascadeError, Problem, RuleSetError
from ._ruleset import Rule, RuleSet, Trigger
from ._timing import Delay, add_delay, due_at
from ._trigger_events import (
    FieldChanged,
    PaymentReceived,
    Subject,
    TriggerEvent,
    compile_event_condition,
    event_values,
    trigger_event_of,
)

__all__ = ["DEFAULT_MAX_DEPTH", "MAX_PARENT_ID", "RuleEngine", "RuleEvent", "derived_id"]

#: How many events a cascade may derive from one input before `CascadeError` (R6).
DEFAULT_MAX_DEPTH = 16

#: Ids the engine derives keep a parent id of up to this many characters as it is; a longer
#: one (a chain of generated ids) is replaced by a digest, so ids stay short and bounded (P4).
MAX_PARENT_ID = 48

logger = logging.getLogger("crmcounters")

#: What `RuleEngine.handle` accepts: timeline events (stage changes and incoming messages
#: matter), task status changes, payments and field changes.
RuleEvent = TimelineEvent | TaskStatusChanged | PaymentReceived | FieldChanged
#: The events a cascade processes.
_Event = StageChanged | TaskStatusChanged | IncomingMessage | PaymentReceived | FieldChanged
_EVENT_TYPES = (StageChanged, TaskStatusChanged, IncomingMessage, PaymentReceived, FieldChanged)


@attrs.frozen
class _CompiledRule:
    rule: Rule
    test: Callable[[Item], bool]
    immediate: bool


@attrs.frozen
class _CompiledTrigger:
    trigger: Trigger
    test: Callable[[Task], bool]
    position: int


@attrs.frozen
class _CompiledEventTrigger:
    trigger: Trigger
    test: Callable[[Subject], bool]
    position: int


#: Event triggers are looked up by (kind, pipeline, watched field): an event costs the
#: triggers of its own kind in its item's pipeline, not every trigger (R10).
_TriggerKey = tuple[TriggerEvent, str, str]


class RuleEngine:
    """A rule set compiled against a portal's pipelines and business calendar.

    Pure: `handle` and `run_due` read the storage and the pending jobs, and
    return an `Outcome`; the host applies it. Build it once (building the
    calendar is the slow part) and reuse it for every event.
    """

    __slots__ = (
        "_auto_complete",
        "_by_stage",
        "_event_triggers",
        "_final",
        "_max_depth",
        "_positions",
        "_rules",
        "_stage_names",
        "_triggers",
        "calendar",
        "rule_set",
        "sms_max_length",
    )

    def __init__(
        self,
        rule_set: RuleSet,
        *,
        pipelines: Iterable[Pipeline],
        calendar: BusinessCalendar,
        user_ids: Collection[str] | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        department_ids: Collection[str] | None = None,
        sms_max_length: int | None = None,
        activity_type_ids: Collection[str] | None = None,
    ) -> None:
        if not isinstance(rule_set, RuleSet):
            raise ValidationError("rule_set", f"expected a RuleSet, got {type(rule_set).__name__}")
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise ValidationError("max_depth", f"expected a whole number >= 1, got {max_depth!r}")
        if sms_max_length is not None and (
            isinstance(sms_max_length, bool)
            or not isinstance(sms_max_length, int)
            or sms_max_length < 1
        ):
            raise ValidationError(
                "sms_max_length", f"expected a whole number >= 1 or None, got {sms_max_length!r}"
            )
        pipelines = tuple(pipelines)
        rule_set.check(pipelines, user_ids, department_ids, activity_type_ids=activity_type_ids)
        _check_sms_texts(rule_set, sms_max_length)
        self.rule_set = rule_set
        self.sms_max_length = sms_max_length
        self.calendar = calendar
        self._max_depth = max_depth
        self._positions = {p.id: {s.id: i for i, s in enumerate(p.stages)} for p in pipelines}
        self._stage_names = {(p.id, s.id): s.name for p in pipelines for s in p.stages}
        self._final = {(p.id, s.id) for p in pipelines for s in p.stages if s.is_final}
        self._rules: dict[str, _CompiledRule] = {}
        self._by_stage: dict[tuple[str, str], list[_CompiledRule]] = {}
        self._auto_complete: dict[str, tuple[str, str]] = {}
        for rule in rule_set.rules:
            compiled = _CompiledRule(
                rule, compile_item_condition(rule.condition), rule.timing.is_immediate
            )
            self._rules[rule.id] = compiled
            self._by_stage.setdefault((rule.pipeline_id, rule.stage_id), []).append(compiled)
            if isinstance(rule.action, ScheduleActivity) and rule.action.auto_complete:
                self._auto_complete[rule.id] = (rule.pipeline_id, rule.stage_id)
        self._triggers: dict[str, list[_CompiledTrigger]] = {}
        self._event_triggers: dict[_TriggerKey, list[_CompiledEventTrigger]] = {}
        for trigger in rule_set.triggers:
            position = self._positions[trigger.pipeline_id][trigger.stage_id]
            if trigger.event is TriggerEvent.TASK_STATUS:
                self._triggers.setdefault(trigger.pipeline_id, []).append(
                    _CompiledTrigger(trigger, compile_task_condition(trigger.filter), position)
                )
                continue
            key = (trigger.event, trigger.pipeline_id, trigger.field or "")
            self._event_triggers.setdefault(key, []).append(
                _CompiledEventTrigger(trigger, compile_event_condition(trigger.filter), position)
            )

    @classmethod
    def for_storage(
        cls,
        rule_set: RuleSet,
        storage: Storage,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        sms_max_length: int | None = None,
    ) -> RuleEngine:
        """An engine for the portal in `storage`: its pipelines, users, departments,
        activity types and calendar; `sms_max_length` is the longest SMS the host's gateway
        sends (R9)."""
        settings = storage.settings
        return cls(
            rule_set,
            pipelines=storage.pipelines(),
            calendar=settings.calendar.build(),
            user_ids={user.id for user in storage.users()},
            department_ids={department.id for department in storage.departments()},
            activity_type_ids={activity_type.id for activity_type in settings.activity_types},
            max_depth=max_depth,
            sms_max_length=sms_max_length,
        )

    def handle(
        self, event: RuleEvent, storage: Storage, now: datetime, pending: JobStore
    ) -> Outcome:
        """What follows from `event`, already reflected in `storage` (R1, R5, R6).

        A stage change cancels the item's pending jobs from its previous stage,
        completes the activities rules scheduled there with auto-complete on,
        runs the new stage's immediate rules (and delayed ones already due, such
        as "working time only" in working time) and schedules the others.
        A task status change fires the first matching task status trigger
        (R5); an incoming e-mail, call, missed call or chat message, a payment
        or a field change fires the first matching trigger of its kind (R10).
        Other events change nothing. Raises `CascadeError` (and returns nothing, so nothing
        is applied) when rules and triggers keep firing each other: the event
        came from the host, which can refuse the user's action.
        """
        run = _Run(self, storage, instant("now", now), pending)
        if isinstance(event, _EVENT_TYPES):
            run.process(event, 0, ())
        return _logged(run.outcome(), f"{type(event).__name__} of item {event.item_id!r}")

    def run_due(self, storage: Storage, now: datetime, pending: JobStore) -> Outcome:
        """Run the pending jobs due at or before `now`, earliest first (R1, R2).

        A job whose item is no longer in the rule's stage is skipped; the
        rule's condition is checked now, when the job runs. Each job runs on
        its own (R6): one whose cascade does not settle is finished with its
        effects dropped and listed in `skipped` with the `CascadeError`
        message and chain, and the other due jobs run as if it had not been.
        """
        with collector_paused():  # thousands of short-lived objects, no cycles (_gc.py)
            run = self._run_due(storage, instant("now", now), pending)
        return _logged(run.outcome(), f"the jobs due at {run.now.isoformat()}")

    def _run_due(self, storage: Storage, now: datetime, pending: JobStore) -> _Run:
        run = _Run(self, storage, now, pending)
        for job in pending.due(now):
            if job.id in run.cancelled:  # an earlier job's cascade moved the item
                continue
            attempt = _Run(self, run, run.now, run, run.zones)
            try:
                attempt.run_job(job)
            except CascadeError as exc:
                run.finished[job.id] = None
                run.skipped.append(
                    Skip(
                        source_id=job.rule_id,
                        item_id=job.item_id,
                        reason=f"{exc}; the job is finished and its effects were dropped (R6)",
                        job_id=job.id,
                        chain=exc.chain,
                    )
                )
            else:
                run.merge(attempt)
        return run

    def __repr__(self) -> str:
        return f"RuleEngine({len(self._rules)} rules, {len(self.rule_set.triggers)} triggers)"


def _check_sms_texts(rule_set: RuleSet, limit: int | None) -> None:
    """An SMS text already over the limit before its placeholders are filled is a problem of
    the rule set (R7, R9); one that may grow past it is checked when it is rendered."""
    if limit is None:
        return
    problems = [
        Problem(
            path=f"$.rules[{index}].action.text",
            message=f"the SMS text is {len(rule.action.text.source)} characters, over the "
            f"host's limit of {limit}",
        )
        for index, rule in enumerate(rule_set.rules)
        if isinstance(rule.action, SendClientMessage)
        and rule.action.channel is ClientChannel.SMS
        and rule.action.text.is_plain
        and len(rule.action.text.source) > limit
    ]
    if problems:
        raise RuleSetError(problems)


def _logged(outcome: Outcome, cause: str) -> Outcome:
    """`outcome`, logged (logger "crmcounters") when the rules did anything."""
    if not outcome.is_empty:
        logger.info(
            "rules ran on %s: %d effects, %d jobs scheduled, %d cancelled, %d finished, %d skipped",
            cause,
            len(outcome.effects),
            len(outcome.scheduled),
            len(outcome.cancelled),
            len(outcome.finished),
            len(outcome.skipped),
        )
    for skip in outcome.skipped:
        logger.info("rules skipped %s on item %r: %s", skip.source_id, skip.item_id, skip.reason)
    return outcome


_Cause = tuple[str, ...]


class _Reads(Protocol):
    """What a run reads: a `Storage`, or the run of a whole `run_due` call under one job's."""

    @property
    def settings(self) -> Settings: ...
    def user(self, user_id: str) -> User: ...
    def department(self, department_id: str) -> Department: ...
    def supervisor_of(self, user_id: str) -> User | None: ...
    def item(self, item_id: str) -> Item: ...
    def task(self, task_id: str) -> Task: ...
    def tasks_of_item(self, item_id: str) -> Collection[Task]: ...
    def open_activities_of_item(self, item_id: str) -> Collection[Activity]: ...


class _Pending(Protocol):
    def pending_of_item(self, item_id: str) -> Collection[Job]: ...


class _Run:
    """One call's working state: storage seen through the effects decided so far.

    `run_due` runs each job in a run of its own over the call's run, and merges
    it only if its cascade settled, so a looping job leaves no trace but a skip.
    """

    def __init__(
        self,
        engine: RuleEngine,
        storage: _Reads,
        now: datetime,
        pending: _Pending,
        zones: dict[str, tzinfo] | None = None,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.now = now
        self.pending = pending
        self._settings: Settings | None = None
        self.items: dict[str, Item] = {}
        self.tasks: dict[str, Task] = {}
        self.new_tasks: dict[str, list[str]] = {}
        self.activities: dict[str, Activity] = {}
        self.new_activities: dict[str, list[str]] = {}
        self.effects: list[Effect] = []
        self.scheduled: dict[str, Job] = {}
        self.cancelled: dict[str, None] = {}
        self.finished: dict[str, None] = {}
        self.skipped: list[Skip] = []
        self.queue: deque[tuple[_Event, int, _Cause]] = deque()
        self.zones: dict[str, tzinfo] = {} if zones is None else zones

    def outcome(self) -> Outcome:
        return Outcome(
            effects=tuple(self.effects),
            scheduled=tuple(self.scheduled.values()),
            cancelled=tuple(self.cancelled),
            finished=tuple(self.finished),
            skipped=tuple(self.skipped),
        )

    def merge(self, job_run: _Run) -> None:
        """Take over what one job's run (over this one) decided."""
        self.items.update(job_run.items)
        self.tasks.update(job_run.tasks)
        for item_id, task_ids in job_run.new_tasks.items():
            self.new_tasks.setdefault(item_id, []).extend(task_ids)
        self.activities.update(job_run.activities)
        for item_id, activity_ids in job_run.new_activities.items():
            self.new_activities.setdefault(item_id, []).extend(activity_ids)
        self.effects += job_run.effects
        for job_id in job_run.cancelled:
            self.cancel(job_id)
        self.scheduled.update(job_run.scheduled)
        self.finished.update(job_run.finished)
        self.skipped += job_run.skipped

    def cancel(self, job_id: str) -> None:
        """Drop a job: one scheduled earlier in this call is never kept, a stored one is
        cancelled."""
        if job_id in self.scheduled:
            del self.scheduled[job_id]
        else:
            self.cancelled[job_id] = None

    # -- reads through the overlay -------------------------------------------

    @property
    def settings(self) -> Settings:
        """The portal's settings (activity types, A1), read once per call."""
        if self._settings is None:
            self._settings = self.storage.settings
        return self._settings

    def user(self, user_id: str) -> User:
        return self.storage.user(user_id)

    def department(self, department_id: str) -> Department:
        return self.storage.department(department_id)

    def supervisor_of(self, user_id: str) -> User | None:
        return self.storage.supervisor_of(user_id)

    def item(self, item_id: str) -> Item:
        found = self.items.get(item_id)
        return found if found is not None else self.storage.item(item_id)

    def task(self, task_id: str) -> Task:
        found = self.tasks.get(task_id)
        return found if found is not None else self.storage.task(task_id)

    def tasks_of_item(self, item_id: str) -> list[Task]:
        stored = [self.tasks.get(t.id, t) for t in self.storage.tasks_of_item(item_id)]
        return stored + [self.tasks[i] for i in self.new_tasks.get(item_id, ())]

    def open_activities_of_item(self, item_id: str) -> list[Activity]:
        found = [
            self.activities.get(a.id, a) for a in self.storage.open_activities_of_item(item_id)
        ]
        found += [self.activities[i] for i in self.new_activities.get(item_id, ())]
        return [a for a in found if a.is_open]

    def pending_of_item(self, item_id: str) -> list[Job]:
        stored = [
            job
            for job in self.pending.pending_of_item(item_id)
            if job.id not in self.cancelled and job.id not in self.finished
        ]
        return stored + [job for job in self.scheduled.values() if job.item_id == item_id]

    def zone(self, user_id: str) -> tzinfo:
        zone = self.zones.get(user_id)
        if zone is None:
            zone = self.zones[user_id] = self.storage.user(user_id).zone
        return zone

    # -- the cascade ----------------------------------------------------------

    def derive(self, event: _Event, depth: int, cause: _Cause) -> None:
        """Queue an event that an effect implies, one level deeper."""
        step = _describe(event)
        if depth > self.engine._max_depth:  # same module
            raise CascadeError(event.item_id, self.engine._max_depth, (*cause, step))
        self.queue.append((event, depth, (*cause, step)))

    def drain(self) -> None:
        while self.queue:
            event, depth, cause = self.queue.popleft()
            self.process(event, depth, cause)

    def process(self, event: _Event, depth: int, cause: _Cause) -> None:
        if not cause:
            cause = (_describe(event),)
        if isinstance(event, StageChanged):
            self.stage_changed(event, depth, cause)
        elif isinstance(event, TaskStatusChanged):
            self.task_status_changed(event, depth, cause)
        else:
            self.event_triggers(event, depth, cause)
        self.drain()

    def run_job(self, job: Job) -> None:
        self.finished[job.id] = None
        try:
            item = self.item(job.item_id)
        except UnknownIdError:
            self.skip(job.rule_id, job.item_id, "the item no longer exists", job.id)
            return
        if item.pipeline_id != job.pipeline_id or item.stage_id != job.stage_id:
            self.skip(job.rule_id, item.id, "the item left the rule's stage (R1)", job.id)
            return
        compiled = self.engine._rules.get(job.rule_id)  # same module
        if compiled is None or (
            compiled.rule.pipeline_id != job.pipeline_id or compiled.rule.stage_id != job.stage_id
        ):
            self.skip(
                job.rule_id, item.id, "the rule is no longer in this stage's rule set", job.id
            )
            return
        self.run_rule(compiled, item, job.id, job.depth, job.chain, job.id)
        if self.queue:
            self.drain()

    def skip(self, source_id: str, item_id: str, reason: str, job_id: str | None = None) -> None:
        self.skipped.append(
            Skip(source_id=source_id, item_id=item_id, reason=reason, job_id=job_id)
        )

    def stage_changed(self, event: StageChanged, depth: int, cause: _Cause) -> None:
        try:
            item = self.item(event.item_id)
        except UnknownIdError:
            self.skip("stage_changed", event.item_id, f"event {event.id}: unknown item")
            return
        if item.pipeline_id is None or item.stage_id is None:
            self.skip(
                "stage_changed", item.id, f"event {event.id}: a {item.entity_type} has no stages"
            )
            return
        if item.stage_id != event.to_stage_id or event.from_stage_id == event.to_stage_id:
            self.skip(
                "stage_changed",
                item.id,
                f"event {event.id}: the item is in stage {item.stage_id!r}, "
                f"not newly in {event.to_stage_id!r}",
            )
            return
        key = (item.pipeline_id, item.stage_id)
        for job in self.pending_of_item(item.id):  # R1: leaving (or re-entering) cancels
            if job.entry_id != event.id:
                self.cancel(job.id)
        auto = self.engine._auto_complete  # same module
        closing = [
            attrs.evolve(activity, completed_at=max(self.now, activity.created_at))
            for activity in self.open_activities_of_item(item.id)
            if activity.rule_id in auto and auto[activity.rule_id] != key
        ]
        if closing:
            for activity in closing:
                self.activities[activity.id] = activity
            self.effects.append(
                CompleteActivitiesEffect(
                    item_id=item.id,
                    left_stage_id=event.from_stage_id,
                    activities=tuple(closing),
                    depth=depth,
                )
            )
        for compiled in self.engine._by_stage.get(key, ()):  # same module
            rule = compiled.rule
            if compiled.immediate:
                self.run_rule(compiled, self.item(item.id), event.id, depth, cause, None)
                continue
            zone = self.zone(item.responsible_id)
            due = due_at(
                rule.timing,
                event.at,
                zone,
                self.engine.calendar,
                self.engine.rule_set.working_hours,
            )
            if due <= self.now:  # already due (working time now, or a late event): run it now
                self.run_rule(compiled, self.item(item.id), event.id, depth, cause, None)
                continue
            job = Job(
                id=derived_id(event.id, rule.id),
                rule_id=rule.id,
                item_id=item.id,
                pipeline_id=rule.pipeline_id,
                stage_id=rule.stage_id,
                entry_id=event.id,
                entered_at=event.at,
                due_at=due,
                depth=depth,  # P4: the chain's depth travels with the delayed job
                chain=cause,
            )
            self.scheduled[job.id] = job

    def task_status_changed(self, event: TaskStatusChanged, depth: int, cause: _Cause) -> None:
        try:
            task = self.task(event.task_id)
            item = self.item(task.item_id)
        except UnknownIdError as exc:
            self.skip("task_status_changed", event.item_id, f"event {event.id}: {exc}")
            return
        if item.pipeline_id is None or item.stage_id is None:
            self.skip(
                "task_status_changed",
                item.id,
                f"event {event.id}: a {item.entity_type} has no stages to move to",
            )
            return
        if task.status is not event.to_status:
            self.skip(
                "task_status_changed",
                item.id,
                f"event {event.id}: task {task.id!r} is {task.status.value}, "
                f"not {event.to_status.value}",
            )
            return
        positions = self.engine._positions.get(item.pipeline_id, {})  # same module
        current = positions.get(item.stage_id, -1)
        for compiled in self.engine._triggers.get(item.pipeline_id, ()):  # same module
            trigger = compiled.trigger
            if trigger.status is not event.to_status or trigger.stage_id == item.stage_id:
                continue
            if not compiled.test(task):
                continue
            if not trigger.allow_backward and compiled.position <= current:
                self.skip(
                    trigger.id,
                    item.id,
                    f"moving backward is not allowed (R5): the item is in {item.stage_id!r}, "
                    f"after {trigger.stage_id!r}; set allow_backward on the trigger to allow it",
                )
                continue
            self.move(
                item,
                trigger.stage_id,
                trigger.id,
                derived_id(event.id, trigger.id),
                trigger.change_stage_as or item.responsible_id,
                depth,
                cause,
            )
            return

    def event_triggers(
        self, event: IncomingMessage | PaymentReceived | FieldChanged, depth: int, cause: _Cause
    ) -> None:
        """Fire the first matching trigger of the event's kind in the item's pipeline (R10).

        Only the triggers of that kind (and, for a field change, that field) in
        the item's pipeline are looked at: an index built with the engine.
        """
        kind = trigger_event_of(event)
        if kind is None:  # a comment in a task fires no R10 trigger
            return
        field = event.field if isinstance(event, FieldChanged) else ""
        try:
            item = self.item(event.item_id)
        except UnknownIdError:
            self.skip(f"{kind}", event.item_id, f"event {event.id}: unknown item")
            return
        if item.pipeline_id is None or item.stage_id is None:
            return  # contacts and companies have no stage to move to
        candidates = self.engine._event_triggers.get((kind, item.pipeline_id, field))  # same module
        if not candidates:
            return
        if (item.pipeline_id, item.stage_id) in self.engine._final:  # same module
            self.skip(
                f"{kind}",
                item.id,
                f"event {event.id}: the item is in the final stage {item.stage_id!r}; "
                "a trigger never moves an item out of a final stage (R10)",
            )
            return
        current = self.engine._positions[item.pipeline_id].get(item.stage_id, -1)  # same module
        subject = (item, event_values(event))
        for compiled in candidates:
            trigger = compiled.trigger
            if trigger.stage_id == item.stage_id or not compiled.test(subject):
                continue
            if not trigger.allow_backward and compiled.position <= current:
                self.skip(
                    trigger.id,
                    item.id,
                    f"moving backward is not allowed (R10): the item is in {item.stage_id!r}, "
                    f"after {trigger.stage_id!r}; set allow_backward on the trigger to allow it",
                )
                continue
            by_user = trigger.change_stage_as or item.responsible_id
            if isinstance(event, FieldChanged) and event.by_user_id and not trigger.change_stage_as:
                by_user = event.by_user_id
            self.move(
                item,
                trigger.stage_id,
                trigger.id,
                derived_id(event.id, trigger.id),
                by_user,
                depth,
                cause,
            )
            return

    def move(
        self,
        item: Item,
        stage_id: str,
        source_id: str,
        event_id: str,
        by_user_id: str,
        depth: int,
        cause: _Cause,
    ) -> None:
        """Move the item to `stage_id` (checked by the caller) and queue the stage change."""
        moved = attrs.evolve(item, stage_id=stage_id)
        change = StageChanged(
            id=event_id,
            item_id=item.id,
            at=self.now,
            by_user_id=by_user_id,
            from_stage_id=item.stage_id,
            to_stage_id=stage_id,
        )
        self.items[item.id] = moved
        self.effects.append(
            ChangeStageEffect(
                trigger_id=source_id, item_id=item.id, item=moved, event=change, depth=depth
            )
        )
        self.derive(change, depth + 1, cause)

    # -- actions (R4) ---------------------------------------------------------

    def run_rule(
        self,
        compiled: _CompiledRule,
        item: Item,
        origin: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        rule = compiled.rule
        if not compiled.test(item):
            self.skip(rule.id, item.id, "the condition does not hold (R2)", job_id)
            return
        action = rule.action
        ident = derived_id(origin, rule.id)
        if isinstance(action, NotifySupervisor | NotifyUsers):
            recipients = self.recipients(action, item)
            if not recipients:
                self.skip(
                    rule.id,
                    item.id,
                    "no recipient: the responsible has no supervisor"
                    if isinstance(action, NotifySupervisor) and len(action.recipients) == 1
                    else "no recipient: none of the roles names an active user",
                    job_id,
                )
                return
            self.effects.append(
                NotifyEffect(
                    id=f"{ident}~notify",
                    rule_id=rule.id,
                    item_id=item.id,
                    at=self.now,
                    recipient_ids=recipients,
                    text=self.render(action.text, item),
                    depth=depth,
                )
            )
        elif isinstance(action, AddHistoryEntry):
            entry = HistoryEntryAdded(
                id=f"{ident}~history",
                item_id=item.id,
                at=self.now,
                author_id=action.author_id or item.responsible_id,
                text=self.render(action.text, item),
                rule_id=rule.id,
            )
            self.effects.append(
                AddHistoryEffect(rule_id=rule.id, item_id=item.id, entry=entry, depth=depth)
            )
        elif isinstance(action, CreateTask):
            task = Task(
                id=f"{ident}~task",
                item_id=item.id,
                title=self.render(action.title, item),
                description=self.render(action.description, item),
                responsible_id=action.responsible_id or item.responsible_id,
                created_at=self.now,
                observer_ids=action.observer_ids,
                deadline=self.deadline(action.deadline, item),
                time_tracking=action.time_tracking,
                rule_id=rule.id,
                rule_pipeline_id=rule.pipeline_id,
                rule_stage_id=rule.stage_id,
            )
            self.tasks[task.id] = task
            self.new_tasks.setdefault(item.id, []).append(task.id)
            self.effects.append(
                CreateTaskEffect(rule_id=rule.id, item_id=item.id, task=task, depth=depth)
            )
        elif isinstance(action, CompleteTasks):
            self.complete_tasks(rule, action, item, ident, depth, cause, job_id)
        elif isinstance(action, SendClientMessage):
            self.send_client_message(rule, action, item, ident, depth, job_id)
        elif isinstance(action, ChangeResponsible):
            self.change_responsible(rule, action, item, ident, depth, cause, job_id)
        elif isinstance(action, SetField):
            self.set_field(rule, action, item, ident, depth, cause, job_id)
        elif isinstance(action, MoveToStage):
            self.move_to_stage(rule, action, item, ident, depth, cause, job_id)
        else:
            self.schedule_activity(rule, action, item, ident, depth, job_id)

    # -- client communication and item edits (R9) -----------------------------

    def send_client_message(
        self,
        rule: Rule,
        action: SendClientMessage,
        item: Item,
        ident: str,
        depth: int,
        job_id: str | None,
    ) -> None:
        if not item.client.strip():
            self.skip(rule.id, item.id, "the item has no client to write to (R9)", job_id)
            return
        text = self.render(action.text, item)
        limit = self.engine.sms_max_length
        if action.channel is ClientChannel.SMS and limit is not None and len(text) > limit:
            self.skip(
                rule.id,
                item.id,
                f"the SMS is {len(text)} characters once its placeholders are filled in, "
                f"over the host's limit of {limit} (R9); nothing was sent: shorten the text",
                job_id,
            )
            return
        self.effects.append(
            ClientMessageEffect(
                id=f"{ident}~{action.channel.value}",
                rule_id=rule.id,
                item_id=item.id,
                at=self.now,
                channel=action.channel,
                client=item.client,
                text=text,
                subject=self.render(action.subject, item),
                depth=depth,
            )
        )

    def change_responsible(
        self,
        rule: Rule,
        action: ChangeResponsible,
        item: Item,
        ident: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        if action.user_id is not None:
            chosen: str | None = action.user_id
            if not self.user(action.user_id).active:
                self.skip(rule.id, item.id, f"user {action.user_id!r} is deactivated (R9)", job_id)
                return
        else:
            chosen = _rendezvous(
                item.id, [one for one in action.round_robin if self.user(one).active]
            )
            if chosen is None:
                self.skip(
                    rule.id, item.id, "every user of the round-robin is deactivated (R9)", job_id
                )
                return
        assert chosen is not None  # noqa: S101 - narrowed for mypy
        self.change_field(
            rule,
            item,
            "responsible_id",
            chosen,
            _replaced(item, responsible_id=chosen),
            ident,
            depth,
            cause,
            job_id,
        )

    def set_field(
        self,
        rule: Rule,
        action: SetField,
        item: Item,
        ident: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        name = action.field
        value: FieldValue | Decimal = action.value
        if name.startswith("field:"):
            key = name[len("field:") :]
            fields = dict(item.fields)
            if value is None:
                fields.pop(key, None)
            else:
                fields[key] = action.value
            changed = _replaced(item, fields=MappingProxyType(fields))
        elif name == "amount":
            value = None if action.value is None else Decimal(str(action.value))
            changed = _replaced(item, amount=value)
        else:
            text = "" if action.value is None else str(action.value)
            value = text
            if name == "title":
                changed = _replaced(item, title=text)
            elif name == "currency":
                changed = _replaced(item, currency=text)
            else:
                changed = _replaced(item, client=text)
        self.change_field(rule, item, name, value, changed, ident, depth, cause, job_id)

    def change_field(
        self,
        rule: Rule,
        item: Item,
        name: str,
        value: FieldValue | Decimal,
        changed: Item,
        ident: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        """Store the changed item; a field trigger on that field sees the change (R9, R10)."""
        previous = _field_value(item, name)
        if _field_value(changed, name) == previous and type(value) is type(previous):
            self.skip(rule.id, item.id, f"{name} already is {previous!r}", job_id)
            return
        self.items[item.id] = changed
        self.effects.append(
            ChangeFieldEffect(
                rule_id=rule.id,
                item_id=item.id,
                item=changed,
                field=name,
                value=value,
                previous=previous,
                depth=depth,
            )
        )
        if (
            changed.pipeline_id is not None
            and (
                TriggerEvent.FIELD_CHANGED,
                changed.pipeline_id,
                name,
            )
            in self.engine._event_triggers
        ):  # same module; no trigger watches it: nothing to queue
            self.derive(
                FieldChanged(
                    id=f"{ident}~set",
                    item_id=item.id,
                    at=self.now,
                    field=name,
                    value=value,
                    previous=previous,
                ),
                depth + 1,
                cause,
            )

    def move_to_stage(
        self,
        rule: Rule,
        action: MoveToStage,
        item: Item,
        ident: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        assert item.pipeline_id is not None  # noqa: S101 - a rule runs on an item in its stage
        assert item.stage_id is not None  # noqa: S101
        if (item.pipeline_id, item.stage_id) in self.engine._final:  # same module
            self.skip(
                rule.id,
                item.id,
                f"the item is in the final stage {item.stage_id!r}; a rule never moves it out (R9)",
                job_id,
            )
            return
        positions = self.engine._positions[item.pipeline_id]  # same module
        if not action.allow_backward and positions[action.stage_id] <= positions[item.stage_id]:
            self.skip(
                rule.id,
                item.id,
                f"moving backward is not allowed (R9): the item is in {item.stage_id!r}, "
                f"after {action.stage_id!r}; set allow_backward on the action to allow it",
                job_id,
            )
            return
        self.move(
            item, action.stage_id, rule.id, f"{ident}~move", item.responsible_id, depth, cause
        )

    def complete_tasks(
        self,
        rule: Rule,
        action: CompleteTasks,
        item: Item,
        ident: str,
        depth: int,
        cause: _Cause,
        job_id: str | None,
    ) -> None:
        stages = set(action.stage_ids)
        chosen = [
            task
            for task in self.tasks_of_item(item.id)
            if task.is_open
            and task.rule_id is not None
            and task.rule_pipeline_id == action.pipeline_id
            and task.rule_stage_id in stages
        ]
        if not chosen:
            self.skip(rule.id, item.id, "no open task created by rules in those stages", job_id)
            return
        done = tuple(attrs.evolve(task, status=TaskStatus.COMPLETED) for task in chosen)
        for task in done:
            self.tasks[task.id] = task
        self.effects.append(
            CompleteTasksEffect(rule_id=rule.id, item_id=item.id, tasks=done, depth=depth)
        )
        for before in chosen:
            self.derive(
                TaskStatusChanged(
                    id=f"{ident}~done~{_shorten(before.id)}",
                    task_id=before.id,
                    item_id=item.id,
                    at=self.now,
                    from_status=before.status,
                    to_status=TaskStatus.COMPLETED,
                ),
                depth + 1,
                cause,
            )

    def schedule_activity(
        self,
        rule: Rule,
        action: ScheduleActivity,
        item: Item,
        ident: str,
        depth: int,
        job_id: str | None,
    ) -> None:
        activity_id, responsible_id = (
            f"{ident}~activity",
            action.responsible_id or item.responsible_id,
        )
        subject = self.render(action.description, item)
        deadline = self.deadline(action.deadline, item)
        if action.type_id is None:
            activity = Activity(
                id=activity_id,
                item_ids=(item.id,),
                kind=action.kind or ActivityKind.TODO,
                responsible_id=responsible_id,
                created_at=self.now,
                subject=subject,
                deadline=deadline,
                rule_id=rule.id,
            )
        else:  # A1: the type's defaults for what the action leaves out
            try:
                activity_type = self.settings.activity_type(action.type_id)
            except UnknownIdError:
                reason = f"the activity type {action.type_id!r} is no longer in the settings (A1)"
                self.skip(rule.id, item.id, reason, job_id)
                return
            typed = typed_activity(
                activity_type,
                activity_id=activity_id,
                item_ids=(item.id,),
                created_at=self.now,
                responsible_id=responsible_id,
                zone=self.zone(responsible_id),
                calendar=self.engine.calendar,
            )
            activity = attrs.evolve(
                typed,
                kind=action.kind or typed.kind,
                subject=subject if action.description.source else typed.subject,
                deadline=typed.deadline if action.deadline is None else deadline,
                rule_id=rule.id,
            )
        self.activities[activity.id] = activity
        self.new_activities.setdefault(item.id, []).append(activity.id)
        self.effects.append(
            CreateActivityEffect(rule_id=rule.id, item_id=item.id, activity=activity, depth=depth)
        )

    def recipients(self, action: NotifySupervisor | NotifyUsers, item: Item) -> tuple[str, ...]:
        """Each active user the recipients name, once, in the order first named (R8)."""
        found: dict[str, None] = {}
        for recipient in action.recipients:
            if recipient == RECIPIENT_SUPERVISOR:
                supervisor = self.storage.supervisor_of(item.responsible_id)
                if supervisor is not None:
                    found[supervisor.id] = None
            elif recipient == RECIPIENT_RESPONSIBLE:
                found[item.responsible_id] = None
            else:
                user_id = recipient_user_id(recipient)
                if user_id is None:
                    department_id = department_head_id(recipient)
                    if department_id is not None:
                        user_id = self.storage.department(department_id).head_id
                if user_id is not None:
                    found[user_id] = None
        return tuple(user_id for user_id in found if self.user(user_id).active)

    def deadline(self, deadline: Deadline | None, item: Item) -> datetime | None:
        if deadline is None or isinstance(deadline, datetime):
            return deadline
        assert isinstance(deadline, Delay)  # noqa: S101 - narrowed for mypy
        return add_delay(self.now, deadline, self.zone(item.responsible_id), self.engine.calendar)

    def render(self, template: Template, item: Item) -> str:
        if template.is_plain:
            return template.source
        values = {name: self.value(name, item) for name in template.names}
        return template.render(values, item.fields)

    def value(self, name: str, item: Item) -> str:
        """The text of one built-in placeholder (R3): a fixed list, no attribute lookup by name."""
        if name == "Title":
            return item.title
        if name == "Amount":
            return "" if item.amount is None else str(item.amount)
        if name == "Currency":
            return item.currency
        if name == "Client":
            return item.client
        if name == "Responsible":
            return self.storage.user(item.responsible_id).name
        if item.pipeline_id is None or item.stage_id is None:
            return ""  # contacts and companies have no stage
        return self.engine._stage_names.get(  # same module
            (item.pipeline_id, item.stage_id), item.stage_id
        )


def _shorten(parent: str) -> str:
    """`parent` itself when short, else a digest of it: a chain of ids does not nest (P4)."""
    if len(parent) <= MAX_PARENT_ID:
        return parent
    return "h" + hashlib.blake2b(parent.encode(), digest_size=12).hexdigest()


def derived_id(parent: str, *parts: str) -> str:
    """The id of a record or job made for `parent` (an event or job id): `parent~part~…`.

    Deterministic, so replaying the same events gives the same ids (X2) and
    applying an outcome twice fails on them; a parent longer than
    `MAX_PARENT_ID` is replaced by a 25-character digest, so an id made
    along a chain of events and jobs never grows with the chain (P4).
    """
    return "~".join((_shorten(parent), *parts))


def _describe(event: _Event) -> str:
    if isinstance(event, StageChanged):
        return f"{event.item_id}: {event.from_stage_id} -> {event.to_stage_id}"
    if isinstance(event, TaskStatusChanged):
        return f"{event.item_id}: task {event.task_id} {event.to_status.value}"
    if isinstance(event, FieldChanged):
        return f"{event.item_id}: {event.field} {event.previous!r} -> {event.value!r}"
    if isinstance(event, PaymentReceived):
        return f"{event.item_id}: payment {event.amount} {event.currency}".rstrip()
    return f"{event.item_id}: incoming {event.channel.value}"


def _field_value(item: Item, name: str) -> FieldValue | Decimal:
    """The value of field `name` (built-in or ``field:NAME``) of an item."""
    if name.startswith("field:"):
        return item.fields.get(name[len("field:") :])
    value: FieldValue | Decimal = getattr(item, _SETTABLE[name])
    return value


#: The built-in item fields rules change (R9), by name: a fixed list, no lookup by user text.
_SETTABLE = {
    "title": "title",
    "amount": "amount",
    "currency": "currency",
    "client": "client",
    "responsible_id": "responsible_id",
}


def _replaced(item: Item, **changes: object) -> Item:
    """`item` with `changes`, without validating it again (R9's hot path).

    Only for values already checked: a field value checked when the rule set
    was built (its type, a finite number, a declared custom field), a user id
    the rule set names. `attrs.evolve` would run every validator of the item
    again for each job (STYLE: no validated objects in hot loops).
    """
    changed = object.__new__(Item)
    for name in _ITEM_FIELDS:
        object.__setattr__(changed, name, changes.get(name, getattr(item, name)))
    return changed


_ITEM_FIELDS = tuple(field.name for field in attrs.fields(Item))


def _rendezvous(item_id: str, user_ids: list[str]) -> str | None:
    """The user of `user_ids` with the highest hash of (item, user): rendezvous hashing (R9).

    Deterministic (the same item always goes to the same user), even across
    the users, and removing one user moves only the items that were theirs.
    """
    best: str | None = None
    best_score = b""
    for user_id in user_ids:
        score = hashlib.blake2b(f"{item_id}\x00{user_id}".encode(), digest_size=8).digest()
        if best is None or score > best_score:
            best, best_score = user_id, score
    return best
