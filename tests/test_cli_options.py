"""The command line's common options: --version, help everywhere, one default instant, -v,
progress on a terminal (docs/cli.md)."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import logging
from pathlib import Path

import pytest

import crmcounters
from crmcounters._cli import build_parser, main
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
AS_OF = "2026-12-14T10:00:00+01:00"
#: The portal's as_of as the library holds it: in UTC.
AS_OF_UTC = "2026-12-14T09:00:00+00:00"


def run(*argv: str, stderr: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), stderr or io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_version_is_the_one_version_of_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package's version, which is also the installed metadata's."""
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"crmcounters {crmcounters.__version__}\n"
    assert importlib.metadata.version("crmcounters") == crmcounters.__version__


def test_every_option_of_every_command_has_help() -> None:
    """`crmcounters COMMAND --help` explains each option and argument."""
    parser, _ = build_parser()
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    assert set(subparsers.choices) >= {"counters", "view", "kanban", "explain", "serve", "demo"}
    for name, command in subparsers.choices.items():
        for action in command._actions:
            assert action.help, f"crmcounters {name} {action.option_strings or action.dest}"
    for action in parser._actions:
        assert action.help, action.option_strings


@pytest.mark.parametrize(
    "argv",
    [
        ["counters", SAMPLE, "--user", "u-piotr"],
        ["view", SAMPLE, "--user", "u-keala"],
        ["kanban", SAMPLE, "--entity", "deal", "--pipeline", "p-sales"],
        ["explain", SAMPLE, "--item", "deal-015"],
        ["suggest", SAMPLE, "--item", "deal-038", "--user", "u-carlos"],
    ],
    ids=lambda argv: argv[0],
)
def test_x2_every_command_defaults_to_the_portals_as_of_and_says_so(argv: list[str]) -> None:
    """X2: without --at a command answers for the portal's as_of (as the docs and demo do),
    prints that instant and where it came from first, and equals the answer with --at."""
    code, out, err = run(*argv)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"now: {AS_OF_UTC} (the portal's as_of; --at changes it)"
    _, pinned, _ = run(*argv, "--at", AS_OF)
    assert pinned.splitlines()[0] == f"now: {AS_OF} (--at)"
    assert out.splitlines()[1:] == pinned.splitlines()[1:]
    _, as_json, _ = run(*argv, "--json")
    assert json.loads(as_json)  # JSON stays a document: no extra line
    _, json_pinned, _ = run(*argv, "--json", "--at", AS_OF)
    assert as_json == json_pinned


def test_x2_a_portal_without_as_of_answers_for_the_clock(tmp_path: Path) -> None:
    """X2: no --at and no as_of in the portal: the system clock, and the output says so."""
    document = json.loads(sample_bytes(SAMPLE_PORTAL))
    del document["as_of"]
    portal = tmp_path / "no_as_of.json"
    portal.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run("counters", str(portal), "--user", "u-piotr")
    assert (code, err) == (0, "")
    first = out.splitlines()[0]
    assert first.startswith("now: ")
    assert first.endswith(" (the clock; --at changes it)")


def _big_portal(path: Path, copies: int) -> int:
    """The sample with its items and activities repeated `copies` times; its record count."""
    document = json.loads(sample_bytes(SAMPLE_PORTAL))
    items, activities = list(document["items"]), list(document["activities"])
    for copy in range(copies):
        document["items"] += [{**item, "id": f"{item['id']}-{copy}"} for item in items]
        document["activities"] += [
            {
                **activity,
                "id": f"{activity['id']}-{copy}",
                "item_ids": [f"{one}-{copy}" for one in activity["item_ids"]],
            }
            for activity in activities
        ]
    path.write_text(json.dumps(document), encoding="utf-8")
    sections = ("users", "departments", "pipelines", "items", "activities", "tasks", "events")
    return sum(len(document[section]) for section in sections)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_load_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    """Loading 10,000 records or more draws a progress line on standard error when it is a
    terminal; piped or redirected, standard error stays quiet."""
    portal = tmp_path / "big.json"
    total = _big_portal(portal, 40)
    assert total >= 10_000
    terminal = _Terminal()
    code, _, err = run("counters", str(portal), "--user", "u-piotr", stderr=terminal)
    assert code == 0
    assert f"\rloading 1,000 / {total:,} records (" in err
    assert err.endswith(f"\rloading {total:,} / {total:,} records (100%)\n")
    code, _, quiet = run("counters", str(portal), "--user", "u-piotr")
    assert (code, quiet) == (0, "")


def test_verbose_logs_the_load_on_stderr_and_leaves_logging_as_it_was() -> None:
    """-v shows the library's INFO records (the portal load) on standard error; -vv DEBUG;
    without -v nothing; after the run the logger is as it was (silent)."""
    logger = logging.getLogger("crmcounters")
    before = (logger.level, list(logger.handlers))
    code, _, err = run("counters", SAMPLE, "--user", "u-piotr", "-v")
    assert code == 0
    assert err.startswith("crmcounters: loaded a portal: 372 records (8 users, 60 items")
    assert (logger.level, list(logger.handlers)) == before
    assert run("counters", SAMPLE, "--user", "u-piotr")[2] == ""
    code, _, err = run(
        "simulate",
        SAMPLE,
        "--rules",
        str(ROOT / "src" / "crmcounters" / "_sample" / "sample_rules.json"),
        "--from",
        "2026-12-14T08:00+01:00",
        "--to",
        "2026-12-15T18:00+01:00",
        "-v",
    )
    assert code == 0
    assert "crmcounters: rules ran on StageChanged of item" in err
