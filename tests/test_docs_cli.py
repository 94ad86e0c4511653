"""Every command line the docs show runs, and prints what they show (docs/cli.md, README.md).

`tests/test_docs.py` runs the ```python blocks; this runs the shell ones, each
with `python -m crmcounters` from the repository root:

- a **transcript** is a ```text block whose lines starting with `$ crmcounters`
  are commands; the lines under one, up to the next command or the end of the
  block, are its output, compared line by line (trailing spaces aside). A last
  output line `...` (the elision marker) means the rest is left out;
- a ```sh block lists commands to copy (`crmcounters …` or
  `.venv/bin/crmcounters …`, a trailing backslash continuing a line): each
  must exit 0 with output and nothing on standard error. `crmcounters serve`
  runs until Ctrl+C: it is started on a free port, must print its URL and
  serve the page there, and then gets the Ctrl+C.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
PROMPT = "$ "
PROGRAMS = ("crmcounters", ".venv/bin/crmcounters")
#: An output line that stands for the lines left out, at the end of a transcript.
ELISION = "..."


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in FENCE.finditer(page.read_text(encoding="utf-8")):
            if match.group(1) == language:
                found.append((page.relative_to(ROOT).as_posix(), match.group(2)))
    return found


def _transcripts() -> list[tuple[str, str, list[str]]]:
    """(page, command, output lines shown) for each `$ crmcounters` line of a text block."""
    found: list[tuple[str, str, list[str]]] = []
    for page, code in _blocks("text"):
        output: list[str] | None = None  # lines before the first command are no output
        for line in code.splitlines():
            if line.startswith(PROMPT):
                output = []
                found.append((page, line[len(PROMPT) :], output))
            elif output is not None:
                output.append(line)
    return [one for one in found if one[1].split()[0] in PROGRAMS]


def _copied_commands() -> list[tuple[str, str]]:
    """(page, command) for each crmcounters command of a sh block, continuations joined."""
    found = []
    for page, code in _blocks("sh"):
        for command in code.replace("\\\n", " ").splitlines():
            if command.split() and command.split()[0] in PROGRAMS:
                found.append((page, command.split("#")[0].strip()))
    return found


def run_cli(command: str) -> subprocess.CompletedProcess[str]:
    """Run a command as the docs show it, as `python -m crmcounters`, from the repository root."""
    program, *argv = shlex.split(command)
    assert program in PROGRAMS, command
    return subprocess.run(
        [sys.executable, "-m", "crmcounters", *argv],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"},
        check=False,
        timeout=120,
    )


def test_the_docs_show_transcripts_and_commands() -> None:
    """The check is not empty: docs/cli.md has transcripts, the README commands to copy."""
    assert {page for page, _, _ in _transcripts()} >= {"docs/cli.md"}
    assert len(_transcripts()) >= 2
    assert {page for page, _ in _copied_commands()} >= {"README.md"}


@pytest.mark.parametrize(("page", "command", "shown"), _transcripts(), ids=lambda v: str(v)[:50])
def test_a_transcript_prints_what_the_page_shows(page: str, command: str, shown: list[str]) -> None:
    """The lines under `$ crmcounters …` are what the command prints (up to a final `...`)."""
    done = run_cli(command)
    assert (done.returncode, done.stderr) == (0, ""), f"{page}: {command}"
    printed = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
    expected = [line.rstrip() for line in shown]
    while expected and not expected[-1]:
        expected.pop()
    if expected and expected[-1].strip() == ELISION:
        expected.pop()
        printed = printed[: len(expected)]
    assert printed == expected, f"{page}: {command}"


def serve_cli(command: str) -> tuple[int, str, str]:
    """Run a `crmcounters serve` command as the docs show it, on a free port: wait for its
    URL, fetch the page, press Ctrl+C; return (exit code, stdout, stderr)."""
    program, *argv = shlex.split(command)
    assert program in PROGRAMS, command
    process = subprocess.Popen(
        [sys.executable, "-m", "crmcounters", *argv, "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.search(r"http://\S+/", first)
        assert url, f"{command}: printed {first!r}"
        with urllib.request.urlopen(url.group(0), timeout=30) as response:  # noqa: S310
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return process.returncode, first + out, err


@pytest.mark.parametrize(("page", "command"), _copied_commands(), ids=lambda v: str(v)[:50])
def test_a_command_to_copy_runs(page: str, command: str) -> None:
    """Each command a page offers to copy exits 0 and prints something, no error."""
    if shlex.split(command)[1] == "serve":
        code, out, err = serve_cli(command)
        assert (code, err) == (0, ""), f"{page}: {command}"
        assert out.strip(), f"{page}: {command}"
        return
    done = run_cli(command)
    assert (done.returncode, done.stderr) == (0, ""), f"{page}: {command}"
    assert done.stdout.strip(), f"{page}: {command}"
