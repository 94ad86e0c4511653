"""Applying outcomes for real, in memory (R6, P1-P3): `apply_outcome` all or nothing, the
outbox, claims on `PendingJobs`, and `RuleHost` feeding events and running due jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from _build_rules import DAY, HOUR, MONDAY, deal, make_storage, ping_pong_rules, sales_rule
from crmcounters import (
    CascadeError,
    DuplicateIdError,
    HistoryEntryAdded,
    InMemoryOutbox,
    InMemoryStorage,
    OutboxEntry,
    RuleHost,
    StageChanged,
    Task,
    ValidationError,
    apply_outcome,
)
from crmcounters.rules import (
    NOTIFY,
    AddHistoryEntry,
    CreateTask,
    Delay,
    Job,
    NotifySupervisor,
    Outcome,
    PendingJobs,
    RuleEngine,
    RuleSet,
    Timing,
    outbox_entries,
    outcome_records,
)
from crmcounters.testing import ManualClock, RuleRuntime

LATER = Timing(delay=Delay(after=1, unit="hours"))


def _rules() -> RuleSet:
    return RuleSet(
        rules=[
            sales_rule("r-task", action=CreateTask(title="Call {{Client}}")),
            sales_rule("r-late", timing=LATER, action=NotifySupervisor(text="{{Title}} waits")),
            sales_rule("r-note", timing=LATER, action=AddHistoryEntry(text="an hour in {{Stage}}")),
        ]
    )


def _entered(item_id: str, at: object = MONDAY) -> StageChanged:
    return StageChanged(
        id=f"enter-{item_id}",
        item_id=item_id,
        at=at,  # type: ignore[arg-type]
        by_user_id="u-piotr",
        to_stage_id="new",
    )


def _host(storage: InMemoryStorage, clock: ManualClock, **kwargs: object) -> RuleHost:
    engine = RuleEngine.for_storage(_rules(), storage)
    return RuleHost(
        engine,
        storage,
        PendingJobs(),
        InMemoryOutbox(clock=clock),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_r6_outcome_records_split_created_and_changed_records() -> None:
    rt = RuleRuntime(
        RuleEngine.for_storage(_rules(), make_storage()), make_storage(), ManualClock(MONDAY)
    )
    rt.storage.add(deal())
    outcome = rt.engine.handle(_entered("deal-1"), rt.storage, MONDAY, rt.pending)
    added, replaced = outcome_records(outcome)
    assert [type(record).__name__ for record in added] == ["Task"]
    assert replaced == ()
    assert [job.rule_id for job in outcome.scheduled] == ["r-late", "r-note"]


def test_p1_apply_outcome_writes_records_jobs_and_outbox_or_nothing() -> None:
    storage = make_storage()
    storage.add(deal(), _entered("deal-1"))
    engine = RuleEngine.for_storage(_rules(), storage)
    jobs, outbox = PendingJobs(), InMemoryOutbox(clock=ManualClock(MONDAY))
    outcome = engine.handle(_entered("deal-1"), storage, MONDAY, jobs)
    # A task with the id the rule will use is already stored: the write is refused (G5)...
    clash = Task(
        id="enter-deal-1~r-task~task",
        item_id="deal-1",
        title="by hand",
        responsible_id="u-piotr",
        created_at=MONDAY,
    )
    storage.add(clash)
    with pytest.raises(DuplicateIdError):
        apply_outcome(outcome, storage=storage, jobs=jobs, outbox=outbox)
    assert len(jobs) == 0  # ...and its jobs are not kept either
    assert [task.title for task in storage.tasks_of_item("deal-1")] == ["by hand"]
    storage.remove_task(clash.id)
    apply_outcome(outcome, storage=storage, jobs=jobs, outbox=outbox)
    assert len(jobs) == 2
    assert [task.id for task in storage.tasks_of_item("deal-1")] == [clash.id]


def test_p1_a_refused_job_or_outbox_entry_stores_nothing_of_the_outcome() -> None:
    storage = make_storage()
    storage.add(deal(), _entered("deal-1"))
    engine = RuleEngine.for_storage(_rules(), storage)
    first = engine.handle(_entered("deal-1"), storage, MONDAY, PendingJobs())
    jobs = PendingJobs(first.scheduled)  # the same jobs are already pending
    outbox = InMemoryOutbox(clock=ManualClock(MONDAY))
    with pytest.raises(DuplicateIdError, match="job"):
        apply_outcome(first, storage=storage, jobs=jobs, outbox=outbox)
    assert storage.tasks_of_item("deal-1") == []
    # An outbox entry already there stops the write of a due job's notification.
    jobs = PendingJobs(first.scheduled)
    due = engine.run_due(storage, MONDAY + HOUR, jobs)
    [entry] = outbox_entries(due)
    outbox.put([entry])
    with pytest.raises(DuplicateIdError, match="outbox entry"):
        apply_outcome(due, storage=storage, jobs=jobs, outbox=outbox)
    assert len(jobs) == 2
    assert [e.id for e in storage.events_of_item("deal-1")] == ["enter-deal-1"]


def test_p3_notifications_become_outbox_entries_with_stable_ids() -> None:
    def play() -> RuleRuntime:
        storage = make_storage()
        rt = RuleRuntime(RuleEngine.for_storage(_rules(), storage), storage, ManualClock(MONDAY))
        rt.create_item(deal())
        rt.advance(2 * HOUR)
        return rt

    first, again = play(), play()
    [entry] = first.outbox.take(10)  # type: ignore[attr-defined]
    assert entry.kind == NOTIFY
    assert entry.item_id == "deal-1"
    assert entry.at == MONDAY + HOUR
    assert dict(entry.payload) == {
        "rule_id": "r-late",
        "item_id": "deal-1",
        "recipient_ids": ["u-anna"],
        "text": "Website for deal-1 waits",
    }
    assert entry.id == first.notifications[0].id
    assert [e.id for e in again.outbox.take(10)] == [entry.id]  # type: ignore[attr-defined]


def test_p3_take_leases_entries_and_acknowledge_removes_them() -> None:
    clock = ManualClock(MONDAY)
    outbox = InMemoryOutbox(clock=clock)
    entries = [
        OutboxEntry(id=f"e-{n}", kind="reminder", at=MONDAY, payload={"n": n}) for n in range(5)
    ]
    outbox.put(entries)
    assert [e.id for e in outbox.take(2)] == ["e-0", "e-1"]
    assert [e.id for e in outbox.take(10, lease=timedelta(minutes=1))] == ["e-2", "e-3", "e-4"]
    assert outbox.take(10) == []  # all taken, none acknowledged yet
    assert outbox.acknowledge(["e-0", "e-1", "e-1", "unknown"]) == 2
    clock.advance(timedelta(minutes=2))  # the second taker's lease ran out: at least once
    assert [e.id for e in outbox.take(10)] == ["e-2", "e-3", "e-4"]
    assert len(outbox) == 3
    with pytest.raises(DuplicateIdError):
        outbox.put([entries[2]])
    with pytest.raises(ValidationError, match="limit"):
        outbox.take(0)


def test_p3_an_outbox_entry_is_a_kind_a_json_object_and_a_stable_id() -> None:
    entry = OutboxEntry(id="x", kind="client_message", at=MONDAY, payload={"to": ["a"], "n": 1.5})
    assert entry.payload_json() == '{"n":1.5,"to":["a"]}'
    with pytest.raises(ValidationError, match="payload"):
        OutboxEntry(id="x", kind="k", at=MONDAY, payload={"bad": object()})
    with pytest.raises(ValidationError, match="payload"):
        OutboxEntry(id="x", kind="k", at=MONDAY, payload={"nan": float("nan")})
    with pytest.raises(ValidationError, match="payload"):
        OutboxEntry(id="x", kind="k", at=MONDAY, payload=["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at"):
        OutboxEntry(id="x", kind="k", at=MONDAY.replace(tzinfo=None))
    with pytest.raises(TypeError):
        entry.payload["n"] = 2  # type: ignore[index]


def _job(job_id: str, due_in: timedelta) -> Job:
    return Job(
        id=job_id,
        rule_id="r-late",
        item_id="deal-1",
        pipeline_id="p-sales",
        stage_id="new",
        entry_id="enter-deal-1",
        entered_at=MONDAY,
        due_at=MONDAY + due_in,
    )


def test_p2_claims_on_pending_jobs_never_hand_out_a_job_twice_while_leased() -> None:
    jobs = PendingJobs([_job(f"j-{n}", n * timedelta(minutes=1)) for n in range(5)], max_attempts=2)
    lease = timedelta(minutes=10)
    first = jobs.claim(MONDAY + HOUR, 2, lease)
    second = jobs.claim(MONDAY + HOUR, 10, lease)
    assert first.job_ids == ("j-0", "j-1")
    assert second.job_ids == ("j-2", "j-3", "j-4")
    assert jobs.claim(MONDAY + HOUR, 10, lease).jobs == ()
    assert jobs.next_due() == MONDAY + HOUR + lease  # nothing claimable before the leases end
    # The first worker died: after its lease another claim takes its jobs, and the old
    # claim no longer confirms them.
    third = jobs.claim(MONDAY + HOUR + lease, 10, lease)
    assert third.job_ids == ("j-0", "j-1", "j-2", "j-3", "j-4")
    assert jobs.confirm(first) == ()
    assert [job.id for job in jobs.confirm(third)] == list(third.job_ids)
    jobs.release(third, ["j-0"], "ValidationError: boom")
    jobs.apply(Outcome(finished=third.job_ids[1:]))
    # Two claims without finishing: j-0 is set aside, and says why.
    assert jobs.claim(MONDAY + DAY, 10, lease).jobs == ()
    [failed] = jobs.failed()
    assert (failed.job.id, failed.attempts, failed.error) == ("j-0", 2, "ValidationError: boom")
    assert jobs.next_due() is None
    with pytest.raises(ValidationError, match="lease"):
        jobs.claim(MONDAY, 1, timedelta(0))


def test_r6_rule_runtime_applies_through_apply_outcome_and_fills_the_outbox() -> None:
    storage = make_storage()
    rt = RuleRuntime(RuleEngine.for_storage(_rules(), storage), storage, ManualClock(MONDAY))
    rt.create_item(deal())
    rt.advance(DAY)
    [notification] = rt.notifications
    assert [entry.id for entry in rt.outbox.take(10)] == [notification.id]
    assert [e.rule_id for e in rt.storage.events_of_item("deal-1") if e.id.endswith("history")] == [
        "r-note"
    ]


def test_p2_rule_host_feeds_events_and_runs_due_jobs_in_batches_like_the_runtime() -> None:
    clock = ManualClock(MONDAY)
    storage = make_storage()
    host = _host(storage, clock, batch_size=2)
    for n in range(5):
        storage.add(deal(f"deal-{n}"), _entered(f"deal-{n}"))
        host.feed(_entered(f"deal-{n}"))
    assert len(host.jobs) == 10
    assert host.next_due() == MONDAY + HOUR
    assert host.run_due().claimed == 0  # nothing due yet
    clock.advance(HOUR)
    report = host.run_due()
    assert (report.claimed, report.finished, report.effects, report.failed) == (10, 10, 10, ())
    assert len(host.jobs) == 0
    assert len(host.outbox) == 5

    reference = make_storage()
    rt = RuleRuntime(RuleEngine.for_storage(_rules(), reference), reference, ManualClock(MONDAY))
    for n in range(5):
        reference.add(deal(f"deal-{n}"), _entered(f"deal-{n}"))
        rt.handle(_entered(f"deal-{n}"))
    rt.advance(HOUR)
    assert sorted(e.id for e in storage.events()) == sorted(e.id for e in reference.events())
    assert sorted(host.outbox.take(10), key=lambda e: e.id) == sorted(  # type: ignore[attr-defined]
        rt.outbox.take(10),  # type: ignore[attr-defined]
        key=lambda e: e.id,
    )


def test_p2_a_job_whose_write_fails_is_retried_alone_and_set_aside_after_max_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(MONDAY)
    storage = make_storage()
    engine = RuleEngine.for_storage(_rules(), storage)
    jobs = PendingJobs(max_attempts=2)
    host = RuleHost(engine, storage, jobs, InMemoryOutbox(clock=clock), clock=clock)
    for n in range(3):
        storage.add(deal(f"deal-{n}"), _entered(f"deal-{n}"))
        host.feed(_entered(f"deal-{n}"))
    # deal-1's history entry id is taken already: its r-note job cannot be written.
    [note] = [job for job in jobs if job.item_id == "deal-1" and job.rule_id == "r-note"]
    storage.add(
        HistoryEntryAdded(
            id=f"{note.id}~r-note~history", item_id="deal-1", at=MONDAY, author_id="u-piotr"
        )
    )
    clock.advance(HOUR)
    with caplog.at_level(logging.WARNING, logger="crmcounters"):
        report = host.run_due()
    assert report.failed == (note.id,)
    assert report.finished == 5
    assert "retrying them one by one" in caplog.text
    assert f"job {note.id} failed" in caplog.text
    assert [job.id for job in jobs] == [note.id]
    clock.advance(host.lease)
    assert host.run_due().failed == (note.id,)
    clock.advance(host.lease)
    assert host.run_due().claimed == 0
    [failed] = jobs.failed()
    assert failed.job.id == note.id
    assert "DuplicateIdError" in failed.error


def test_r6_rule_host_feed_applies_nothing_when_the_cascade_does_not_settle() -> None:
    clock = ManualClock(MONDAY)
    storage = make_storage()
    loop = ping_pong_rules()
    host = RuleHost(
        RuleEngine.for_storage(loop, storage),
        storage,
        PendingJobs(),
        InMemoryOutbox(clock=clock),
        clock=clock,
    )
    storage.add(deal(), _entered("deal-1"))
    with pytest.raises(CascadeError):
        host.feed(_entered("deal-1"))
    assert storage.tasks_of_item("deal-1") == []
    assert len(host.jobs) == 0


def test_p2_rule_host_refuses_bad_settings() -> None:
    storage = make_storage()
    engine = RuleEngine.for_storage(_rules(), storage)
    outbox = InMemoryOutbox()
    with pytest.raises(ValidationError, match="batch_size"):
        RuleHost(engine, storage, PendingJobs(), outbox, batch_size=0)
    with pytest.raises(ValidationError, match="lease"):
        RuleHost(engine, storage, PendingJobs(), outbox, lease=timedelta(seconds=-1))
    with pytest.raises(ValidationError, match="engine"):
        RuleHost(object(), storage, PendingJobs(), outbox)  # type: ignore[arg-type]
