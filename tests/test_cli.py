"""The `crmcounters` command line: every subcommand, human and --json, and its errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from crmcounters._cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
RULES = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_rules.json")
AT = "2026-12-14T10:00:00+01:00"


def run(*argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> Any:
    """Run with --json and parse what it printed."""
    code, out, err = run(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_c1_counters_human_output() -> None:
    """C1, C5, C6: counts with item counts, valid_until and a badge per item."""
    code, out, err = run("counters", SAMPLE, "--user", "u-piotr", "--at", AT)
    assert (code, err) == (0, "")
    assert "Counters of Piotr Wiśniewski (u-piotr) at 2026-12-14 10:00 Europe/Warsaw" in out
    assert "Incoming    3   on 3 items" in out
    assert "[red 2]      deal-015" in out
    assert "[grey 0•]" in out  # open activities, none lit yet


def test_c1_c9_counters_json_matches_the_library() -> None:
    """--json prints the CounterResult fields and the badges (docs/cli.md schema)."""
    from crmcounters import counters_of, read_portal
    from crmcounters._cli import parse_instant

    data = run_json("counters", SAMPLE, "--user", "u-piotr", "--at", AT)
    expected = counters_of(read_portal(SAMPLE).storage, "u-piotr", parse_instant(AT))
    assert data["incoming"] == expected.incoming
    assert data["planned"] == expected.planned
    assert data["blocked"] is False
    # instants are shown in the zone of the user the command is about (X3)
    assert datetime.fromisoformat(data["valid_until"]) == expected.valid_until
    assert data["valid_until"].endswith("+01:00")
    assert {b["item_id"] for b in data["badges"]} >= {"deal-015", "deal-001"}
    assert set(data) >= {"incoming_items", "planned_items", "items", "total", "cap", "viewer_id"}


def test_c7_counters_of_another_user_follow_the_portals_access_policy() -> None:
    """C7: the CEO (level all) may read Piotr's counters; Piotr may not read Anna's."""
    assert run_json("counters", SAMPLE, "--user", "u-piotr", "--viewer", "u-marek", "--at", AT)
    code, out, err = run("counters", SAMPLE, "--user", "u-anna", "--viewer", "u-piotr", "--at", AT)
    assert code == 1
    assert out == ""
    assert err.startswith("crmcounters: error: user 'u-piotr'")
    assert err.count("\n") == 1


def test_v1_view_lists_the_six_columns_in_the_users_zone() -> None:
    """V1, X3: Keala in Honolulu is still on Sunday 13th."""
    data = run_json("view", SAMPLE, "--user", "u-keala", "--at", AT)
    assert data["today"] == "2026-12-13"
    assert list(data["columns"]) == [
        "overdue",
        "today",
        "this_week",
        "next_week",
        "later",
        "no_activities",
    ]
    code, out, _ = run("view", SAMPLE, "--user", "u-keala", "--at", AT)
    assert code == 0
    assert "Activities of Keala Kahale on 2026-12-13 (Pacific/Honolulu)" in out


def test_f4_kanban_stages_with_focus_ordered_cards_and_badges() -> None:
    """F1, F4, C6: stages in pipeline order, cards newest focus first, badges as seen."""
    data = run_json(
        "kanban",
        SAMPLE,
        "--entity",
        "deal",
        "--pipeline",
        "p-sales",
        "--viewer",
        "u-marek",
        "--at",
        AT,
    )
    assert [c["stage_id"] for c in data["columns"]][:2] == ["new", "preparation"]
    for column in data["columns"]:
        times = [card["focus_time"] for card in column["cards"]]
        assert times == sorted(times, reverse=True)
    cards = [card for column in data["columns"] for card in column["cards"]]
    assert any(card["badge"] and card["badge"]["colour"] == "grey" for card in cards)


def test_c7_kanban_cards_the_viewer_may_not_read_carry_no_badge() -> None:
    """C7, C6: Anna reads her department (grey badges) but not Carlos's cards (no badge)."""
    data = run_json(
        "kanban",
        SAMPLE,
        "--entity",
        "deal",
        "--pipeline",
        "p-sales",
        "--viewer",
        "u-anna",
        "--at",
        AT,
    )
    cards = [card for column in data["columns"] for card in column["cards"]]
    by_owner = {card["responsible_id"]: card["badge"] for card in cards}
    assert by_owner["u-carlos"] is None
    assert by_owner["u-piotr"] is not None
    assert by_owner["u-piotr"]["colour"] == "grey"


def _kanban_lines(viewer: str, pipeline: str = "p-sales") -> list[str]:
    code, out, err = run(
        "kanban", SAMPLE, "--entity", "deal", "--pipeline", pipeline, "--viewer", viewer, "--at", AT
    )
    assert (code, err) == (0, "")
    first, *lines = out.splitlines()
    assert first == f"now: {AT} (--at)"
    return lines


@pytest.mark.parametrize(("pipeline", "name"), [("p-sales", "Sales"), ("p-partners", "Partners")])
def test_f1_c6_kanban_human_output_shows_stages_cards_in_focus_order_and_badges(
    pipeline: str, name: str
) -> None:
    """F1, F3, F4, C6: a header, each stage with its total, then its cards in the order of
    --json, each with its badge, and a dot before an unread card."""
    lines = _kanban_lines("u-marek", pipeline)
    assert lines[0] == f"{name} (deal) as seen by u-marek at {AT}"
    board = run_json(
        "kanban",
        SAMPLE,
        "--entity",
        "deal",
        "--pipeline",
        pipeline,
        "--viewer",
        "u-marek",
        "--at",
        AT,
    )
    expected = [lines[0]]
    for column in board["columns"]:
        expected += ["", f"== {column['stage']} ({column['total']}) =="]
        for card in column["cards"]:
            badge = card["badge"]
            shown = f"[{badge['colour']} {badge['number']}{'•' if badge['dot'] else ''}]"
            mark = "● " if card["unread"] else "  "
            expected.append(f"  {mark}{shown:<12} {card['item_id']:<14} {card['title']}")
    assert lines == expected
    unread = [card for column in board["columns"] for card in column["cards"] if card["unread"]]
    assert sum(line.startswith("  ● ") for line in lines) == len(unread)
    if pipeline == "p-partners":
        assert unread  # the dot is checked, not only its absence


def test_c7_kanban_human_output_hides_badges_the_viewer_may_not_read() -> None:
    """C7: Piotr (level own) sees his cards' badges, and none on his colleagues' cards."""
    owners = {
        card["item_id"]: card["responsible_id"]
        for column in run_json(
            "kanban",
            SAMPLE,
            "--entity",
            "deal",
            "--pipeline",
            "p-sales",
            "--viewer",
            "u-piotr",
            "--at",
            AT,
        )["columns"]
        for card in column["cards"]
    }
    cards = [line for line in _kanban_lines("u-piotr") if line.startswith("  ")]
    assert len(cards) == len(owners)
    for line in cards:
        [item_id] = [word for word in line.split() if word in owners]
        assert ("[" in line) == (owners[item_id] == "u-piotr"), line
    assert any("[" in line for line in cards)
    assert not all("[" in line for line in cards)


@pytest.mark.parametrize(
    "argv",
    [
        ["view", SAMPLE, "--user", "u-anna", "--viewer", "u-piotr", "--at", AT],
        ["view", SAMPLE, "--user", "u-anna", "--viewer", "u-piotr", "--at", AT, "--json"],
        ["explain", SAMPLE, "--item", "deal-015", "--viewer", "u-keala", "--at", AT],
    ],
)
def test_c7_view_and_explain_for_a_viewer_without_access_are_refused(argv: list[str]) -> None:
    """C7: reading another user's items without access is an error line, never an empty view."""
    code, out, err = run(*argv)
    assert (code, out) == (1, "")
    assert err.startswith("crmcounters: error: user ")
    assert "may not read the counters or items of user" in err
    assert err.count("\n") == 1


def test_c7_kanban_for_an_unknown_viewer_is_refused() -> None:
    """A --viewer that is not a user of the portal is an error, not a board without badges."""
    code, out, err = run(
        "kanban",
        SAMPLE,
        "--entity",
        "deal",
        "--pipeline",
        "p-sales",
        "--viewer",
        "u-ghost",
        "--at",
        AT,
    )
    assert (code, out) == (1, "")
    assert err == "crmcounters: error: unknown user id 'u-ghost'\n"


def test_kanban_without_a_viewer_reads_as_the_portals_all_access_user() -> None:
    """The sample grants u-marek level all: he is the default board reader."""
    data = run_json("kanban", SAMPLE, "--entity", "deal", "--pipeline", "p-sales", "--at", AT)
    assert data["viewer_id"] == "u-marek"


def test_x1_explain_says_why_with_rule_numbers() -> None:
    """X1: counted, placed and ordered, each reason tagged with its rule."""
    code, out, _ = run("explain", SAMPLE, "--item", "deal-015", "--at", AT)
    assert code == 0
    for tag in ("[C2]", "[C3]", "[C4]", "[C6]", "[V1]", "[V2]"):
        assert tag in out
    assert "focus time" in out
    data = run_json("explain", SAMPLE, "--item", "deal-015", "--at", AT)
    assert data["column"] == "today"
    assert data["focus"]["rule"] == "F2"


def test_s1_suggest_gives_a_draft_or_the_reason() -> None:
    """S1, S2: deal-038 has no open activity; deal-015 has some."""
    data = run_json("suggest", SAMPLE, "--item", "deal-038", "--user", "u-carlos", "--at", AT)
    assert data["suggested"] is True
    assert data["text"] == "Contact the client"
    assert data["deadline"].startswith("2026-12-17T01:00:00-08:00")  # Mon 01:00 LA + 3 days
    refused = run_json("suggest", SAMPLE, "--item", "deal-015", "--user", "u-piotr", "--at", AT)
    assert refused == refused | {"suggested": False, "reason": "open_activity_exists"}
    code, out, _ = run(
        "suggest", SAMPLE, "--item", "deal-038", "--user", "u-linh", "--at", AT, "--locale", "vi"
    )
    assert code == 0
    assert "Liên hệ" in out


def test_r1_simulate_prints_the_timeline_of_effects() -> None:
    """R1, R4, R6: the 24-hour notification fires at the job's own instant."""
    data = run_json(
        "simulate",
        SAMPLE,
        "--rules",
        RULES,
        "--from",
        "2026-12-14T08:00+01:00",
        "--to",
        "2026-12-15T18:00+01:00",
    )
    kinds = {effect["kind"] for effect in data["effects"]}
    assert {"notify", "history", "create task"} <= kinds
    assert all(effect["at"] >= "2026-12-14T07:00" for effect in data["effects"])
    code, out, _ = run(
        "simulate",
        SAMPLE,
        "--rules",
        RULES,
        "--from",
        "2026-12-14T08:00+01:00",
        "--to",
        "2026-12-15T18:00+01:00",
    )
    assert code == 0
    assert "has not moved" in out


def _entered_proposal_rules(tmp_path: Path) -> str:
    """An immediate rule on the sample's "proposal" stage (deal-022 entered it on 27 Nov)."""
    rules = {
        "format": "crmcounters.rules",
        "version": 1,
        "rules": [
            {
                "id": "r-imm",
                "entity_type": "deal",
                "pipeline_id": "p-sales",
                "stage_id": "proposal",
                "action": {"type": "notify_supervisor", "text": "{{Title}} entered proposal"},
            }
        ],
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return str(path)


def test_r1_simulate_runs_rules_of_a_later_entry_when_it_happens(tmp_path: Path) -> None:
    """R1: an entry after --from runs its rules at its own instant; one after --to not at all."""
    rules = _entered_proposal_rules(tmp_path)
    start, end = "2026-11-20T00:00:00+01:00", "2026-11-30T00:00:00+01:00"
    data = run_json("simulate", SAMPLE, "--rules", rules, "--from", start, "--to", end)
    when = {effect["item_id"]: effect["at"] for effect in data["effects"]}
    assert when == {
        "deal-034": start,  # entered in October: its rule runs at --from
        "deal-032": start,
        "deal-022": "2026-11-27T11:00:00+01:00",  # entered during the run
    }
    early = run_json(
        "simulate", SAMPLE, "--rules", rules, "--from", start, "--to", "2026-11-25T00:00+01:00"
    )
    assert {effect["item_id"] for effect in early["effects"]} == {"deal-034", "deal-032"}


def test_demo_walks_a_working_day() -> None:
    """The demo: 08:00 to 18:00, counters light, a client writes, a smart activity, rules."""
    code, out, err = run("demo", SAMPLE, "--rules", RULES)
    assert (code, err) == (0, "")
    assert "──────── 08:00 Europe/Warsaw ────────" in out
    assert "──────── 18:00 Europe/Warsaw ────────" in out
    assert "writes an e-mail: Incoming +1" in out
    assert "smart activity 'Contact the client'" in out
    assert "rule at 08:00: notify" in out  # deals left in New over the weekend (R1, R4)
    assert "rule at 15:00: create task" in out  # the afternoon move enters a stage with rules
    assert "\x1b[" not in out  # plain text when not a terminal


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["counters", "missing.json", "--user", "u"], "portal missing.json: no such file"),
        (["counters", SAMPLE, "--user", "nobody", "--at", AT], "unknown user id 'nobody'"),
        (["counters", SAMPLE, "--user", "u-piotr", "--at", "2026-12-14T10:00"], "naive datetime"),
        (["counters", SAMPLE, "--user", "u-piotr", "--at", "tomorrow"], "not an ISO 8601"),
        (["explain", SAMPLE, "--item", "deal-999", "--at", AT], "unknown item id 'deal-999'"),
        (
            ["kanban", SAMPLE, "--entity", "lead", "--pipeline", "p-sales", "--at", AT],
            "is for deal",
        ),
        (
            ["simulate", SAMPLE, "--rules", RULES, "--from", AT, "--to", "2026-12-13T10:00+01:00"],
            "before the start",
        ),
        (
            ["counters", SAMPLE, "--user", "u-piotr", "--at", "9999-12-31T23:59:00-05:00"],
            "--at: '9999-12-31T23:59:00-05:00' is out of range; use an instant between",
        ),
        (
            ["view", SAMPLE, "--user", "u-tama", "--at", "0001-01-01T00:00+01:00"],
            "is out of range",
        ),
        (
            ["simulate", SAMPLE, "--rules", RULES, "--from", AT, "--to", "9999-12-31T12:00Z"],
            "--to: '9999-12-31T12:00Z' is out of range",
        ),
    ],
)
def test_errors_are_one_clear_line_and_exit_1(argv: list[str], words: str) -> None:
    """Missing file, unknown ids, naive datetimes, bad ranges: one line, no traceback."""
    code, out, err = run(*argv)
    assert code == 1
    assert out == ""
    assert words in err
    assert err.startswith("crmcounters: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_bad_json_reports_its_path(tmp_path: Path) -> None:
    """A malformed portal names the JSON path of the fault."""
    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8"))
    document["activities"][2]["deadline"] = "2026-12-14T10:00"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    code, _, err = run("counters", str(broken), "--user", "u-piotr", "--at", AT)
    assert code == 1
    assert err.startswith(f"crmcounters: error: portal {broken}: $.activities[2].deadline: naive")


def test_a_date_at_the_end_of_the_calendar_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A deadline on 9999-12-31 is refused when the portal is loaded (G5), in one line."""
    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8"))
    [activity] = [a for a in document["activities"] if a["id"] == "act-187"]
    activity["deadline"] = "9999-12-31T23:59:00-05:00"
    far = tmp_path / "far.json"
    far.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run("explain", str(far), "--item", "deal-015", "--at", AT)
    assert (code, out) == (1, "")
    assert err.startswith(f"crmcounters: error: portal {far}: $.activities[")
    assert "].deadline: " in err
    assert "too near the edge of the datetime range" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("which", ["portal", "rules"])
def test_malformed_json_names_the_file(tmp_path: Path, which: str) -> None:
    """A portal or rules file that is not JSON: one line naming the file, line and column."""
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "crmcounters.portal", "users": [1,\n', encoding="utf-8")
    portal, rules = (str(broken), RULES) if which == "portal" else (SAMPLE, str(broken))
    code, out, err = run(
        "simulate", portal, "--rules", rules, "--from", AT, "--to", "2026-12-15T10:00+01:00"
    )
    assert (code, out) == (1, "")
    shown = "1 problem: $: invalid JSON" if which == "rules" else "$: invalid JSON"
    assert err.startswith(f"crmcounters: error: {which} {broken}: {shown} at line 2 column 1")
    assert err.count("\n") == 1


def test_r7_an_invalid_rules_file_is_one_line_listing_every_problem(tmp_path: Path) -> None:
    """R7: every problem of the rule set, on the one error line docs/cli.md promises."""
    rules = json.loads(Path(RULES).read_text(encoding="utf-8"))
    rules["rules"][0]["stage_id"] = "nope"
    rules["rules"][1]["timing"] = {"after": -5, "unit": "hours"}
    rules["triggers"][0]["change_stage_as"] = "u-ghost"
    bad = tmp_path / "bad_rules.json"
    bad.write_text(json.dumps(rules), encoding="utf-8")
    code, out, err = run(
        "simulate", SAMPLE, "--rules", str(bad), "--from", AT, "--to", "2026-12-15T10:00+01:00"
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"crmcounters: error: rules {bad}: 3 problems: $.rules[0].stage_id: ")
    assert "; $.rules[1].timing.after: a delay cannot be negative" in err
    assert "; $.triggers[0].change_stage_as: unknown user 'u-ghost'" in err
    assert err.count("\n") == 1


def test_r7_a1_a_rule_naming_an_unknown_activity_type_is_a_rules_problem(
    tmp_path: Path,
) -> None:
    """R7, A1: the CLI checks a rules file against the portal's activity types (and
    departments) too, and says so as a problem of the rules file, on one line."""
    rules = json.loads(Path(RULES).read_text(encoding="utf-8"))
    [schedule] = [r for r in rules["rules"] if r["action"]["type"] == "schedule_activity"]
    schedule["action"]["type_id"] = "no-such-type"
    bad = tmp_path / "typed_rules.json"
    bad.write_text(json.dumps(rules), encoding="utf-8")
    code, out, err = run(
        "simulate", SAMPLE, "--rules", str(bad), "--from", AT, "--to", "2026-12-15T10:00+01:00"
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"crmcounters: error: rules {bad}: 1 problem: $.rules[")
    assert "].action.type_id: unknown activity type 'no-such-type'" in err
    assert err.count("\n") == 1


def test_r1_demo_runs_the_rules_of_an_item_entering_a_stage_during_the_day(
    tmp_path: Path,
) -> None:
    """R1: a deal the data creates at 11:30 gets its immediate rule at 11:30, not at 08:00."""
    document = json.loads(Path(SAMPLE).read_text(encoding="utf-8"))
    [template] = [item for item in document["items"] if item["id"] == "deal-002"]
    document["items"].append(
        template | {"id": "deal-900", "stage_id": "new", "created_at": "2026-12-14T11:30:00+01:00"}
    )
    portal = tmp_path / "portal.json"
    portal.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run("demo", str(portal), "--rules", RULES, "--at", AT)
    assert (code, err) == (0, "")
    noon = out.index("──────── 12:00 Europe/Warsaw ────────")
    line = "rule at 11:30: create activity on deal-900"
    assert out.index(line) > noon
    assert out.count("on deal-900") == 1


def test_demo_runs_from_any_directory_on_the_shipped_sample(tmp_path: Path) -> None:
    """`crmcounters demo` needs no clone: the sample portal and rules are package data."""
    done = subprocess.run(
        [sys.executable, "-m", "crmcounters", "demo", "--at", AT],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("crmcounters demo — Sample portal")
    assert "──────── 18:00 Europe/Warsaw ────────" in done.stdout


def test_demo_offers_no_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo` is a show for people: --json is a usage mistake, not silently ignored."""
    with pytest.raises(SystemExit) as caught:
        run("demo", "--json")
    assert caught.value.code == 2
    assert "unrecognized arguments: --json" in capsys.readouterr().err


def test_python_dash_m_and_usage_errors() -> None:
    """`python -m crmcounters` runs; a usage mistake exits 2 with argparse's message."""
    ok = subprocess.run(
        [sys.executable, "-m", "crmcounters", "counters", SAMPLE, "--user", "u-tama", "--at", AT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Counters of Tama Teiaua" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "crmcounters", "counters", SAMPLE],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "--user" in bad.stderr
    assert "Traceback" not in bad.stderr
