"""Rule jobs and the outbox in the database (P1-P3): schema version 3, one transaction for an
outcome's records, jobs and outbox entries, claims with a lease, take and acknowledge.

The same tests run on `PendingJobs`/`InMemoryOutbox` ("memory"), SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from _build_rules import HOUR, MONDAY, deal, make_storage, sales_rule, sales_trigger
from _build_worker import BACKLOG_RULES
from _sql_backends import (
    BACKENDS,
    PG_DSN,
    PG_SKIP_REASON,
    copy_into,
    fresh_database,
    inject_failure,
    make_older,
    run_statements,
    sql_storage,
)
from crmcounters import (
    DuplicateIdError,
    InMemoryOutbox,
    OutboxEntry,
    RuleHost,
    StageChanged,
    UnknownIdError,
    ValidationError,
    WritableStorage,
)
from crmcounters._cli import main
from crmcounters.rules import (
    ChangeResponsible,
    Delay,
    Job,
    JobQueue,
    Outcome,
    PaymentReceived,
    PendingJobs,
    RuleEngine,
    RuleSet,
    SendClientMessage,
    Timing,
)
from crmcounters.sql import (
    SCHEMA_VERSION,
    SqlJobStore,
    SqlOutbox,
    SqlStorage,
    create_schema,
    migrate_schema,
    open_storage,
    schema_script,
)
from crmcounters.testing import ManualClock

STORES = ["memory", *BACKENDS]


@attrs.define
class Stack:
    """A storage with the rules tests' portal, its job queue and outbox, and a clock."""

    storage: WritableStorage
    jobs: JobQueue
    outbox: InMemoryOutbox | SqlOutbox
    clock: ManualClock

    def host(self, **kwargs: object) -> RuleHost:
        engine = RuleEngine.for_storage(BACKLOG_RULES, self.storage)
        return RuleHost(
            engine,
            self.storage,
            self.jobs,
            self.outbox,
            clock=self.clock,
            **kwargs,  # type: ignore[arg-type]
        )


@contextmanager
def stack_on(kind: str, *, max_attempts: int = 5) -> Iterator[Stack]:
    clock = ManualClock(MONDAY)
    if kind == "memory":
        yield Stack(
            make_storage(),
            PendingJobs(max_attempts=max_attempts),
            InMemoryOutbox(clock=clock),
            clock,
        )
        return
    with sql_storage(kind) as storage:
        copy_into(make_storage(), storage)
        yield Stack(
            storage,
            SqlJobStore(storage, max_attempts=max_attempts),
            SqlOutbox(storage, clock=clock),
            clock,
        )


def _entered(item_id: str) -> StageChanged:
    return StageChanged(
        id=f"enter-{item_id}", item_id=item_id, at=MONDAY, by_user_id="u-piotr", to_stage_id="new"
    )


def _feed(stack: Stack, host: RuleHost, count: int) -> None:
    for n in range(count):
        stack.storage.add(deal(f"deal-{n}"), _entered(f"deal-{n}"))
        host.feed(_entered(f"deal-{n}"))


# -- the schema -----------------------------------------------------------------


def test_p1_schema_version_3_has_the_job_and_outbox_tables() -> None:
    assert SCHEMA_VERSION == 3
    for dialect in ("sqlite", "postgres"):
        script = schema_script(dialect)
        assert "CREATE TABLE IF NOT EXISTS crm_jobs (" in script
        assert "CREATE TABLE IF NOT EXISTS crm_outbox (" in script


def test_p1_migrate_schema_from_version_2_adds_jobs_and_outbox_and_keeps_the_data(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    connection = sqlite_connect()
    copy_into(make_storage(), SqlStorage.create(connection))
    make_older(connection, 2)
    connection.commit()
    with pytest.raises(ValidationError, match=r"version 2 found.*migrate_schema"):
        SqlStorage(connection)
    assert migrate_schema(connection) == 2
    assert migrate_schema(connection) == SCHEMA_VERSION
    storage = SqlStorage(connection)
    assert len(storage.users()) == 5
    assert len(SqlJobStore(storage)) == 0
    assert len(SqlOutbox(storage)) == 0


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_p1_migrate_schema_from_version_2_on_postgresql(tmp_path: Path) -> None:
    import psycopg

    with fresh_database("postgres", tmp_path) as url, psycopg.connect(url, autocommit=True) as db:
        create_schema(db)
        make_older(db, 2)
        assert migrate_schema(db) == 2
        storage = SqlStorage(db)
        SqlJobStore(storage).add(_job("j-1", HOUR))
        assert [job.id for job in SqlJobStore(storage)] == ["j-1"]


# -- one transaction per outcome (P1, P3) ---------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_p1_an_outcome_s_records_jobs_and_outbox_entries_commit_together(kind: str) -> None:
    """A failure inside the database at the last insert (the outbox) leaves nothing."""
    with stack_on(kind) as stack:
        host = stack.host()
        _feed(stack, host, 1)
        assert len(stack.jobs) == 2
        stack.clock.advance(HOUR)
        assert isinstance(stack.storage, SqlStorage)
        undo = inject_failure(stack.storage, "INSERT", "crm_outbox", "NEW.item_id = 'deal-0'")
        try:
            report = host.run_batch()
        finally:
            run_statements(stack.storage, undo)
        assert report.failed == ("enter-deal-0~r-late",)  # its notification could not be written
        assert report.finished == 1  # the history job alone went through on its retry
        assert [e.id for e in stack.storage.events_of_item("deal-0")] == [
            "enter-deal-0",
            "enter-deal-0~r-note~r-note~history",
        ]
        [left] = stack.jobs
        assert left.rule_id == "r-late"
        assert len(stack.outbox) == 0


@pytest.mark.parametrize("kind", STORES)
def test_p1_feeding_an_event_writes_its_jobs_with_its_records(kind: str) -> None:
    with stack_on(kind) as stack:
        _feed(stack, stack.host(), 3)
        assert sorted(job.id for job in stack.jobs) == sorted(
            f"enter-deal-{n}~{rule}" for n in range(3) for rule in ("r-note", "r-late")
        )
        [job] = [j for j in stack.jobs.pending_of_item("deal-1") if j.rule_id == "r-late"]
        assert job.due_at == MONDAY + HOUR
        assert job.chain == ("deal-1: None -> new",)
        with pytest.raises(DuplicateIdError):
            stack.jobs.apply(Outcome(scheduled=(job,)))


# -- claims (P2) ----------------------------------------------------------------


def _job(job_id: str, due_in: timedelta, item_id: str = "deal-0") -> Job:
    return Job(
        id=job_id,
        rule_id="r-note",
        item_id=item_id,
        pipeline_id="p-sales",
        stage_id="new",
        entry_id=f"enter-{item_id}",
        entered_at=MONDAY,
        due_at=MONDAY + due_in,
        depth=3,
        chain=("a", "b"),
    )


@pytest.mark.parametrize("kind", STORES)
def test_p2_a_claim_holds_its_jobs_until_the_lease_ends(kind: str) -> None:
    with stack_on(kind, max_attempts=2) as stack:
        jobs = stack.jobs
        jobs.apply(
            Outcome(scheduled=tuple(_job(f"j-{n}", n * timedelta(minutes=1)) for n in range(5)))
        )
        lease = timedelta(minutes=10)
        now = MONDAY + HOUR
        first = jobs.claim(now, 2, lease)
        second = jobs.claim(now, 10, lease)
        assert first.job_ids == ("j-0", "j-1")
        assert second.job_ids == ("j-2", "j-3", "j-4")
        assert second.jobs[0] == _job("j-2", 2 * timedelta(minutes=1))  # depth and chain kept
        assert jobs.claim(now, 10, lease).jobs == ()
        assert jobs.next_due() == now + lease
        third = jobs.claim(now + lease, 10, lease)  # both workers died; their leases ended
        assert third.job_ids == ("j-0", "j-1", "j-2", "j-3", "j-4")
        with jobs.transaction(["deal-0"]):
            assert jobs.confirm(first) == ()
            assert [job.id for job in jobs.confirm(third)] == list(third.job_ids)
        jobs.release(third, ["j-0"], "DuplicateIdError: task 'x' already exists")
        with jobs.transaction(["deal-0"]):
            jobs.apply(Outcome(finished=third.job_ids[1:]))
        assert jobs.claim(now + 3 * lease, 10, lease).jobs == ()  # j-0 claimed twice: set aside
        [failed] = jobs.failed()
        assert (failed.job.id, failed.attempts) == ("j-0", 2)
        assert failed.error == "DuplicateIdError: task 'x' already exists"
        assert jobs.next_due() is None
        assert len(jobs) == 1


@pytest.mark.parametrize("kind", STORES)
def test_p2_set_aside_jobs_are_put_back_by_retry_failed(kind: str) -> None:
    """P2: a job set aside after `max_attempts` claims stays there until an operator puts it
    back (the write it kept failing on fixed); then it is claimable at once, with no attempts
    and no error. Unknown or still-pending ids are refused, naming one, and nothing changes."""
    with stack_on(kind, max_attempts=2) as stack:
        jobs = stack.jobs
        due_in = (timedelta(0), HOUR, 5 * HOUR)
        jobs.apply(Outcome(scheduled=tuple(_job(f"j-{n}", due) for n, due in enumerate(due_in))))
        lease = timedelta(minutes=10)
        now = MONDAY + 2 * HOUR
        for _ in range(2):  # two claims of j-0 and j-1, each failing: the limit
            claim = jobs.claim(now, 10, lease)
            assert claim.job_ids == ("j-0", "j-1")
            jobs.release(claim, claim.job_ids, "IntegrityError: the task's item is gone")
            now += lease
        assert jobs.claim(now, 10, lease).job_ids == ()
        assert [one.job.id for one in jobs.failed()] == ["j-0", "j-1"]
        for wrong in (["j-0", "j-2"], ["j-9"]):  # j-2 is pending, j-9 was never there
            with pytest.raises(UnknownIdError, match=f"failed job id '{wrong[-1]}'"):
                jobs.retry_failed(wrong)
            assert [one.job.id for one in jobs.failed()] == ["j-0", "j-1"]  # unchanged
        # Not a collection of ids: one string, a number, a non-id, an endless iterator.
        for wrong_ids, field in (
            ("j-0", "job_ids"),
            (5, "job_ids"),
            ([7], r"job_ids\[0\]"),
            (itertools.count(), "job_ids"),
        ):
            with pytest.raises(ValidationError, match=field):
                jobs.retry_failed(wrong_ids)  # type: ignore[arg-type]
        assert [one.job.id for one in jobs.failed()] == ["j-0", "j-1"]  # unchanged
        assert jobs.retry_failed(["j-1"]) == ("j-1",)
        [left] = jobs.failed()
        assert (left.job.id, left.attempts, left.error) == (
            "j-0",
            2,
            "IntegrityError: the task's item is gone",
        )
        assert jobs.claim(now, 10, lease).job_ids == ("j-1",)  # at once: it is overdue
        assert jobs.retry_failed() == ("j-0",)  # every set-aside job
        assert jobs.failed() == []
        assert jobs.claim(now, 10, lease).job_ids == ("j-0",)
        assert jobs.retry_failed() == ()
        assert len(jobs) == 3


def test_p2_the_jobs_command_lists_and_puts_back_set_aside_jobs(tmp_path: Path) -> None:
    """P2 on the command line: `crmcounters jobs --db URL` lists the pending count and the
    set-aside jobs with their last error; `--retry ID` / `--retry-all` put them back; an id
    that is not set aside is one error line, status 1, nothing changed."""
    path = str(tmp_path / "jobs.db")
    with open_storage(path, create=True) as storage:
        jobs = SqlJobStore(storage)
        jobs.apply(Outcome(scheduled=(_job("j-0", timedelta(0)), _job("j-1", 9 * HOUR))))
        now = MONDAY + HOUR
        for _ in range(5):  # the default limit of claims
            claim = jobs.claim(now, 10, timedelta(minutes=1))
            jobs.release(claim, claim.job_ids, "IntegrityError: item 'deal-0'\nis gone")
            now += timedelta(minutes=1)

    def run(*extra: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main(["jobs", "--db", path, *extra], stdout=out, stderr=err)
        return status, out.getvalue(), err.getvalue()

    listed = (
        "pending jobs: 2\nset aside: 1\n  j-0  due 2026-12-14T09:00:00+00:00  attempts 5  "
        "IntegrityError: item 'deal-0'; is gone\n"
    )
    assert run() == (0, listed, "")
    assert run("--retry", "j-1") == (
        1,
        "",
        "crmcounters: error: unknown failed job id 'j-1'\n",
    )
    assert run() == (0, listed, "")
    assert run("--retry", "j-0") == (0, "put back: j-0\npending jobs: 2\nset aside: 0\n", "")
    assert run("--retry-all") == (0, "put back: none\npending jobs: 2\nset aside: 0\n", "")
    status, _, err = run("--retry-all", "--retry", "j-0")
    assert (status, err) == (
        1,
        "crmcounters: error: --retry-all: not with --retry ID (it puts every set-aside job back)\n",
    )


@pytest.mark.parametrize("kind", STORES)
def test_p2_run_due_runs_each_due_job_once_in_batches(kind: str) -> None:
    with stack_on(kind) as stack:
        host = stack.host(batch_size=3)
        _feed(stack, host, 4)
        stack.clock.advance(HOUR)
        report = host.run_due()
        assert (report.claimed, report.finished, report.effects) == (8, 8, 8)
        assert len(stack.jobs) == 0
        assert host.run_due().claimed == 0
        entries = stack.outbox.take(100)
        assert sorted(entry.item_id or "" for entry in entries) == [f"deal-{n}" for n in range(4)]
        assert {entry.kind for entry in entries} == {"notify"}


@pytest.mark.parametrize("kind", STORES)
def test_p2_a_job_cancelled_while_claimed_is_not_run(kind: str) -> None:
    """A claimed job whose item leaves the stage before the batch runs is dropped (R1)."""
    with stack_on(kind) as stack:
        host = stack.host()
        _feed(stack, host, 1)
        stack.clock.advance(HOUR)
        claim = stack.jobs.claim(stack.clock.now(), 10, host.lease)
        moved = StageChanged(
            id="move-1",
            item_id="deal-0",
            at=stack.clock.now(),
            by_user_id="u-piotr",
            from_stage_id="new",
            to_stage_id="preparation",
        )
        stack.storage.write(
            add=[moved],
            replace=[attrs.evolve(stack.storage.item("deal-0"), stage_id="preparation")],
        )
        outcome = host.feed(moved)
        assert sorted(outcome.cancelled) == sorted(claim.job_ids)
        with stack.jobs.transaction():
            assert stack.jobs.confirm(claim) == ()
        assert len(stack.jobs) == 0


# -- the outbox (P3) --------------------------------------------------------------


@pytest.mark.parametrize("kind", STORES)
def test_p3_take_hands_out_each_entry_to_one_taker_until_its_lease_ends(kind: str) -> None:
    with stack_on(kind) as stack:
        outbox = stack.outbox
        entries = [
            OutboxEntry(
                id=f"e-{n}",
                kind="reminder",
                at=MONDAY + n * HOUR,
                item_id=None if n % 2 else "deal-0",
                payload={"n": n, "text": "Zażółć"},
            )
            for n in range(5)
        ]
        outbox.put(entries[:3])
        outbox.put(entries[3:])
        with pytest.raises(DuplicateIdError):
            outbox.put([entries[4], attrs.evolve(entries[0], id="e-new")])
        assert len(outbox) == 5  # nothing of the refused batch
        first = outbox.take(2)
        assert first == entries[:2]
        assert outbox.take(10, lease=timedelta(minutes=1)) == entries[2:]
        assert outbox.take(10) == []
        assert outbox.acknowledge(["e-0", "e-1", "e-0", "nope"]) == 2
        stack.clock.advance(timedelta(minutes=2))
        assert [entry.id for entry in outbox.take(10)] == ["e-2", "e-3", "e-4"]
        assert outbox.acknowledge(entry.id for entry in entries) == 3
        assert len(outbox) == 0


@pytest.mark.parametrize("kind", BACKENDS)
def test_g5_sql_job_store_and_outbox_refuse_what_they_cannot_use(kind: str) -> None:
    with sql_storage(kind) as storage:
        with pytest.raises(ValidationError, match="storage"):
            SqlJobStore(make_storage())  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="max_attempts"):
            SqlJobStore(storage, max_attempts=0)
        with pytest.raises(ValidationError, match="storage"):
            SqlOutbox(object())  # type: ignore[arg-type]
        jobs = SqlJobStore(storage)
        with pytest.raises(ValidationError, match="limit"):
            jobs.claim(MONDAY, 0, timedelta(minutes=1))
        with pytest.raises(ValidationError, match="now"):
            jobs.claim(MONDAY.replace(tzinfo=None), 1, timedelta(minutes=1))
        with pytest.raises(ValidationError, match="lease"):
            SqlOutbox(storage).take(1, lease=timedelta(0))
        if kind == "postgres":
            with pytest.raises(ValidationError, match="NUL"):
                SqlOutbox(storage).put(
                    [OutboxEntry(id="e\x00", kind="k", at=MONDAY, payload={"t": "a\x00b"})]
                )
        assert len(SqlOutbox(storage)) == 0


# -- R8-R10 in production ------------------------------------------------------------


@pytest.mark.parametrize("kind", STORES)
def test_p3_r9_r10_a_worker_runs_client_messages_and_edits_and_feeds_payments(kind: str) -> None:
    """P1-P3 with the R9 actions and an R10 trigger: the delayed SMS and round-robin run in a
    claimed batch, the SMS lands in the outbox as `client_sms`, the new responsible is stored;
    a payment fed by the host moves the deal, never out of the won stage afterwards."""
    rules = RuleSet(
        rules=[
            sales_rule(
                "r-sms",
                timing=Timing(delay=Delay(after=1, unit="hours")),
                action=SendClientMessage(channel="sms", text="{{Client}}: {{Title}}"),
            ),
            sales_rule(
                "r-spread",
                timing=Timing(delay=Delay(after=1, unit="hours")),
                action=ChangeResponsible(round_robin=["u-keala", "u-tama"]),
            ),
        ],
        triggers=[sales_trigger("t-paid", "won", event="payment_received")],
    )
    with stack_on(kind) as stack:
        engine = RuleEngine.for_storage(rules, stack.storage, sms_max_length=160)
        host = RuleHost(engine, stack.storage, stack.jobs, stack.outbox, clock=stack.clock)
        _feed(stack, host, 2)
        stack.clock.advance(HOUR)
        report = host.run_due()
        assert (report.claimed, report.effects) == (4, 4)
        kinds = sorted(entry.kind for entry in stack.outbox.take(10, lease=HOUR))
        assert kinds == ["client_sms", "client_sms"]
        assert {stack.storage.item(f"deal-{n}").responsible_id for n in range(2)} <= {
            "u-keala",
            "u-tama",
        }
        paid = PaymentReceived(id="pay-1", item_id="deal-0", at=stack.clock.now(), amount=100)
        assert len(host.feed(paid).effects) == 1
        assert stack.storage.item("deal-0").stage_id == "won"
        again = PaymentReceived(id="pay-2", item_id="deal-0", at=stack.clock.now(), amount=100)
        outcome = host.feed(again)
        assert outcome.effects == ()
        assert "final stage" in outcome.skipped[0].reason
