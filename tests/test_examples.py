"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))

#: What each example must print (a few lines that prove it did its job).
EXPECTED: dict[str, list[str]] = {
    "client_communication.py": [
        "Mon 14 10:00  deal-100 created in New",
        "       ClientMessage: to Pho 24: Dear Pho 24, thank you for your enquiry. "
        "Marek Nowak will call you.",  # R9 e-mail with placeholders
        "       Notify: to u-marek: Shop for Pho 24 (4800 PLN) has waited a day in New",  # R8 once
        "       ChangeField: responsible_id 'u-marek' -> 'u-piotr'",  # R9 round-robin, no Keala
        "       ChangeStage: new -> proposal by t-asks-proposal",  # R10 incoming e-mail
        "       ChangeField: field:priority 1 -> 2",  # R9 set field, the new stage's rule
        "       skipped r-proposal-sms: the SMS is 58 characters once its placeholders are "
        "filled in, over the host's limit of 50 (R9); nothing was sent: shorten the text",
        "       ChangeStage: proposal -> send-invoice by t-asks-invoice",  # R10 chat
        "       ChangeStage: send-invoice -> won by t-paid",  # R10 payment
        "       skipped payment_received: event payment-5: the item is in the final stage "
        "'won'; a trigger never moves an item out of a final stage (R10)",
        "  client_email enter-1~r-welcome~email",  # P3
        "deal-100: stage won, responsible u-piotr",
    ],
    "counter_math.py": [
        "   Planned 6 over 3 deals",  # C5: 3 deals x 2 lit activities
        "   16 min before: Planned 0, valid until Mon 14 Dec 10:15",  # C4, C9
        "   14 min before: Planned 1, valid until -",
        "   Mon 14 Dec 23:59: column today, Planned 1, view valid until Tue 15 Dec 00:00",  # V1
        "   Tue 15 Dec 00:00: column overdue, Planned 1, view valid until -",
        "   column today (his today is 2026-12-14)",  # X3: Los Angeles at 17:00
        "   green  Anna sees green 1; Marek sees grey 1",  # C6, C7
        "   dot    Anna sees grey 0 with a dot; Marek sees grey 0 with a dot",
        "   50,001 open activities blocked? True",  # C8
        "   cap 5, 5 open: Planned 5",
        "   cap 5, 6 open: blocked, complete or delete 1 to see the numbers again",
    ],
    "fastapi_app.py": [
        "GET /users/u-piotr/counters -> 200",
        "  Incoming 3, Planned 5",  # C3, C4 from the database
        "  Cache-Control: private, max-age=900",  # C9: valid until 10:15, 15 minutes away
        "GET /pipelines/p-sales/kanban -> new: ['deal-014', 'deal-016'] of 3",  # F1, F4
        "POST /activities -> 201, lit at 09:50 (C4)",  # 15 minutes before its deadline
        "  Planned now 6",
        "  again -> 409: activity 'web-call' is already completed",
        "  Planned back to 5",
        "GET /users/u-anna/counters as u-piotr -> 403 (C7)",
    ],
    "focus_day.py": [
        "       deal-1* 09:12 | deal-4 Mon 14 Dec 16:00 | deal-3 Sun 13 Dec 08:00 "
        "| deal-2 Sat 12 Dec 08:00",  # F2, F3: the client writes
        "       deal-2 10:45 | deal-1 09:12 | deal-4 Mon 14 Dec 16:00 | deal-3 Sun 13 Dec 08:00",
        "       deal-3 10:55 | deal-2 10:45 | deal-1 09:12 | deal-4 Mon 14 Dec 16:00",
        "       deal-2 11:00 | deal-3 10:55 | deal-1 09:12 | deal-4 Mon 14 Dec 16:00",
        "       valid until 11:00",  # F5
        "       valid until Thu 14 Jan 07:45",
    ],
    "inbox_day.py": [
        "Mon 14 Dec 10:00 Piotr: Incoming 3",
        "Mon 14 Dec 10:05 e-mail on deal-001: Incoming 4, unread True, badge red 2",  # I1, F3, C6
        "Mon 14 Dec 10:20 reply completes ['act-mail']: Incoming 3",  # I2
        "Mon 14 Dec 10:40 deal-015 calls processed: 3 completed, Incoming 2",  # I2
        "Call back on deal-029 due Wed 16 Dec 10:00",  # A1: 2 business days at 10:00
        "  done at Mon 14 Dec 13:00; proposes 'Send the offer' due Mon 14 Dec 17:00",  # A1
        "Weekly call: Mon 22 Mar 09:00, Mon 29 Mar 09:00, Mon 05 Apr 09:00",  # A2 across DST
        "  completing the first adds ['weekly@20270329T0900']",  # A2
    ],
    "own_storage.py": [
        "DictStorage implements crmcounters.Storage: True",
        "Anna's counters: Incoming 1, Planned 1, valid until Thu 17 Dec 09:45",
        "  today         deal-1, deal-2",
        "  no_activities deal-4",
        "Closing deal-4 suggests: 'Contact the client' due 2026-12-17T10:00:00+01:00",
        "Closing deal-3 suggests nothing: open_activity_exists",
        "Same answers as InMemoryStorage: True",
    ],
    "own_tables.py": [
        "Piotr's counters from app_* tables: Incoming 1, Planned 2 on 2 deals, "
        "valid until Thu 17 Dec 09:45",  # C3, C4, C9 over the host's rows
        "  deal 1 Fleet of 12 vans  today",  # V1: a deadline passed earlier today is Today
        "  deal 3 Support plan      this_week",
        "Sales department: Incoming 1, Planned 2 on 2 deals",  # C7 department sum
        "Same answer as the pure calculator over the same rows: True",  # G1
        "After the host completes activity 1: Incoming 1, Planned 1 on 2 deals",
        "Writing through the library: storage: this database shows your own tables",
    ],
    "reminders_day.py": [
        "  06:15 UTC  Sun 01:15 EST  u-maya   night-call        15 min before",  # N1, fold=1
        "  09:55 UTC  Sun 23:55 +14  u-teiti  kiritimati-call   15 min before",  # UTC+14
        "  11:45 UTC  Sun 17:30 +0545  u-sita   kathmandu-call    15 min before",  # UTC+5:45
        "  Sun 02:00 EST: 2 put; night-call/15, night-call/0",  # P3: delivered as they fall
        "  Sun 08:00 EST: 4 put; kiritimati-call/0, kathmandu-call/15, kathmandu-call/0, "
        "meeting/60",
        "  Sun 11:00 EST: 0 put; nothing due",  # completed at 08:30: 08:45 and 09:00 dropped
        "  left in the outbox: 0",
    ],
    "production_host.py": [
        "deal-022 -> new: effects now 0, jobs for later 2",  # P1: the 24-hour rules wait
        "deal-014 -> proposal: effects now 1, jobs for later 0",  # working time: at once
        "pending jobs: 2; next due Tue 15 10:00",
        "worker: 2 jobs run, 2 effects",  # P2
        "deliver notify move-deal-022-20261214090000~r-late-notify~r-late-notify~notify: "
        "Piotr Wiśniewski has not moved Integration for Café de Flore (31000 PLN) in 24 hours",
        "acknowledged 1; 0 left in the outbox",  # P3
    ],
    "portal_tour.py": [
        "Sample portal: 8 users in 4 departments",
        "As of 2026-12-14T10:00:00+01:00",
        "Working day in PL: True",
        "Piotr Wiśniewski   Europe/Warsaw        supervisor Anna Kowalska",
        "Keala Kahale       Pacific/Honolulu     supervisor Carlos Rivera",
    ],
    "smart_deadlines.py": [
        "PL Friday     Fri 18 Dec 2026 10:00 +0100 -> Wed 23 Dec 2026 10:00 +0100",  # S2
        "PL Christmas  Wed 23 Dec 2026 10:00 +0100 -> Wed 30 Dec 2026 10:00 +0100",
        "PL Saturday   Sat 19 Dec 2026 09:00 +0100 -> Wed 23 Dec 2026 09:00 +0100",
        "PL closed     Wed 23 Dec 2026 10:00 +0100 -> Thu 07 Jan 2027 10:00 +0100",
        "IL Wednesday  Wed 04 Nov 2026 10:00 +0200 -> Mon 09 Nov 2026 10:00 +0200",
        "US (NY)       Wed 25 Nov 2026 10:00 -0500 -> Tue 01 Dec 2026 10:00 -0500",
        "US-CA         Wed 25 Nov 2026 10:00 -0800 -> Wed 02 Dec 2026 10:00 -0800",
        "VN Tet        Tue 02 Feb 2027 10:00 +0700 -> Fri 12 Feb 2027 10:00 +0700",
        "Kiritimati    Fri 25 Dec 2026 01:00 +1400 -> Thu 31 Dec 2026 01:00 +1400",  # X3
        "Honolulu      Thu 24 Dec 2026 01:00 -1000 -> Wed 30 Dec 2026 01:00 -1000",
        "PL October    Fri 23 Oct 2026 10:00 +0200 -> Wed 28 Oct 2026 10:00 +0100",  # G4
        "US November   Fri 30 Oct 2026 10:00 -0400 -> Wed 04 Nov 2026 10:00 -0500",
        "              elapsed: 5 days, 1:00:00",
    ],
    "supervisor_after_24h.py": [
        '        "unit": "hours"',  # R7: the rule set as JSON
        "       deal-a: r-not-moved-24h due Tue 15 Dec 10:00",  # R1
        "Tue 15 Dec 09:59  Piotr moves deal-b to Contacted; job cancelled:",
        "       Tue 15 Dec 10:00 to Anna Kowalska about deal-a: Piotr Wiśniewski has not moved "
        "Fleet of 12 vans (480000 PLN) in 24 hours",  # R3, R4
        "deal-a: stage new, supervisor notified",
        "deal-b: stage contacted, no notification",
        "pending jobs left: 0",
    ],
}


def test_every_example_has_expectations() -> None:
    """An example nobody checks rots: each one is listed in EXPECTED."""
    assert sorted(EXPECTED) == [script.name for script in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_and_prints_its_promise(script: Path) -> None:
    """The script exits 0 and prints each expected line."""
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for line in EXPECTED[script.name]:
        assert line in result.stdout, f"{script.name} did not print {line!r}:\n{result.stdout}"


PUBLIC_MODULES = {
    "crmcounters",
    "crmcounters.focus",
    "crmcounters.rules",
    "crmcounters.sql",
    "crmcounters.testing",
}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_teaches_with_the_public_api_and_a_fixed_clock(script: Path) -> None:
    """A docstring says what it teaches; imports are public; no system clock (G1, X2)."""
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree)
    assert docstring, f"{script.name} needs a module docstring saying what it teaches"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crmcounters"):
            assert node.module in PUBLIC_MODULES, f"{script.name} imports {node.module}"
            assert all(not alias.name.startswith("_") for alias in node.names), script.name
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("crmcounters.") for a in node.names), script.name
    for clock in ("datetime.now(", ".utcnow(", "date.today(", "time.time(", "SystemClock"):
        assert clock not in source, f"{script.name} reads the system clock ({clock})"
