"""Pending jobs: the `JobStore` protocol the engine reads, the `JobQueue` protocol a host
writes and claims through (P1, P2), and `PendingJobs`, both in memory (R1)."""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from .._errors import DuplicateIdError, UnknownIdError, ValidationError
from .._validate import check_aware, check_collection, check_id
from ._effects import Job, Outcome

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_MAX_ATTEMPTS",
    "Claim",
    "FailedJob",
    "JobQueue",
    "JobStore",
    "PendingJobs",
    "check_claim_args",
    "check_scheduled",
]

#: How long a claim keeps other workers off its jobs (P2); past it they are due again.
DEFAULT_LEASE = timedelta(minutes=5)
#: A job claimed this many times without finishing is set aside as failed (a poison job).
DEFAULT_MAX_ATTEMPTS = 5


@runtime_checkable
class JobStore(Protocol):
    """Read access to the host's pending jobs, as the engine needs it."""

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        """The item's pending jobs, earliest first (ties by id)."""
        ...

    def due(self, now: datetime) -> Iterable[Job]:
        """The pending jobs due at or before `now`, earliest first (ties by id)."""
        ...


@attrs.frozen(kw_only=True)
class Claim:
    """Due jobs one worker took until `until` (P2); `token` proves the lease when it applies them.

    Until the lease runs out no other claim returns these jobs; a worker that
    dies leaves them to be claimed again after it.
    """

    token: str
    jobs: tuple[Job, ...]
    until: datetime

    @property
    def job_ids(self) -> tuple[str, ...]:
        """The claimed jobs' ids, in claim order."""
        return tuple(job.id for job in self.jobs)


@attrs.frozen(kw_only=True)
class FailedJob:
    """A job set aside after `attempts` claims without finishing, and the last error seen."""

    job: Job
    attempts: int
    error: str


@runtime_checkable
class JobQueue(JobStore, Protocol):
    """A job store the host keeps and writes: what `apply_outcome`, `RuleRuntime` and
    `RuleHost` need (P1, P2).

    `PendingJobs` (memory) and `crmcounters.sql.SqlJobStore` (a database)
    implement it. `check` then `apply` record an outcome's jobs; inside
    `transaction()` the job store's writes and the storage's commit together.
    `claim`, `confirm` and `release` let several workers share the due jobs,
    each job run once.
    """

    def next_due(self) -> datetime | None:
        """When the earliest job not set aside falls due (or its lease ends), or None."""
        ...

    def check(self, outcome: Outcome) -> None:
        """Raise, changing nothing, if `apply(outcome)` would be refused (a repeated job id)."""
        ...

    def apply(self, outcome: Outcome) -> None:
        """Drop the outcome's cancelled and finished jobs, then keep its scheduled ones."""
        ...

    def transaction(self, items: Collection[str] = ()) -> AbstractContextManager[None]:
        """A scope whose writes (the job store's and its storage's) commit together or not.

        A database locks the rows of `items` first, so that work on one item
        (a worker's batch, a fed event) is done by one transaction at a time.
        """
        ...

    def claim(self, now: datetime, limit: int, lease: timedelta) -> Claim:
        """Take up to `limit` due, unclaimed jobs (earliest first) until `now + lease`."""
        ...

    def confirm(self, claim: Claim) -> tuple[Job, ...]:
        """Inside `transaction()`: the claimed jobs still pending and still held by `claim`."""
        ...

    def release(self, claim: Claim, job_ids: Iterable[str], error: str) -> None:
        """Record that these claimed jobs failed with `error`; each is due again after the lease."""
        ...

    def failed(self) -> list[FailedJob]:
        """The jobs set aside after too many attempts, oldest due first."""
        ...

    def __len__(self) -> int:
        """How many jobs are pending (claimed and set-aside ones included)."""
        ...


def _due_order(job: Job) -> tuple[float, str]:
    return (job.due_at.timestamp(), job.id)


def check_claim_args(now: datetime, limit: int, lease: timedelta) -> None:
    """Refuse a naive `now`, a `limit` below 1 or a lease that is not a positive timedelta."""
    check_aware("now", now)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", f"expected a whole number >= 1, got {limit!r}")
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError("lease", f"expected a positive timedelta, got {lease!r}")


def chosen_failed(failed: Sequence[str], job_ids: Iterable[str] | None) -> tuple[str, ...]:
    """The set-aside jobs `retry_failed` puts back: every one of `failed` (ids, oldest due
    first) when `job_ids` is None, else those, each of which must be set aside."""
    if job_ids is None:
        return tuple(failed)
    given = check_collection("job_ids", job_ids, "job ids")  # not one string; bounded
    wanted = {check_id(f"job_ids[{index}]", one) for index, one in enumerate(given)}
    unknown = sorted(wanted - set(failed))
    if unknown:  # not set aside, finished, or never there: say which
        raise UnknownIdError("failed job", unknown[0])
    return tuple(job_id for job_id in failed if job_id in wanted)


def check_scheduled(outcome: Outcome, stored: Collection[str]) -> None:
    """Refuse an outcome that schedules a job id twice, or one `stored` still holds after
    the outcome's cancelled and finished jobs are dropped (G5)."""
    dropped = {*outcome.cancelled, *outcome.finished}
    seen: set[str] = set()
    for job in outcome.scheduled:
        if job.id in seen or (job.id in stored and job.id not in dropped):
            raise DuplicateIdError("job", job.id)
        seen.add(job.id)


class PendingJobs:
    """Pending jobs in memory: a heap by due time with an index by item (a `JobQueue`).

    Reading due jobs costs O(k log n) for k due jobs, not a scan of all n;
    memory is linear in the number of pending jobs. `apply(outcome)` records
    an engine outcome's scheduled, cancelled and finished jobs. Not safe to
    share between threads without a lock of the host's.
    """

    def __init__(
        self, jobs: Iterable[Job] = (), *, max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError(
                "max_attempts", f"expected a whole number >= 1, got {max_attempts!r}"
            )
        self._jobs: dict[str, Job] = {}
        self._by_item: dict[str, dict[str, None]] = {}
        self._heap: list[tuple[float, str]] = []
        self._taken: list[tuple[float, str]] = []
        # Claims: job id -> (token, lease end as a timestamp), attempts and last errors.
        self._leases: dict[str, tuple[str, float]] = {}
        self._attempts: dict[str, int] = {}
        self._errors: dict[str, str] = {}
        self._max_attempts = max_attempts
        self.add(*jobs)

    def add(self, *jobs: Job) -> None:
        """Keep new jobs; a repeated id is refused and nothing is added (G5)."""
        seen: set[str] = set()
        for job in jobs:
            if not isinstance(job, Job):
                raise ValidationError("job", f"expected a Job, got {type(job).__name__}")
            if job.id in self._jobs or job.id in seen:
                raise DuplicateIdError("job", job.id)
            seen.add(job.id)
        for job in jobs:
            self._jobs[job.id] = job
            self._by_item.setdefault(job.item_id, {})[job.id] = None
            heapq.heappush(self._heap, (job.due_at.timestamp(), job.id))

    def discard(self, job_ids: Iterable[str]) -> None:
        """Forget these jobs (unknown ids are ignored: a job may already be gone)."""
        for job_id in job_ids:
            job = self._jobs.pop(job_id, None)
            if job is None:
                continue
            self._leases.pop(job_id, None)
            self._attempts.pop(job_id, None)
            self._errors.pop(job_id, None)
            bucket = self._by_item[job.item_id]
            del bucket[job_id]
            if not bucket:
                del self._by_item[job.item_id]
        if len(self._heap) > 2 * len(self._jobs) + 1024:  # keep memory linear in pending jobs
            self._compact()

    def _compact(self) -> None:
        self._heap = [(job.due_at.timestamp(), job.id) for job in self._jobs.values()]
        heapq.heapify(self._heap)
        self._taken = []

    def check(self, outcome: Outcome) -> None:
        """Raise `DuplicateIdError`, changing nothing, if `apply(outcome)` would repeat a job id."""
        check_scheduled(outcome, self._jobs)

    def apply(self, outcome: Outcome) -> None:
        """Drop cancelled and finished jobs, then keep the newly scheduled ones."""
        self.check(outcome)
        self.discard(outcome.cancelled)
        self.discard(outcome.finished)
        self.add(*outcome.scheduled)

    def transaction(self, items: Collection[str] = ()) -> AbstractContextManager[None]:
        """Nothing to open in memory: `apply_outcome` checks every part before writing any."""
        return nullcontext()

    def claim(self, now: datetime, limit: int, lease: timedelta) -> Claim:
        """Take up to `limit` due jobs that no live claim holds, earliest first (P2)."""
        check_claim_args(now, limit, lease)
        at = now.timestamp()
        until = now + lease
        token = uuid.uuid4().hex
        taken: list[Job] = []
        for job in self._due(at):
            held = self._leases.get(job.id)
            if (held is not None and held[1] > at) or self._attempts.get(
                job.id, 0
            ) >= self._max_attempts:
                continue
            taken.append(job)
            if len(taken) == limit:
                break
        for job in taken:
            self._leases[job.id] = (token, until.timestamp())
            self._attempts[job.id] = self._attempts.get(job.id, 0) + 1
        return Claim(token=token, jobs=tuple(taken), until=until)

    def confirm(self, claim: Claim) -> tuple[Job, ...]:
        """The claimed jobs still pending and held by this claim (a later claim may have
        taken one whose lease ran out; a stage change may have cancelled one)."""
        return tuple(
            job
            for job in claim.jobs
            if job.id in self._jobs and self._leases.get(job.id, ("",))[0] == claim.token
        )

    def release(self, claim: Claim, job_ids: Iterable[str], error: str) -> None:
        """Record `error` for these claimed jobs; each is claimed again once the lease ends."""
        for job_id in job_ids:
            if job_id in self._jobs and self._leases.get(job_id, ("",))[0] == claim.token:
                self._errors[job_id] = error

    def failed(self) -> list[FailedJob]:
        """The jobs claimed `max_attempts` times without finishing, oldest due first."""
        stuck = [
            FailedJob(job=job, attempts=count, error=self._errors.get(job.id, ""))
            for job_id, count in self._attempts.items()
            if count >= self._max_attempts and (job := self._jobs.get(job_id)) is not None
        ]
        return sorted(stuck, key=lambda failed: (failed.job.due_at, failed.job.id))

    def retry_failed(self, job_ids: Iterable[str] | None = None) -> tuple[str, ...]:
        """Put set-aside jobs back (all, or those of `job_ids`): no attempts, no error, claimable
        at once (their due time has passed). Returns their ids, oldest due first. An id that
        is not a set-aside job is refused naming it (`UnknownIdError`), and nothing changes."""
        failed = [one.job.id for one in self.failed()]
        chosen = chosen_failed(failed, job_ids)
        for job_id in chosen:
            self._attempts.pop(job_id, None)
            self._errors.pop(job_id, None)
            self._leases.pop(job_id, None)
        return chosen

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        """The item's pending jobs, earliest first (ties by id), as every job store orders them."""
        jobs = [self._jobs[job_id] for job_id in self._by_item.get(item_id, ())]
        return sorted(jobs, key=_due_order) if len(jobs) > 1 else jobs

    def _restore(self) -> None:
        for entry in self._taken:
            job = self._jobs.get(entry[1])
            if job is not None and job.due_at.timestamp() == entry[0]:
                heapq.heappush(self._heap, entry)
        self._taken = []

    def due(self, now: datetime) -> list[Job]:
        """The pending jobs due at or before `now`, earliest first (ties by id)."""
        return list(self._due(check_aware("now", now).timestamp()))

    def _due(self, limit: float) -> Iterator[Job]:
        """The due jobs one by one, taken off the heap only as far as the caller reads."""
        self._restore()
        heap, jobs, taken = self._heap, self._jobs, self._taken
        while heap and heap[0][0] <= limit:
            entry = heapq.heappop(heap)
            job = jobs.get(entry[1])
            if job is not None and job.due_at.timestamp() == entry[0]:
                taken.append(entry)
                yield job

    def next_due(self) -> datetime | None:
        """When the earliest pending job is due, or None when there is none.

        A claimed job counts from the end of its lease, and a job set aside
        (`failed`) not at all. Without claims this is the top of the heap;
        with some, one pass over the pending jobs.
        """
        if self._leases or self._attempts:
            return self._next_claimable()
        self._restore()
        heap = self._heap
        while heap and heap[0][1] not in self._jobs:
            heapq.heappop(heap)
        return self._jobs[heap[0][1]].due_at if heap else None

    def _next_claimable(self) -> datetime | None:
        found: datetime | None = None
        for job in self._jobs.values():
            if self._attempts.get(job.id, 0) >= self._max_attempts:
                continue
            at = job.due_at
            held = self._leases.get(job.id)
            if held is not None and held[1] > at.timestamp():
                at = datetime.fromtimestamp(held[1], at.tzinfo)
            if found is None or at < found:
                found = at
        return found

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __repr__(self) -> str:
        return f"PendingJobs({len(self._jobs)} pending)"
