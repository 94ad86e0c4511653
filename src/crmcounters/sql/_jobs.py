"""`SqlJobStore`: rule jobs in the portal's database (P1, P2), written in the transaction of
the outcome that scheduled or cancelled them, claimed by workers with a lease.

Claiming takes due jobs with a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
claimers never wait on each other; SQLite an immediate write transaction) in a
short transaction of its own. The work on a claim runs in a second one, which
first confirms that the claim still holds each job; the jobs' effects, their
removal and the jobs they schedule then commit together. A worker that dies
leaves its jobs leased: once the lease ends, another claim takes them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from .._errors import ValidationError
from .._validate import check_aware
from ..rules._effects import Job, Outcome
from ..rules._jobs import (
    DEFAULT_MAX_ATTEMPTS,
    Claim,
    FailedJob,
    check_claim_args,
    check_scheduled,
    chosen_failed,
)
from ._dialect import dialect_named
from ._rows import dump_json, instant_columns, instant_from, instant_us, utc_from_us
from ._storage import SqlStorage

__all__ = ["SqlJobStore", "refuse_nul"]

_NAMES = (
    "id",
    "rule_id",
    "item_id",
    "pipeline_id",
    "stage_id",
    "entry_id",
    "entered_at_us",
    "entered_at_tz",
    "due_at_us",
    "due_at_tz",
    "depth",
    "chain",
)
_COLUMNS = ", ".join(_NAMES)


def refuse_nul(kind: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL text cannot hold NUL: refuse such a row with the library's error, naming it."""
    for row in rows:
        if any(isinstance(value, str) and "\x00" in value for value in row):
            raise ValidationError(
                kind, f"{kind} {row[0]!r} holds a NUL character, which PostgreSQL cannot store"
            )


def _job_row(job: Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.rule_id,
        job.item_id,
        job.pipeline_id,
        job.stage_id,
        job.entry_id,
        *instant_columns(job.entered_at),
        *instant_columns(job.due_at),
        job.depth,
        dump_json(list(job.chain)),
    )


def _job(row: Sequence[Any]) -> Job:
    return Job(
        id=row[0],
        rule_id=row[1],
        item_id=row[2],
        pipeline_id=row[3],
        stage_id=row[4],
        entry_id=row[5],
        entered_at=instant_from(row[6], row[7]),
        due_at=instant_from(row[8], row[9]),
        depth=int(row[10]),
        chain=json.loads(row[11]),
    )


class SqlJobStore:
    """Rule jobs in the `crm_jobs` table of a `SqlStorage`'s database (a `JobQueue`, P1, P2).

    It reads and writes through the storage, joining the storage's
    `transaction()` on the same thread, so `apply_outcome` writes an
    outcome's records, jobs and outbox entries in one transaction. Threads
    may share it as they share the storage; many processes may claim from
    one database at once.
    """

    def __init__(self, storage: SqlStorage, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        if not isinstance(storage, SqlStorage):
            raise ValidationError("storage", f"expected a SqlStorage, got {type(storage).__name__}")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError(
                "max_attempts", f"expected a whole number >= 1, got {max_attempts!r}"
            )
        self._storage = storage
        self._dialect = dialect_named(storage.dialect)
        self._max_attempts = max_attempts

    @property
    def storage(self) -> SqlStorage:
        """The storage whose database and connection the jobs share."""
        return self._storage

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._storage._query(sql, params)  # same package: joins this thread's transaction

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._storage._execute(sql, params)  # same package

    def _select(self, where: str, params: Sequence[Any] = ()) -> list[Job]:
        sql = f"SELECT {_COLUMNS} FROM crm_jobs WHERE {where} ORDER BY due_at_us, id"
        return [_job(row) for row in self._query(sql, params)]

    # -- reads (JobStore) -----------------------------------------------------

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        """The item's pending jobs, earliest first."""
        return self._select("item_id = ?", (item_id,))

    def due(self, now: datetime) -> list[Job]:
        """The pending jobs due at or before `now`, earliest first (ties by id), claimed or not."""
        return self._select("due_at_us <= ?", (instant_us(check_aware("now", now)),))

    def next_due(self) -> datetime | None:
        """When the earliest job not set aside can be claimed (in UTC): its due time, or the
        end of its lease if it is claimed; None when none waits.

        Two index reads: the earliest unclaimed job, and among the few claimed
        ones the earliest to become claimable again.
        """
        found: list[int] = []
        free = self._query(
            "SELECT due_at_us FROM crm_jobs WHERE lease_until_us IS NULL "
            "AND attempts < ? ORDER BY due_at_us, id LIMIT 1",
            (self._max_attempts,),
        )
        found += [int(row[0]) for row in free]
        leased = self._query(
            "SELECT MIN(CASE WHEN lease_until_us > due_at_us THEN lease_until_us "
            "ELSE due_at_us END) FROM crm_jobs "
            "WHERE lease_until_us IS NOT NULL AND attempts < ?",
            (self._max_attempts,),
        )
        found += [int(row[0]) for row in leased if row[0] is not None]
        return utc_from_us(min(found)) if found else None

    def failed(self) -> list[FailedJob]:
        """The jobs claimed `max_attempts` times without finishing, oldest due first."""
        rows = self._query(
            f"SELECT {_COLUMNS}, attempts, last_error FROM crm_jobs WHERE attempts >= ? "
            "ORDER BY due_at_us, id",
            (self._max_attempts,),
        )
        return [FailedJob(job=_job(row), attempts=row[12], error=row[13] or "") for row in rows]

    def retry_failed(self, job_ids: Iterable[str] | None = None) -> tuple[str, ...]:
        """Put set-aside jobs back (all, or those of `job_ids`): no attempts, no error,
        claimable at once. Returns their ids, oldest due first; an id that is not a set-aside
        job is refused naming it (`UnknownIdError`), and nothing changes. One transaction."""
        with self._storage.transaction():
            chosen = chosen_failed([one.job.id for one in self.failed()], job_ids)
            for condition, params in self._dialect.in_lists("id", chosen):
                self._execute(
                    "UPDATE crm_jobs SET attempts = 0, last_error = NULL, lease_token = NULL, "
                    f"lease_until_us = NULL WHERE {condition}",
                    params,
                )
        return chosen

    def __len__(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM crm_jobs")[0][0])

    def __iter__(self) -> Iterator[Job]:
        return iter(self._select("1 = 1"))

    def __contains__(self, job_id: object) -> bool:
        return bool(self._query("SELECT 1 FROM crm_jobs WHERE id = ?", (job_id,)))

    # -- writes ---------------------------------------------------------------

    def transaction(self, items: Collection[str] = ()) -> AbstractContextManager[None]:
        """The storage's `transaction()` (a savepoint inside one on this thread).

        On SQLite it takes the write lock up front; on PostgreSQL it locks the
        rows of `items` (in id order, so lockers never deadlock), so that
        work on one item is done by one transaction at a time.
        """
        return self._transaction(tuple(sorted(items)))

    @contextmanager
    def _transaction(self, items: tuple[str, ...]) -> Iterator[None]:
        with self._storage.transaction():
            if items and self._dialect.name == "postgres":
                for condition, params in self._dialect.in_lists("id", items):
                    self._query(
                        f"SELECT id FROM crm_items WHERE {condition} ORDER BY id FOR UPDATE", params
                    )
            yield

    def _stored(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for condition, params in self._dialect.in_lists("id", ids):
            found.update(
                row[0] for row in self._query(f"SELECT id FROM crm_jobs WHERE {condition}", params)
            )
        return found

    def check(self, outcome: Outcome) -> None:
        """Raise `DuplicateIdError`, changing nothing, if `apply(outcome)` would repeat a job id."""
        rows = [_job_row(job) for job in outcome.scheduled]
        if not self._dialect.text_may_hold_nul:
            refuse_nul("job", rows)
        ids = [row[0] for row in rows]
        check_scheduled(outcome, self._stored(ids) if ids else set())

    def apply(self, outcome: Outcome) -> None:
        """Delete the outcome's cancelled and finished jobs, insert its scheduled ones."""
        with self.transaction():
            self.check(outcome)
            gone = [*outcome.cancelled, *outcome.finished]
            for condition, params in self._dialect.in_lists("id", gone):  # not one per job
                self._execute(f"DELETE FROM crm_jobs WHERE {condition}", params)
            rows = [_job_row(job) for job in outcome.scheduled]
            self._storage._insert("crm_jobs", _NAMES, rows)  # same package: COPY on PostgreSQL

    def add(self, *jobs: Job) -> None:
        """Keep new jobs (a repeated id is refused and nothing is added, G5)."""
        self.apply(Outcome(scheduled=jobs))

    # -- claims (P2) ----------------------------------------------------------

    def claim(self, now: datetime, limit: int, lease: timedelta) -> Claim:
        """Take up to `limit` due jobs no live claim holds, earliest first, until `now + lease`.

        One short transaction: PostgreSQL skips rows another claimer is taking
        (`FOR UPDATE SKIP LOCKED`); SQLite holds the write lock meanwhile.
        Each claim counts as an attempt; a job claimed `max_attempts` times
        is no longer taken (see `failed`).
        """
        check_claim_args(now, limit, lease)
        at = instant_us(now)
        until = now + lease
        token = uuid.uuid4().hex
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._dialect.name == "postgres" else ""
        with self._storage.transaction():
            jobs = self._claimable(at, limit, skip_locked)
            ids = [job.id for job in jobs]
            for condition, params in self._dialect.in_lists("id", ids):
                self._execute(
                    "UPDATE crm_jobs SET lease_until_us = ?, lease_token = ?, "
                    f"attempts = attempts + 1 WHERE {condition}",
                    (instant_us(until), token, *params),
                )
        return Claim(token=token, jobs=tuple(jobs), until=until)

    def _claimable(self, at: int, limit: int, skip_locked: str) -> list[Job]:
        sql = (
            f"SELECT {_COLUMNS} FROM crm_jobs WHERE due_at_us <= ? "
            "AND (lease_until_us IS NULL OR lease_until_us <= ?) AND attempts < ? "
            f"ORDER BY due_at_us, id LIMIT ?{skip_locked}"
        )
        return [_job(row) for row in self._query(sql, (at, at, self._max_attempts, limit))]

    def confirm(self, claim: Claim) -> tuple[Job, ...]:
        """Inside `transaction()`: the claimed jobs still pending and still held by the claim
        (locked on PostgreSQL until the transaction ends)."""
        lock = " FOR UPDATE" if self._dialect.name == "postgres" else ""
        held: set[str] = set()
        for condition, params in self._dialect.in_lists("id", claim.job_ids):
            sql = f"SELECT id FROM crm_jobs WHERE {condition} AND lease_token = ?{lock}"
            held.update(row[0] for row in self._query(sql, (*params, claim.token)))
        return tuple(job for job in claim.jobs if job.id in held)

    def release(self, claim: Claim, job_ids: Iterable[str], error: str) -> None:
        """Record `error` on these claimed jobs; each is claimed again once its lease ends."""
        rows = [(str(error)[:2000], job_id, claim.token) for job_id in job_ids]
        with self._storage.transaction():
            self._storage._many(  # same package
                "UPDATE crm_jobs SET last_error = ? WHERE id = ? AND lease_token = ?", rows
            )

    def __repr__(self) -> str:
        return f"SqlJobStore({self._dialect.name}, {len(self)} pending)"
