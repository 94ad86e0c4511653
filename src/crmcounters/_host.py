"""Running a rule engine for real (R6, P1-P4): outcomes applied in one write, events fed
from request handlers, due jobs claimed in batches and each run once.

This is the imperative shell around the pure engine. `apply_outcome` stores an
outcome's records, jobs and outbox entries all or nothing. `RuleHost` ties an
engine to a storage, a `JobQueue` and an `Outbox`: `feed` answers an event the
host stored, `run_batch`/`run_due` run due jobs (what `crmcounters worker`
calls in its loop).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from ._activities import Activity
from ._clock import Clock, SystemClock
from ._errors import CrmCountersError, ValidationError
from ._events import TimelineEvent
from ._items import Item
from ._outbox import Outbox, OutboxEntry, ReminderMark
from ._pipelines import Pipeline
from ._reminders import Reminder, reminder_feed
from ._settings import Settings
from ._storage import Storage, WritableStorage
from ._tasks import Task
from ._users import Department, User
from ._validate import check_aware
from .rules._apply import outbox_entries, outcome_records
from .rules._effects import Job, Outcome, Skip
from .rules._engine import RuleEngine, RuleEvent
from .rules._jobs import DEFAULT_LEASE, Claim, JobQueue

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "REMINDER_STEP",
    "RuleHost",
    "RunReport",
    "apply_outcome",
    "logger",
    "reminder_entry",
]

#: The library's logger; silent unless the host configures logging.
logger = logging.getLogger("crmcounters")

#: How many due jobs one claim takes.
DEFAULT_BATCH_SIZE = 200
#: The longest stretch of time whose reminder pings one transaction puts in the outbox: a
#: worker that was down catches up step by step, each step small (N1, P3).
REMINDER_STEP = timedelta(hours=1)
_MICROSECOND = timedelta(microseconds=1)


def reminder_entry(ping: Reminder) -> OutboxEntry:
    """A reminder ping (N1) as an outbox entry of kind "reminder", with the ping's stable id.

    The payload names the recipient, the activity, the offset and the
    deadline (UTC, ISO 8601); `at` is when the ping falls due.
    """
    return OutboxEntry(
        id=ping.id,
        kind="reminder",
        at=ping.at,
        item_id=ping.item_id,
        payload={
            "recipient_id": ping.recipient_id,
            "activity_id": ping.activity_id,
            "offset_minutes": ping.offset_minutes,
            "deadline": ping.deadline.isoformat(),
        },
    )


def apply_outcome(
    outcome: Outcome, *, storage: WritableStorage, jobs: JobQueue, outbox: Outbox
) -> None:
    """Store an engine outcome in one all-or-nothing write (R6, P1, P3).

    The records its effects create and change (`outcome_records`), its jobs
    (scheduled kept; cancelled and finished dropped) and its outbox entries
    (`outbox_entries`) are written inside `jobs.transaction()`: in a
    database one transaction, in memory every part checked before any is
    written. If any part is refused, nothing is stored and the error
    propagates (G5).
    """
    if not isinstance(outcome, Outcome):
        raise ValidationError("outcome", f"expected an Outcome, got {type(outcome).__name__}")
    added, replaced = outcome_records(outcome)
    entries = outbox_entries(outcome)
    with jobs.transaction():
        jobs.check(outcome)
        outbox.check(entries)
        storage.write(add=added, replace=replaced)
        jobs.apply(outcome)
        outbox.put(entries)


@attrs.frozen(kw_only=True)
class RunReport:
    """What running due jobs did: claimed, finished, effects applied, skips, failures.

    `stopped` are the skips of cascades stopped at the depth limit (R6, P4),
    each naming its chain; `failed` the ids of jobs whose write failed, left
    to be claimed again once their lease ends.
    """

    claimed: int = 0
    finished: int = 0
    effects: int = 0
    skipped: tuple[Skip, ...] = ()
    failed: tuple[str, ...] = ()
    #: Reminder pings put in the outbox (N1; the `Worker` counts them here).
    reminders: int = 0

    @property
    def stopped(self) -> tuple[Skip, ...]:
        """The skips of cascades stopped at the depth limit (they carry a chain)."""
        return tuple(skip for skip in self.skipped if skip.chain)

    def __add__(self, other: RunReport) -> RunReport:
        return RunReport(
            claimed=self.claimed + other.claimed,
            finished=self.finished + other.finished,
            effects=self.effects + other.effects,
            skipped=self.skipped + other.skipped,
            failed=self.failed + other.failed,
            reminders=self.reminders + other.reminders,
        )


@runtime_checkable
class _ItemsById(Protocol):
    def items_with_ids(self, item_ids: Collection[str]) -> Collection[Item]: ...


class _BatchReads:
    """The storage as one batch of jobs reads it: the batch's items fetched together, users
    and supervisors looked up once.

    The engine writes nothing while it runs, and inside the batch's transaction
    the items are locked (SQLite holds the write lock, PostgreSQL the rows); a
    user moved meanwhile is seen by the next batch. Most jobs of a batch ask
    about the same few users.
    """

    def __init__(self, storage: Storage, item_ids: Collection[str] = ()) -> None:
        self._storage = storage
        self._users: dict[str, User] = {}
        self._supervisors: dict[str, User | None] = {}
        self._items: dict[str, Item] = {}
        if item_ids and isinstance(storage, _ItemsById):  # one query instead of one per job
            self._items = {item.id: item for item in storage.items_with_ids(item_ids)}

    @property
    def settings(self) -> Settings:
        return self._storage.settings

    def user(self, user_id: str) -> User:
        found = self._users.get(user_id)
        if found is None:
            found = self._users[user_id] = self._storage.user(user_id)
        return found

    def users(self) -> Collection[User]:
        return self._storage.users()

    def department(self, department_id: str) -> Department:
        return self._storage.department(department_id)

    def departments(self) -> Collection[Department]:
        return self._storage.departments()

    def supervisor_of(self, user_id: str) -> User | None:
        if user_id not in self._supervisors:
            self._supervisors[user_id] = self._storage.supervisor_of(user_id)
        return self._supervisors[user_id]

    def pipeline(self, pipeline_id: str) -> Pipeline:
        return self._storage.pipeline(pipeline_id)

    def pipelines(self) -> Collection[Pipeline]:
        return self._storage.pipelines()

    def item(self, item_id: str) -> Item:
        # Nothing is written while the engine runs the batch: what was read stays true.
        found = self._items.get(item_id)
        return found if found is not None else self._storage.item(item_id)

    def items(self) -> Collection[Item]:
        return self._storage.items()

    def items_of(self, responsible_id: str) -> Collection[Item]:
        return self._storage.items_of(responsible_id)

    def activity(self, activity_id: str) -> Activity:
        return self._storage.activity(activity_id)

    def activities_of_item(self, item_id: str) -> Collection[Activity]:
        return self._storage.activities_of_item(item_id)

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        return self._storage.open_activities_of_item(item_id)

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        return self._storage.open_activities_of_user(user_id)

    def task(self, task_id: str) -> Task:
        return self._storage.task(task_id)

    def tasks_of_item(self, item_id: str) -> Collection[Task]:
        return self._storage.tasks_of_item(item_id)

    def events_of_item(self, item_id: str) -> Collection[TimelineEvent]:
        return self._storage.events_of_item(item_id)


class _Claimed:
    """The engine's view of the jobs during a batch: due ones are exactly those confirmed."""

    def __init__(self, jobs: JobQueue, owned: tuple[Job, ...]) -> None:
        self._jobs = jobs
        self._owned = sorted(owned, key=lambda job: (job.due_at, job.id))

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        return self._jobs.pending_of_item(item_id)

    def due(self, now: datetime) -> Iterable[Job]:
        return self._owned


class RuleHost:
    """A rule engine at work over a host's storage, job queue and outbox (R6, P1-P4).

    `feed(event)` answers an event the host has stored (a stage change, a task
    status change) and applies the outcome in one write; `run_due()` runs the
    jobs due now in claimed batches, each job once even with several workers
    on one database (P2); `next_due()` says when to look again. The clock
    stamps effects and leases (default: the system clock).

    In memory (`InMemoryStorage`, `PendingJobs`, `InMemoryOutbox`) one host
    serves one thread. Over SQL (`SqlStorage`, `SqlJobStore`, `SqlOutbox`
    on one connection) give each thread or process a host of its own, on a
    connection of its own; any number may share the database.
    """

    def __init__(
        self,
        engine: RuleEngine,
        storage: WritableStorage,
        jobs: JobQueue,
        outbox: Outbox,
        *,
        clock: Clock | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease: timedelta = DEFAULT_LEASE,
        reminders: bool = False,
    ) -> None:
        if not isinstance(engine, RuleEngine):
            raise ValidationError("engine", f"expected a RuleEngine, got {type(engine).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError("batch_size", f"expected a whole number >= 1, got {batch_size!r}")
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise ValidationError("lease", f"expected a positive timedelta, got {lease!r}")
        self.engine = engine
        self.storage = storage
        self.jobs = jobs
        self.outbox = outbox
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.batch_size = batch_size
        self.lease = lease
        if reminders and not isinstance(outbox, ReminderMark):
            raise ValidationError(
                "outbox",
                f"{type(outbox).__name__} keeps no reminder mark: reminders need an outbox "
                "with reminders_delivered_until (InMemoryOutbox, SqlOutbox)",
            )
        #: Whether `deliver_reminders` (and the `Worker`) put reminder pings in the outbox (N1).
        self.reminders = reminders
        self._mark: ReminderMark | None = outbox if isinstance(outbox, ReminderMark) else None

    def _now(self) -> datetime:
        return check_aware("now", self.clock.now())

    def transaction(self, items: Collection[str] = ()) -> AbstractContextManager[None]:
        """A scope in which the host's own writes and `feed` commit together (SQL).

        Store the user's change and feed its event inside it: if the rules
        refuse the event (`CascadeError`), the change is rolled back too. The
        rows of `items` are locked first on PostgreSQL, as workers lock them.
        """
        return self.jobs.transaction(items)

    def feed(self, event: RuleEvent) -> Outcome:
        """What the rules make of an event already stored, applied in one write (R6, P1).

        Raises `CascadeError` when rules and triggers do not settle, and then
        applies nothing: the host can refuse the user's action.
        """
        now = self._now()
        with self.jobs.transaction((event.item_id,)):
            outcome = self.engine.handle(event, self.storage, now, self.jobs)
            apply_outcome(outcome, storage=self.storage, jobs=self.jobs, outbox=self.outbox)
        _log_outcome(f"event {event.id}", outcome)
        return outcome

    def run_batch(self) -> RunReport:
        """Claim up to `batch_size` due jobs, run them and apply the outcome (P2).

        The jobs' effects, their removal and the jobs they schedule commit
        together. If that write fails, each job is retried alone, and a job
        that still fails is left to be claimed again once its lease ends
        (after `max_attempts` claims it is set aside: `jobs.failed()`).
        Returns a report with `claimed` 0 when nothing was due.
        """
        now = self._now()
        claim = self.jobs.claim(now, self.batch_size, self.lease)
        if not claim.jobs:
            return RunReport()
        try:
            report = self._run(claim, claim.jobs, now)
        except Exception as exc:  # a refused write, a database error: retry job by job
            if len(claim.jobs) == 1:
                report = self._fail(claim, claim.jobs, exc)
            else:
                logger.warning(
                    "a batch of %d jobs failed (%s: %s); retrying them one by one",
                    len(claim.jobs),
                    type(exc).__name__,
                    exc,
                )
                report = RunReport(claimed=len(claim.jobs))
                for job in claim.jobs:
                    try:
                        report += attrs.evolve(self._run(claim, (job,), now), claimed=0)
                    except Exception as one:  # this job alone fails: leave it for later
                        report += attrs.evolve(self._fail(claim, (job,), one), claimed=0)
        return report

    def run_due(self) -> RunReport:
        """Run batches until no job is due (now, by the clock): for cron and host schedulers."""
        total = RunReport()
        while True:
            report = self.run_batch()
            if not report.claimed:
                return total
            total += report

    def next_due(self) -> datetime | None:
        """When the next job falls due (or a claimed one's lease ends), or with `reminders` the
        next reminder ping after the mark, if sooner; None when none waits."""
        found = self.jobs.next_due()
        if self.reminders:
            ping = self._next_reminder()
            if ping is not None and (found is None or ping < found):
                found = ping
        return found

    def deliver_reminders(self) -> int:
        """Put the reminder pings that fell due since the last delivery in the outbox (N1, P3).

        Each step reads the outbox's "delivered up to" mark (locked until the
        step commits), puts the pings in (mark, now] as entries of kind
        "reminder" (`reminder_entry`), and moves the mark to now, in one
        transaction: each ping is put once, whatever the number of workers,
        and a step that fails puts nothing and leaves the mark for the next
        try. A worker that was down catches up in steps of `REMINDER_STEP`.
        The first delivery on a database starts the mark at now: pings from
        before are not sent. Returns how many entries were put; 0 without
        `reminders`.
        """
        mark = self._mark
        if not self.reminders or mark is None:
            return 0
        outbox = self.outbox
        now = self._now()
        total = 0
        while True:
            with self.jobs.transaction():
                since = mark.reminders_delivered_until(now)
                if since >= now:
                    break
                until = min(now, since + REMINDER_STEP)
                # (since, until] as the feed's half-open window: microseconds are the grain.
                pings = reminder_feed(self.storage, since + _MICROSECOND, until + _MICROSECOND)
                entries = [reminder_entry(ping) for ping in pings]
                outbox.check(entries)
                outbox.put(entries)
                mark.set_reminders_delivered_until(until)
            total += len(entries)
            if until >= now:
                break
        if total:
            logger.info("%d reminders put in the outbox", total)
        return total

    def _next_reminder(self) -> datetime | None:
        if self._mark is None:
            return None
        since = self._mark.reminders_delivered_until(self._now())
        find = getattr(self.storage, "next_reminder_after", None)
        if find is None:  # a storage without it: the worker's poll interval applies
            return None
        found: datetime | None = find(since)
        return found

    def _run(self, claim: Claim, jobs: tuple[Job, ...], now: datetime) -> RunReport:
        part = attrs.evolve(claim, jobs=jobs)
        with self.jobs.transaction(sorted({job.item_id for job in jobs})):
            owned = self.jobs.confirm(part)
            reads = _BatchReads(self.storage, [job.item_id for job in owned])
            outcome = self.engine.run_due(reads, now, _Claimed(self.jobs, owned))
            apply_outcome(outcome, storage=self.storage, jobs=self.jobs, outbox=self.outbox)
        report = RunReport(
            claimed=len(jobs),
            finished=len(outcome.finished),  # not those an earlier job's cascade cancelled
            effects=len(outcome.effects),
            skipped=outcome.skipped,
        )
        _log_outcome(f"{len(owned)} claimed jobs", outcome)
        return report

    def _fail(self, claim: Claim, jobs: tuple[Job, ...], exc: Exception) -> RunReport:
        message = f"{type(exc).__name__}: {exc}"
        ids = tuple(job.id for job in jobs)
        self.jobs.release(claim, ids, message)
        logger.error(
            "job %s failed and waits for its lease to end: %s",
            ", ".join(ids),
            message,
            exc_info=not isinstance(exc, CrmCountersError),  # a refusal needs no traceback
        )
        return RunReport(claimed=len(jobs), failed=ids)

    def __repr__(self) -> str:
        return f"RuleHost({self.engine!r}, batch_size={self.batch_size}, lease={self.lease})"


def _log_outcome(source: str, outcome: Outcome) -> None:
    for skip in outcome.skipped:
        if skip.chain:  # a cascade stopped at the depth limit (R6, P4): worth a warning
            logger.warning("rules stopped on item %s: %s", skip.item_id, skip.reason)
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "%s: %d effects, %d jobs scheduled, %d cancelled, %d finished, %d skipped",
            source,
            len(outcome.effects),
            len(outcome.scheduled),
            len(outcome.cancelled),
            len(outcome.finished),
            len(outcome.skipped),
        )
