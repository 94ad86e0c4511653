"""Pending jobs: the `JobStore` protocol the engine reads, and `PendingJobs` in memory (R1)."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._errors import DuplicateIdError, ValidationError
from .._validate import check_aware
from ._effects import Job, Outcome

__all__ = ["JobStore", "PendingJobs"]


@runtime_checkable
class JobStore(Protocol):
    """Read access to the host's pending jobs, as the engine needs it."""

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        """The item's pending jobs."""
        ...

    def due(self, now: datetime) -> Iterable[Job]:
        """The pending jobs due at or before `now`, earliest first (ties by id)."""
        ...


class PendingJobs:
    """Pending jobs in memory: a heap by due time with an index by item.

    Reading due jobs costs O(k log n) for k due jobs, not a scan of all n;
    memory is linear in the number of pending jobs. `apply(outcome)` records
    an engine outcome's scheduled, cancelled and finished jobs.
    """

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self._jobs: dict[str, Job] = {}
        self._by_item: dict[str, dict[str, None]] = {}
        self._heap: list[tuple[float, str]] = []
        self._taken: list[tuple[float, str]] = []
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

    def apply(self, outcome: Outcome) -> None:
        """Drop cancelled and finished jobs, then keep the newly scheduled ones."""
        self.discard(outcome.cancelled)
        self.discard(outcome.finished)
        self.add(*outcome.scheduled)

    def pending_of_item(self, item_id: str) -> Collection[Job]:
        """The item's pending jobs."""
        return [self._jobs[job_id] for job_id in self._by_item.get(item_id, ())]

    def _restore(self) -> None:
        for entry in self._taken:
            job = self._jobs.get(entry[1])
            if job is not None and job.due_at.timestamp() == entry[0]:
                heapq.heappush(self._heap, entry)
        self._taken = []

    def due(self, now: datetime) -> list[Job]:
        """The pending jobs due at or before `now`, earliest first (ties by id)."""
        limit = check_aware("now", now).timestamp()
        self._restore()
        heap, jobs, taken = self._heap, self._jobs, self._taken
        found: list[Job] = []
        while heap and heap[0][0] <= limit:
            entry = heapq.heappop(heap)
            job = jobs.get(entry[1])
            if job is not None and job.due_at.timestamp() == entry[0]:
                taken.append(entry)
                found.append(job)
        return found

    def next_due(self) -> datetime | None:
        """When the earliest pending job is due, or None when there is none."""
        self._restore()
        heap = self._heap
        while heap and heap[0][1] not in self._jobs:
            heapq.heappop(heap)
        return self._jobs[heap[0][1]].due_at if heap else None

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __repr__(self) -> str:
        return f"PendingJobs({len(self._jobs)} pending)"
