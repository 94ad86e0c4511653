"""`crmcounters worker` processes over one database (P2): several workers run each job once,
a worker killed mid-batch loses nothing and doubles nothing, SIGTERM ends a worker cleanly
after its batch. On SQLite always, on PostgreSQL when a server is set up.

Every job of the backlog leaves one row: a history entry (rule r-note) or an outbox entry
(rule r-late); a job run twice would leave two, a lost one none. The tests count them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from _build_worker import ENTERED, JOBS_PER_DEAL, Counts, backlog_database, rules_file
from _sql_backends import BACKENDS

DEALS = 5_000  # 10,000 jobs for the workers to share
FEW_DEALS = 1_500  # 3,000 jobs: a crash or a stop inside the first batch
_STOPPED = re.compile(r"worker stopped: (\d+) jobs run, (\d+) effects, (\d+) failed")


def _worker(url: str, rules: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crmcounters", "worker", "--db", url, "--rules", str(rules), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(
    condition: Callable[[], bool],
    what: str,
    workers: list[subprocess.Popen[str]],
    *,
    every: float = 0.02,
) -> None:
    """Poll until `condition` holds while the workers run (a guard against a hang, not a
    timing assertion)."""
    deadline = time.monotonic() + 120
    while not condition():
        for worker in workers:
            if worker.poll() is not None:
                _, err = worker.communicate()
                pytest.fail(f"a worker ended (status {worker.returncode}) before {what}: {err}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(every)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return process.returncode, err


def _jobs_run(log: str) -> int:
    match = _STOPPED.search(log)
    assert match is not None, log
    assert match.group(3) == "0", log  # no job failed
    return int(match.group(1))


def _assert_each_job_once(counts: Counts, *, done: int, deals: int = DEALS) -> None:
    found = counts.all()
    assert found["history"] == found["history_ids"]  # nothing applied twice
    assert found["outbox"] == found["outbox_ids"]
    assert found["history"] + found["outbox"] == done
    assert found["history"] + found["outbox"] + found["jobs"] == deals * JOBS_PER_DEAL  # none lost


@contextmanager
def _backlog(
    kind: str, tmp_path: Path, entered: datetime, deals: int = DEALS
) -> Iterator[tuple[str, Counts]]:
    with backlog_database(kind, tmp_path, deals, entered) as url:
        counts = Counts(url)
        try:
            yield url, counts
        finally:
            counts.close()


@pytest.fixture(params=BACKENDS)
def due_backlog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Counts]]:
    """A database with 3,000 jobs, long due."""
    with _backlog(request.param, tmp_path, ENTERED, FEW_DEALS) as database:
        yield database


@pytest.fixture(params=BACKENDS)
def soon_backlog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Counts]]:
    """A database with 10,000 jobs falling due in a few seconds."""
    soon = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=3)
    with _backlog(request.param, tmp_path, soon) as database:
        yield database


def test_p2_three_workers_run_10000_due_jobs_each_exactly_once(
    soon_backlog: tuple[str, Counts], tmp_path: Path
) -> None:
    """Three workers wait for the backlog to fall due, take it in claims of 100, and stop on
    SIGTERM with exit status 0; every job's row is there once."""
    url, counts = soon_backlog
    rules = rules_file(tmp_path / "rules.json")
    workers = [_worker(url, rules, "--batch", "100", "--poll", "1") for _ in range(3)]
    try:
        _wait_for(lambda: counts.one("jobs") == 0, "the backlog was done", workers, every=0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
    results = [_finish(worker) for worker in workers]
    assert [code for code, _ in results] == [0, 0, 0]
    ran = [_jobs_run(log) for _, log in results]
    assert sum(ran) == DEALS * JOBS_PER_DEAL
    if not url.endswith(".db"):  # PostgreSQL claims in parallel (FOR UPDATE SKIP LOCKED);
        assert sum(1 for count in ran if count) >= 2  # SQLite has one writer at a time
    assert all("SIGTERM: finishing the current batch" in log for _, log in results)
    _assert_each_job_once(counts, done=DEALS * JOBS_PER_DEAL)
    assert counts.one("leased") == 0


def test_p2_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    due_backlog: tuple[str, Counts], tmp_path: Path
) -> None:
    url, counts = due_backlog
    total = FEW_DEALS * JOBS_PER_DEAL
    rules = rules_file(tmp_path / "rules.json")
    victim = _worker(url, rules, "--batch", str(total), "--lease", "1", "--log-level", "WARNING")
    _wait_for(lambda: counts.one("leased") > 0, "the first claim", [victim])
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    assert counts.one("leased") == total  # it died holding its claimed batch...
    _assert_each_job_once(counts, done=0, deals=FEW_DEALS)  # ...and none of it was applied
    time.sleep(1.1)  # the dead worker's lease ends: its jobs are due again
    code, log = _finish(_worker(url, rules, "--once", "--batch", "1000"))
    assert code == 0
    assert _jobs_run(log) == total
    _assert_each_job_once(counts, done=total, deals=FEW_DEALS)
    assert counts.one("jobs") == 0


def test_p2_sigterm_mid_batch_finishes_the_batch_and_exits_0(
    due_backlog: tuple[str, Counts], tmp_path: Path
) -> None:
    url, counts = due_backlog
    rules = rules_file(tmp_path / "rules.json")
    worker = _worker(url, rules, "--batch", "1000")
    _wait_for(lambda: counts.one("leased") > 0, "the first claim", [worker])
    worker.send_signal(signal.SIGTERM)
    code, log = _finish(worker)
    assert code == 0
    done = _jobs_run(log)
    assert done % 1000 == 0  # whole batches only
    assert 0 < done < FEW_DEALS * JOBS_PER_DEAL
    assert counts.one("leased") == 0  # it did not stop holding a claim
    _assert_each_job_once(counts, done=done, deals=FEW_DEALS)
    assert counts.one("jobs") == FEW_DEALS * JOBS_PER_DEAL - done
