"""Every ```python block of docs/counters.md runs as a script (the docs cannot drift)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "counters.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples() -> None:
    """The page keeps its worked examples (C5, C9, C7, V1, X1, the index)."""
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_docs_counters_example_runs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block is a complete script: run it from the repository root, fresh namespace."""
    monkeypatch.chdir(ROOT)
    code = compile(source, str(PAGE), "exec")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, {"__name__": "__main__"})  # noqa: S102  # our own documentation
    assert os.getcwd() == str(ROOT)
