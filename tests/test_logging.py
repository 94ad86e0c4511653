"""The library logs through logging.getLogger("crmcounters"), silent unless configured:
portal loads, rule runs, refused writes."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from _build import small_storage, todo
from _build_rules import MONDAY, deal, runtime, sales_rule
from crmcounters import DuplicateIdError, load_portal
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes
from crmcounters.rules import NotifySupervisor

LOGGER = "crmcounters"


def test_the_library_is_silent_unless_the_host_configures_logging() -> None:
    """A NullHandler on "crmcounters", and nothing on stderr from a load and a refused write
    when the host has configured nothing."""
    assert any(
        isinstance(handler, logging.NullHandler) for handler in logging.getLogger(LOGGER).handlers
    )
    code = (
        "import crmcounters\n"
        "from crmcounters._sample import SAMPLE_PORTAL, sample_bytes\n"
        "portal = crmcounters.load_portal(sample_bytes(SAMPLE_PORTAL))\n"
        "user = next(iter(portal.storage.users()))\n"
        "try:\n"
        "    portal.storage.add(user)\n"
        "except crmcounters.DuplicateIdError:\n"
        "    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert (done.stdout, done.stderr) == ("", "")


def test_a_portal_load_is_logged_with_its_size(caplog: pytest.LogCaptureFixture) -> None:
    """Loads: one INFO record naming how much was loaded."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        load_portal(sample_bytes(SAMPLE_PORTAL))
    assert [(r.name, r.levelname) for r in caplog.records] == [(LOGGER, "INFO")]
    assert caplog.records[0].getMessage() == (
        "loaded a portal: 372 records (8 users, 60 items, 200 activities)"
    )


def test_g5_a_refused_write_is_logged_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    """G5: the refusal is logged with what it refused; the error still reaches the caller."""
    storage = small_storage()
    storage.add(todo("a-1", "d1"))
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(DuplicateIdError):
        storage.add(todo("a-2", "d1"), todo("a-1", "d1"))
    (record,) = caplog.records
    assert record.getMessage().startswith("refused a write of 2 new and 0 replaced records: ")
    assert "a-1" in record.getMessage()


def test_r6_rule_runs_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """R6: a stage change whose rules act, and the due jobs run later, are each logged with
    what came out; runs that change nothing are not."""
    rt = runtime([sales_rule("r-1", action=NotifySupervisor(text="x"))], start=MONDAY)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        rt.create_item(deal())
        rt.advance_to(MONDAY)  # nothing due: no record
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "rules ran on StageChanged of item 'deal-1': 1 effects, 0 jobs scheduled, "
        "0 cancelled, 0 finished, 0 skipped"
    ]
