"""`RuleRuntime`: a reference host for the rule engine, over a writable storage (R6).

It plays the part a CRM plays around the pure engine: it stores what users
do, tells the engine, applies the outcome (records added or replaced in one
all-or-nothing write, jobs kept or dropped) and moves a `ManualClock` through
the due jobs, so tests and examples can simulate days of work, in memory
(`InMemoryStorage`) or in a database (`crmcounters.sql.SqlStorage`).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from .._errors import ValidationError
from .._events import IncomingChannel, IncomingMessage, StageChanged
from .._host import apply_outcome
from .._incoming import record_incoming
from .._items import FieldValue, Item
from .._outbox import InMemoryOutbox, Outbox
from .._storage import WritableStorage
from .._tasks import TaskStatus
from .._validate import instant
from ..rules._effects import Effect, NotifyEffect, Outcome, Skip, TaskStatusChanged
from ..rules._engine import RuleEngine, RuleEvent
from ..rules._jobs import JobQueue, PendingJobs
from ..rules._trigger_events import FieldChanged, PaymentReceived

if TYPE_CHECKING:
    from . import ManualClock

__all__ = ["RuleRuntime", "RuntimeStorage"]


@runtime_checkable
class RuntimeStorage(WritableStorage, Protocol):
    """What `RuleRuntime` needs of a storage: the `Storage` reads plus all-or-nothing writes.

    The same as `crmcounters.WritableStorage`: `InMemoryStorage` and
    `crmcounters.sql.SqlStorage` have them; each write either stores all of
    its records or raises and stores nothing (G5).
    """


class RuleRuntime:
    """Apply a `RuleEngine`'s outcomes to a storage as a `ManualClock` moves.

    The storage is an `InMemoryStorage`, a `crmcounters.sql.SqlStorage`, or
    anything else with their writes (`RuntimeStorage`); the pending jobs a
    `PendingJobs` (default) or any `JobQueue` such as
    `crmcounters.sql.SqlJobStore`; notifications go to `outbox` (default an
    `InMemoryOutbox`). User actions (`create_item`, `move`,
    `set_task_status`, `set_field`; the client's `receive` and `pay`) are
    stored first, then handed to the engine as events; each outcome is stored
    with `apply_outcome` (all or nothing);
    `advance`/`advance_to` run every job at its own due instant. `log` keeps
    every applied effect with its instant, `skips` every skip, `outcomes`
    every outcome.
    """

    def __init__(
        self,
        engine: RuleEngine,
        storage: RuntimeStorage,
        clock: ManualClock,
        pending: JobQueue | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.clock = clock
        self.pending: JobQueue = pending if pending is not None else PendingJobs()
        self.outbox: Outbox = outbox if outbox is not None else InMemoryOutbox(clock=clock)
        self.log: list[tuple[datetime, Effect]] = []
        self.skips: list[tuple[datetime, Skip]] = []
        self.outcomes: list[Outcome] = []
        self._ids = itertools.count(1)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # -- what users do ------------------------------------------------------

    def create_item(self, item: Item, *, by_user_id: str | None = None) -> Outcome:
        """Store a new item; its stage's rules run as if it had just entered it (R1).

        A contact or company has no stage: it is stored, and nothing runs.
        """
        if item.stage_id is None:
            self.storage.add(item)
            return Outcome()
        event = StageChanged(
            id=self._next_id("enter"),
            item_id=item.id,
            at=self.clock.now(),
            by_user_id=by_user_id or item.responsible_id,
            from_stage_id=None,
            to_stage_id=item.stage_id,
        )
        self.storage.add(item, event)
        return self.handle(event)

    def move(self, item_id: str, stage_id: str, *, by_user_id: str | None = None) -> Outcome:
        """A user moves the item to another stage of its pipeline."""
        item = self.storage.item(item_id)
        if item.pipeline_id is None or not self.storage.pipeline(item.pipeline_id).has_stage(
            stage_id
        ):
            raise ValidationError(
                "stage_id", f"pipeline {item.pipeline_id!r} has no stage {stage_id!r}"
            )
        event = StageChanged(
            id=self._next_id("move"),
            item_id=item_id,
            at=self.clock.now(),
            by_user_id=by_user_id or item.responsible_id,
            from_stage_id=item.stage_id,
            to_stage_id=stage_id,
        )
        self.storage.write(add=(event,), replace=(attrs.evolve(item, stage_id=stage_id),))
        return self.handle(event)

    def set_task_status(
        self, task_id: str, status: TaskStatus | str, *, by_user_id: str | None = None
    ) -> Outcome:
        """A user changes a task's status (e.g. completes it), which may fire a trigger (R5)."""
        task = self.storage.task(task_id)
        new_status = TaskStatus(status)
        self.storage.replace(attrs.evolve(task, status=new_status))
        return self.handle(
            TaskStatusChanged(
                id=self._next_id("task"),
                task_id=task_id,
                item_id=task.item_id,
                at=self.clock.now(),
                from_status=task.status,
                to_status=new_status,
                by_user_id=by_user_id,
            )
        )

    def receive(self, item_id: str, channel: IncomingChannel | str, text: str = "") -> Outcome:
        """The client writes, calls or misses a call: stored with its open incoming activity
        in one write (I1, `record_incoming`), then handed to the engine, which may fire an
        incoming-message trigger (R10)."""
        event_id = self._next_id("incoming")
        at = self.clock.now()
        record_incoming(
            self.storage,
            item_id,
            channel,
            at,
            event_id=event_id,
            activity_id=f"{event_id}-a",
            text=text,
        )
        event = IncomingMessage(
            id=event_id, item_id=item_id, at=at, channel=IncomingChannel(channel), text=text
        )
        return self.handle(event)

    def pay(self, item_id: str, amount: Decimal | int | str, currency: str = "") -> Outcome:
        """The client pays for the item: the engine may fire a payment trigger (R10)."""
        self.storage.item(item_id)
        return self.handle(
            PaymentReceived(
                id=self._next_id("payment"),
                item_id=item_id,
                at=self.clock.now(),
                amount=amount,
                currency=currency,
            )
        )

    def set_field(
        self, item_id: str, field: str, value: FieldValue, *, by_user_id: str | None = None
    ) -> Outcome:
        """A user edits a custom field (``field:NAME``) or "title", "amount", "currency",
        "client": the item is stored, then the change may fire a field trigger (R10)."""
        item = self.storage.item(item_id)
        if field.startswith("field:"):
            key = field[len("field:") :]
            previous: FieldValue | Decimal = item.fields.get(key)
            changed = attrs.evolve(item, fields={**item.fields, key: value})
        elif field == "amount":
            previous = item.amount
            changed = attrs.evolve(item, amount=None if value is None else Decimal(str(value)))
        elif field in ("title", "currency", "client"):
            previous = getattr(item, field)
            text = "" if value is None else str(value)
            changed = (
                attrs.evolve(item, title=text)
                if field == "title"
                else attrs.evolve(item, currency=text)
                if field == "currency"
                else attrs.evolve(item, client=text)
            )
        else:
            raise ValidationError("field", f"cannot set {field!r} here; use move() for stages")
        self.storage.replace(changed)
        return self.handle(
            FieldChanged(
                id=self._next_id("field"),
                item_id=item_id,
                at=self.clock.now(),
                field=field,
                value=value,
                previous=previous,
                by_user_id=by_user_id,
            )
        )

    # -- the engine loop ----------------------------------------------------

    def handle(self, event: RuleEvent) -> Outcome:
        """Hand an event (already stored) to the engine and apply the outcome."""
        outcome = self.engine.handle(event, self.storage, self.clock.now(), self.pending)
        self.apply(outcome)
        return outcome

    def run_due(self) -> Outcome:
        """Run the jobs due now and apply the outcome."""
        outcome = self.engine.run_due(self.storage, self.clock.now(), self.pending)
        self.apply(outcome)
        return outcome

    def advance(self, by: timedelta) -> list[Outcome]:
        """Move the clock forward by `by` (elapsed time), running each job at its due instant."""
        # Through UTC: adding to a datetime in its own zone would add wall-clock time.
        return self.advance_to(self.clock.now().astimezone(UTC) + by)

    def advance_to(self, at: datetime) -> list[Outcome]:
        """Move the clock to `at`, running each job at its due instant on the way."""
        until = instant("at", at)  # compared as an instant: a local `at` may repeat (G4)
        outcomes = []
        while True:
            due = self.pending.next_due()
            if due is None or due > until:
                break
            if due > self.clock.now():
                self.clock.set(due)
            outcomes.append(self.run_due())
        self.clock.set(at)
        return outcomes

    def apply(self, outcome: Outcome) -> None:
        """Store the outcome (records, jobs, outbox entries) with `apply_outcome`, then log it.

        When the write is refused (G5), nothing of the outcome is stored, its
        jobs are not kept and it is not logged: the error propagates.
        """
        apply_outcome(outcome, storage=self.storage, jobs=self.pending, outbox=self.outbox)
        now = self.clock.now()
        self.log.extend((now, effect) for effect in outcome.effects)
        self.skips.extend((now, skip) for skip in outcome.skipped)
        self.outcomes.append(outcome)

    @property
    def notifications(self) -> list[NotifyEffect]:
        """Every notification sent so far."""
        return [effect for _, effect in self.log if isinstance(effect, NotifyEffect)]

    def __repr__(self) -> str:
        return f"RuleRuntime(at={self.clock.now().isoformat()}, pending={len(self.pending)})"
