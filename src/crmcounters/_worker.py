"""The worker loop (P2): run due jobs batch after batch, sleep until the next one is due or a
poll interval passes, stop cleanly between batches. `crmcounters worker` runs it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType

import attrs

from ._errors import ValidationError
from ._host import RuleHost, RunReport, logger
from ._validate import check_aware

__all__ = ["DEFAULT_POLL_INTERVAL", "Worker", "stop_on_signals"]

#: The longest a worker sleeps before looking for due jobs again (jobs a web process
#: schedules are found at the latest then, or at their due time if that is sooner).
DEFAULT_POLL_INTERVAL = timedelta(seconds=10)
#: When the next job is already due but nothing could be claimed (another worker holds it).
_RETRY = timedelta(milliseconds=50)


class Worker:
    """Runs a `RuleHost`'s due jobs until stopped (P2): the loop of `crmcounters worker`.

    Each turn runs one batch (`RuleHost.run_batch`); when no job was due it
    puts the reminder pings due by now in the outbox (`RuleHost.deliver_reminders`,
    if the host has `reminders`), then sleeps until the next job or ping is due
    or `poll_interval` passes, whichever is sooner. `stop()` (safe from a
    signal handler or another thread) lets the current batch finish, then
    `run` returns. A database error is logged and
    retried after the poll interval, so a restarting database does not end
    the worker.
    """

    def __init__(self, host: RuleHost, *, poll_interval: timedelta = DEFAULT_POLL_INTERVAL) -> None:
        if not isinstance(host, RuleHost):
            raise ValidationError("host", f"expected a RuleHost, got {type(host).__name__}")
        if not isinstance(poll_interval, timedelta) or poll_interval <= timedelta(0):
            raise ValidationError(
                "poll_interval", f"expected a positive timedelta, got {poll_interval!r}"
            )
        self.host = host
        self.poll_interval = poll_interval
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current batch."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stop.is_set()

    def run(self, *, once: bool = False) -> RunReport:
        """Run due jobs until stopped; with `once`, until none is due (for cron). Returns the
        total of what was done."""
        total = RunReport()
        logger.info("worker started (batch %d, lease %s)", self.host.batch_size, self.host.lease)
        while not self._stop.is_set():
            try:
                report = self.host.run_batch()
                if not report.claimed:  # due jobs first; reminders once none waits (N1)
                    reminded = self.host.deliver_reminders()
                    report = attrs.evolve(report, reminders=reminded)
            except Exception as exc:  # the database went away: say so, wait, try again
                logger.error("could not run due jobs: %s: %s", type(exc).__name__, exc)
                if once:
                    raise
                self._stop.wait(self.poll_interval.total_seconds())
                continue
            total += report
            if report.claimed:
                continue
            if once:
                break
            self._stop.wait(self._sleep().total_seconds())
        logger.info(
            "worker stopped: %d jobs run, %d effects, %d failed, %d reminders",
            total.finished,
            total.effects,
            len(total.failed),
            total.reminders,
        )
        return total

    def _sleep(self) -> timedelta:
        """Until the next job is due, at most the poll interval, a little when one is due now."""
        try:
            next_due = self.host.next_due()
        except Exception as exc:  # reported; the poll interval still applies
            logger.error("could not read the next due time: %s: %s", type(exc).__name__, exc)
            return self.poll_interval
        if next_due is None:
            return self.poll_interval
        wait = next_due - check_aware("now", self.host.clock.now())
        return max(_RETRY, min(wait, self.poll_interval))

    def __repr__(self) -> str:
        return f"Worker({self.host!r}, poll_interval={self.poll_interval})"


@contextmanager
def stop_on_signals(worker: Worker) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT (Ctrl-C) stop the worker after its batch, not mid-way.

    Only the main thread may install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: finishing the current batch, then stopping", signal.Signals(signum).name)
        worker.stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
