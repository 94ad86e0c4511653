"""The worker loop (P2): it sleeps until the next job is due or the poll interval passes,
whichever is sooner (never a busy loop), stops between batches, and `crmcounters worker`
refuses what it cannot use with one line."""

from __future__ import annotations

import io
import signal
import sqlite3
import threading
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from _build_rules import HOUR, MONDAY, deal, make_storage
from _build_worker import BACKLOG_RULES, rules_file, sqlite_backlog
from crmcounters import InMemoryOutbox, RuleHost, StageChanged, ValidationError, Worker
from crmcounters._cli import main
from crmcounters._worker import stop_on_signals
from crmcounters.rules import PendingJobs, RuleEngine
from crmcounters.testing import ManualClock

POLL = timedelta(seconds=10)


class _Sleeps:
    """Stands in for the worker's stop event: notes each sleep, moves the clock by it, and
    stops the loop after `turns` sleeps."""

    def __init__(self, clock: ManualClock, turns: int) -> None:
        self.clock = clock
        self.turns = turns
        self.slept: list[float] = []

    def is_set(self) -> bool:
        return len(self.slept) >= self.turns

    def wait(self, timeout: float) -> bool:
        self.slept.append(timeout)
        self.clock.advance(timedelta(seconds=timeout))
        return self.is_set()

    def set(self) -> None:
        self.turns = 0


def _host(clock: ManualClock, jobs: PendingJobs | None = None) -> RuleHost:
    storage = make_storage()
    return RuleHost(
        RuleEngine.for_storage(BACKLOG_RULES, storage),
        storage,
        jobs if jobs is not None else PendingJobs(),
        InMemoryOutbox(clock=clock),
        clock=clock,
    )


def _enter(host: RuleHost, item_id: str) -> None:
    host.storage.add(deal(item_id, created_at=host.clock.now()))
    event = StageChanged(
        id=f"enter-{item_id}",
        item_id=item_id,
        at=host.clock.now(),
        by_user_id="u-piotr",
        to_stage_id="new",
    )
    host.storage.add(event)
    host.feed(event)


def test_p2_an_idle_worker_sleeps_the_poll_interval_not_a_busy_loop() -> None:
    clock = ManualClock(MONDAY)
    worker = Worker(_host(clock), poll_interval=POLL)
    sleeps = _Sleeps(clock, turns=3)
    worker._stop = sleeps  # type: ignore[assignment]
    report = worker.run()
    assert sleeps.slept == [10.0, 10.0, 10.0]
    assert report.claimed == 0


def test_p2_a_worker_sleeps_until_the_next_job_is_due_then_runs_it() -> None:
    clock = ManualClock(MONDAY)
    host = _host(clock)
    _enter(host, "deal-1")  # two jobs due at MONDAY + 1 hour
    clock.advance(HOUR - timedelta(seconds=3))
    worker = Worker(host, poll_interval=POLL)
    sleeps = _Sleeps(clock, turns=2)
    worker._stop = sleeps  # type: ignore[assignment]
    report = worker.run()
    assert sleeps.slept == [3.0, 10.0]  # until the jobs were due; then idle again
    assert (report.claimed, report.finished, report.effects) == (2, 2, 2)


def test_p2_a_job_held_by_another_claim_is_looked_at_again_when_its_lease_ends() -> None:
    clock = ManualClock(MONDAY)
    jobs = PendingJobs()
    host = _host(clock, jobs)
    _enter(host, "deal-1")
    clock.advance(HOUR)
    jobs.claim(clock.now(), 10, timedelta(seconds=4))  # another worker took them for 4 s
    worker = Worker(host, poll_interval=POLL)
    sleeps = _Sleeps(clock, turns=2)
    worker._stop = sleeps  # type: ignore[assignment]
    report = worker.run()
    assert sleeps.slept == [4.0, 10.0]
    assert report.finished == 2  # the other worker died: its jobs ran after the lease


def test_p2_once_runs_what_is_due_and_returns() -> None:
    clock = ManualClock(MONDAY)
    host = _host(clock)
    for n in range(3):
        _enter(host, f"deal-{n}")
    clock.advance(2 * HOUR)
    report = Worker(host).run(once=True)
    assert (report.finished, report.effects, report.failed) == (6, 6, ())
    assert len(host.jobs) == 0


def test_p2_stop_from_another_thread_ends_the_loop_between_batches() -> None:
    clock = ManualClock(MONDAY)
    worker = Worker(_host(clock), poll_interval=timedelta(seconds=60))
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(worker.run()))
    thread.start()
    worker.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert worker.stopping
    assert len(done) == 1


def test_p2_signals_stop_the_worker_and_the_old_handlers_come_back() -> None:
    worker = Worker(_host(ManualClock(MONDAY)))
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(worker):
        signal.raise_signal(signal.SIGTERM)
        assert worker.stopping
    assert signal.getsignal(signal.SIGTERM) is before


def test_p2_worker_refuses_bad_settings() -> None:
    host = _host(ManualClock(MONDAY))
    with pytest.raises(ValidationError, match="poll_interval"):
        Worker(host, poll_interval=timedelta(0))
    with pytest.raises(ValidationError, match="host"):
        Worker(object())  # type: ignore[arg-type]


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["worker", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_p2_cli_worker_once_runs_the_due_jobs_and_logs_to_stderr(tmp_path: Path) -> None:
    database = sqlite_backlog(tmp_path / "crm.db", 5)
    rules = rules_file(tmp_path / "rules.json")
    code, out, err = _cli("--db", str(database), "--rules", str(rules), "--once")
    assert (code, out) == (0, "")
    assert "worker stopped: 10 jobs run, 10 effects, 0 failed" in err
    with closing(sqlite3.connect(database)) as connection:  # sqlite3's `with` only commits
        assert connection.execute("SELECT COUNT(*) FROM crm_outbox").fetchone() == (5,)


def test_g5_r9_cli_worker_refuses_in_one_line(tmp_path: Path) -> None:
    database = sqlite_backlog(tmp_path / "crm.db", 1)
    rules = rules_file(tmp_path / "rules.json")
    bad_rules = tmp_path / "bad.json"
    bad_rules.write_text('{"format": "crmcounters.rules", "version": 1, "rules": [{}]}')
    for args, says in (
        (["--db", str(tmp_path / "missing.db"), "--rules", str(rules)], "--db: "),
        (["--db", str(database), "--rules", str(bad_rules)], "problem"),
        (["--db", str(database), "--rules", str(rules), "--batch", "0"], "--batch: must be"),
        (["--db", str(database), "--rules", str(rules), "--lease", "-1"], "--lease: must be"),
        (  # R9: the host's SMS limit is checked when the engine is built
            ["--db", str(database), "--rules", str(rules), "--sms-max-length", "0"],
            "--sms-max-length: ",
        ),
    ):
        code, _, err = _cli(*args)
        assert code == 1, args
        assert err.startswith("crmcounters: error: ")
        assert says in err
        assert err.count("\n") == 1
        assert "Traceback" not in err
