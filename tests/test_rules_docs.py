"""docs/rules.md: every python block runs, prints what the page shows, and the JSON is the file."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]


def _python_blocks() -> list[tuple[str, str | None]]:
    """Each python block with the text block right after it, if any (its expected output)."""
    blocks = _blocks()
    found = []
    for index, (language, code) in enumerate(blocks):
        if language == "python":
            after = blocks[index + 1] if index + 1 < len(blocks) else None
            found.append((code, after[1] if after and after[0] == "text" else None))
    return found


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_docs_rules_python_block_runs_and_prints_what_the_page_says(index: int) -> None:
    code, expected = _python_blocks()[index]
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{PAGE.name}[python {index}]", "exec"), {"__name__": "__doc__"})  # noqa: S102 - running our own docs
    finally:
        os.chdir(cwd)
    if expected is not None:
        assert out.getvalue() == expected


def test_docs_rules_json_block_is_the_sample_rule_set_file() -> None:
    [doc_json] = [code for language, code in _blocks() if language == "json"]
    sample = ROOT / "src" / "crmcounters" / "_sample" / "sample_rules.json"
    assert json.loads(doc_json) == json.loads(sample.read_text(encoding="utf-8"))
