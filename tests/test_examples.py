"""Every script in examples/ runs and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))

#: What each example must print (a few lines that prove it did its job).
EXPECTED: dict[str, list[str]] = {
    "portal_tour.py": [
        "Sample portal: 8 users in 4 departments",
        "As of 2026-12-14T10:00:00+01:00",
        "Working day in PL: True",
        "Piotr Wiśniewski   Europe/Warsaw        supervisor Anna Kowalska",
        "Keala Kahale       Pacific/Honolulu     supervisor Carlos Rivera",
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
