"""Every ```python block in docs/ and README.md runs (a doc that lies is worse than none)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        for number, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8")), start=1):
            found.append((page.relative_to(ROOT).as_posix(), number, match.group(1)))
    return found


@pytest.mark.parametrize(("page", "number", "code"), _blocks(), ids=lambda v: str(v)[:30])
def test_doc_code_block_runs(page: str, number: int, code: str) -> None:
    """Each block is a complete script, run from the repository root in a fresh namespace."""
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        exec(compile(code, f"{page}[block {number}]", "exec"), {"__name__": "__doc_block__"})  # noqa: S102
    finally:
        os.chdir(previous)
