"""The command line over a database: `--db` on every reading command, `import` and `export`.

SPEC G1 (a database portal answers as the file does), G5 (import is all or
nothing), C7 (the stored access policy applies), R1 (simulate never writes).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _sql_backends import BACKENDS, fresh_database
from crmcounters import dump_portal, sample_portal
from crmcounters._cli import main
from crmcounters.sql import open_storage

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
RULES = str(ROOT / "src" / "crmcounters" / "_sample" / "sample_rules.json")
AT = "2026-12-14T10:00:00+01:00"


class Terminal(io.StringIO):
    """Standard error as a terminal: progress lines are drawn."""

    def isatty(self) -> bool:
        return True


def run(*argv: str, err: io.StringIO | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), err if err is not None else io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL holding the sample portal, imported through the CLI."""
    with fresh_database(request.param, tmp_path) as url:
        code, out, err = run("import", SAMPLE, "--db", url)
        assert (code, err) == (0, "")
        assert out.startswith("imported 372 records from ")
        yield url


READS = [
    ["counters", "--user", "u-piotr", "--viewer", "u-anna"],
    ["view", "--user", "u-piotr"],
    ["kanban", "--entity", "deal", "--pipeline", "p-sales"],
    ["explain", "--item", "deal-015"],
    ["suggest", "--item", "deal-022", "--user", "u-piotr"],
    ["simulate", "--rules", RULES, "--from", AT, "--to", "2026-12-15T10:00:00+01:00"],
    ["counters", "--user", "u-piotr", "--entity", "deal", "--pipeline", "p-sales"],  # C10
    ["reminders", "--to", "2026-12-16T10:00:00+01:00"],  # N1
    ["reminders", "--user", "u-linh", "--from", AT, "--to", "2026-12-21T10:00:00+01:00"],
]


@pytest.mark.parametrize("argv", READS, ids=lambda argv: argv[0])
def test_g1_c7_every_reading_command_answers_alike_from_the_file_and_the_database(
    database: str, argv: list[str]
) -> None:
    """The same --json document from PORTAL and --db (access levels came along: C7)."""
    from_file = run(argv[0], SAMPLE, *argv[1:], "--at", AT, "--json")
    from_db = run(argv[0], "--db", database, *argv[1:], "--at", AT, "--json")
    assert from_file[0] == 0, from_file[2]
    assert from_db == from_file


def test_r1_simulate_and_demo_on_a_database_leave_it_unchanged(database: str) -> None:
    """Rules run on an in-memory copy: the database is what was imported."""
    code, out, _ = run("demo", "--db", database, "--at", AT)
    assert code == 0
    assert "End of day:" in out
    code, _, _ = run(
        "simulate", "--db", database, "--rules", RULES, "--from", AT, "--to", "2026-12-16T10:00Z"
    )
    assert code == 0
    with open_storage(database) as storage:
        assert dump_portal(storage.portal()) == dump_portal(sample_portal())


def test_g1_export_writes_the_imported_document_back_unchanged(
    database: str, tmp_path: Path
) -> None:
    """JSON -> database -> JSON, through the command line; `-` writes to stdout."""
    target = tmp_path / "back.json"
    code, _, err = run("export", "--db", database, str(target))
    assert code == 0
    assert err == f"exported 372 records to {target}\n"
    assert target.read_text(encoding="utf-8") == Path(SAMPLE).read_text(encoding="utf-8")
    code, out, _ = run("export", "--db", database, "-")
    assert code == 0
    assert json.loads(out) == json.loads(Path(SAMPLE).read_text(encoding="utf-8"))


def test_g5_importing_into_a_database_that_holds_a_portal_is_refused(database: str) -> None:
    """A second import changes nothing and says why on one line."""
    code, out, err = run("import", SAMPLE, "--db", database)
    assert (code, out) == (1, "")
    assert err == (
        "crmcounters: error: storage: the database already holds 372 records; "
        "import into an empty one\n"
    )


def test_import_and_export_draw_progress_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress lines go to standard error when it is a terminal and the portal is large."""
    monkeypatch.setattr("crmcounters._cli.PROGRESS_FROM", 100)
    terminal = Terminal()
    code, _, err = run("import", SAMPLE, "--db", str(tmp_path / "a.db"), err=terminal)
    assert code == 0
    assert "\rimporting 372 / 372 records (100%)\n" in err
    code, _, err = run("export", "--db", str(tmp_path / "a.db"), "-", err=Terminal())
    assert "\rexporting 372 / 372 records (100%)\n" in err
    code, _, err = run("import", SAMPLE, "--db", str(tmp_path / "b.db"))  # not a terminal
    assert (code, err) == (0, "")
    monkeypatch.setattr("crmcounters._cli.PROGRESS_FROM", 10_000)
    code, _, err = run("import", SAMPLE, "--db", str(tmp_path / "c.db"), err=Terminal())
    assert (code, err) == (0, "")  # a small portal: no progress


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["counters", "--db", "missing.db", "--user", "u"], "--db: url: no SQLite database at"),
        (["counters", "--db", "oracle://x", "--user", "u"], "unknown database scheme 'oracle'"),
        (["counters", "--db", SAMPLE, "--user", "u"], "--db: url: not a SQLite database"),
        (["export", "--db", "missing.db", "out.json"], "no SQLite database at missing.db"),
        (["import", "missing.json", "--db", "x.db"], "portal missing.json: no such file"),
    ],
)
def test_database_errors_are_one_line_and_exit_1(
    argv: list[str], words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that cannot be opened is one `crmcounters: error:` line, never a traceback."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*argv)
    assert (code, out) == (1, "")
    assert err.startswith("crmcounters: error: ")
    assert words in err
    assert err.count("\n") == 1
    assert not (tmp_path / "missing.db").exists()
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["counters", SAMPLE, "--db", "x.db", "--user", "u"],  # both
        ["counters", "--user", "u"],  # neither
        ["import", SAMPLE],  # no target
        ["export", "out.json"],  # no source
    ],
)
def test_portal_and_db_are_one_or_the_other_usage_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Giving both PORTAL and --db, or neither, is a usage mistake (argparse, exit 2)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: crmcounters" in capsys.readouterr().err
