"""`crmcounters reminders` (N1) and `counters --entity/--pipeline` (C10)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from crmcounters import counters_of, read_portal, reminder_feed
from crmcounters._cli import main, parse_instant

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
AT = "2026-12-14T10:00:00+01:00"
TO = "2026-12-15T10:00:00+01:00"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> Any:
    code, out, err = run(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_n1_reminders_human_output_in_the_users_zone() -> None:
    code, out, err = run("reminders", SAMPLE, "--user", "u-piotr", "--from", AT, "--to", TO)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("now: 2026-12-14T09:00:00+00:00 (the portal's as_of")
    assert lines[1] == (
        "Reminders of Piotr Wiśniewski (u-piotr, Europe/Warsaw) from 2026-12-14T10:00+01:00 "
        "to 2026-12-15T10:00+01:00: 13 pings"
    )
    assert (
        "  2026-12-14 10:15 +0100  act-157    deal-022       15 min before    Send the proposal"
        in lines
    )
    assert "  2026-12-14 15:00 +0100  act-108    deal-001       30 min before    Call back" in lines


def test_n1_reminders_default_window_is_a_day_from_now() -> None:
    code, out, _ = run("reminders", SAMPLE, "--at", AT)
    assert code == 0
    assert "from 2026-12-14T10:00+01:00 to 2026-12-15T10:00+01:00" in out
    # without --user each ping names its recipient and shows their own zone (X3)
    assert "  2026-12-14 16:45 +0700  u-linh       act-143" in out


def test_n1_reminders_json_is_the_feed() -> None:
    data = run_json("reminders", SAMPLE, "--from", AT, "--to", TO)
    feed = reminder_feed(read_portal(SAMPLE).storage, parse_instant(AT), parse_instant(TO))
    assert [r["id"] for r in data["reminders"]] == [ping.id for ping in feed]
    first = data["reminders"][0]
    assert datetime.fromisoformat(first["at"]) == feed[0].at
    assert set(first) == {
        "id",
        "at",
        "recipient_id",
        "activity_id",
        "item_id",
        "offset_minutes",
        "deadline",
        "subject",
    }
    assert data["user_id"] is None


def test_n1_reminders_errors_are_one_line() -> None:
    code, _, err = run("reminders", SAMPLE, "--from", TO, "--to", AT)
    assert code == 1
    assert err.startswith("crmcounters: error: end: the window ends at")
    code, _, err = run("reminders", SAMPLE, "--from", "2026-12-14T10:00")
    assert (code, err.count("\n")) == (1, 1)
    assert "--from" in err
    code, _, err = run("reminders", SAMPLE, "--user", "nobody")
    assert code == 1
    assert "nobody" in err


def test_c10_counters_of_one_section_on_the_command_line() -> None:
    code, out, err = run("counters", SAMPLE, "--user", "u-piotr", "--entity", "deal", "--at", AT)
    assert (code, err) == (0, "")
    assert "Counters of Piotr Wiśniewski (u-piotr), deal at 2026-12-14 10:00" in out
    assert "lead-" not in out  # only the section's items get badges
    data = run_json(
        "counters",
        SAMPLE,
        "--user",
        "u-piotr",
        "--entity",
        "deal",
        "--pipeline",
        "p-sales",
        "--at",
        AT,
    )
    storage = read_portal(SAMPLE).storage
    expected = counters_of(
        storage, "u-piotr", parse_instant(AT), entity_type="deal", pipeline_id="p-sales"
    )
    assert (data["incoming"], data["planned"]) == (expected.incoming, expected.planned)
    assert (data["entity_type"], data["pipeline_id"]) == ("deal", "p-sales")
    assert all(storage.item(b["item_id"]).pipeline_id == "p-sales" for b in data["badges"])


def test_c10_the_sections_add_up_to_the_total_on_the_command_line() -> None:
    total = run_json("counters", SAMPLE, "--user", "u-piotr", "--at", AT)
    storage = read_portal(SAMPLE).storage
    sections = {item.entity_type for item in storage.items()}
    parts = [
        run_json("counters", SAMPLE, "--user", "u-piotr", "--entity", entity, "--at", AT)
        for entity in sorted(sections)
    ]
    assert sum(p["incoming"] for p in parts) == total["incoming"]
    assert sum(p["planned"] for p in parts) == total["planned"]


def test_c10_pipeline_needs_entity_and_unknown_sections_are_refused() -> None:
    code, _, err = run("counters", SAMPLE, "--user", "u-piotr", "--pipeline", "p-sales")
    assert (code, err) == (
        1,
        "crmcounters: error: --pipeline needs --entity (the section's entity type, C10)\n",
    )
    code, _, err = run(
        "counters", SAMPLE, "--user", "u-piotr", "--entity", "deal", "--pipeline", "p-nope"
    )
    assert code == 1
    assert "p-nope" in err


def test_n1_the_worker_command_delivers_reminders_unless_told_not_to(tmp_path: Path) -> None:
    """`crmcounters worker` starts the reminder mark (N1, P3); --no-reminders leaves it alone."""
    import sqlite3
    from contextlib import closing

    rules = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_rules.json")
    for flag, marked in (("--no-reminders", 0), (None, 1)):
        database = tmp_path / f"{flag or 'default'}.db"
        assert run("import", SAMPLE, "--db", str(database))[0] == 0
        extra = [flag] if flag else []
        code, _, err = run("worker", "--db", str(database), "--rules", rules, "--once", *extra)
        assert code == 0, err
        assert "0 reminders" in err
        with closing(sqlite3.connect(database)) as connection:
            rows = connection.execute("SELECT COUNT(*) FROM crm_reminder_delivery").fetchone()
        assert rows == (marked,)
