"""Where a docs page shows a script's output, the script prints exactly that.

A ```python block followed directly by a ```text block promises its output.
`tests/test_docs.py` runs every block; this test also compares what the
block prints with what the page shows, for the pages that show outputs step
by step (the README, the quickstart, the Activities view, the comparison, production).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "README.md",
    "docs/comparison.md",
    "docs/explorer.md",
    "docs/production.md",
    "docs/quickstart.md",
    "docs/reminders.md",
    "docs/view.md",
]
PAIR = re.compile(r"^```python\n(.*?)^```\n\s*^```text\n(.*?)^```", re.DOTALL | re.MULTILINE)


def run_block(code: str, name: str) -> str:
    """Run one block from the repository root in a fresh namespace; return what it printed."""
    previous = Path.cwd()
    out = io.StringIO()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, name, "exec"), {"__name__": "__doc_block__"})  # noqa: S102
    finally:
        os.chdir(previous)
    return out.getvalue()


def _pairs() -> list[tuple[str, int, str, str]]:
    found = []
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for number, match in enumerate(PAIR.finditer(text), start=1):
            found.append((page, number, match.group(1), match.group(2)))
    return found


def test_each_page_shows_outputs() -> None:
    """The pages listed here do pair their scripts with outputs (the check is not empty)."""
    pages = {page for page, *_ in _pairs()}
    assert pages == set(PAGES)


@pytest.mark.parametrize(
    ("page", "number", "code", "shown"), _pairs(), ids=lambda v: str(v).split("\n")[0][:30]
)
def test_doc_block_prints_what_the_page_shows(
    page: str, number: int, code: str, shown: str
) -> None:
    """The output under a script is the script's output, line for line."""
    printed = run_block(code, f"{page}[output {number}]")
    assert printed.rstrip("\n").splitlines() == shown.rstrip("\n").splitlines()
