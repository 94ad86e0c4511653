"""docs/focus.md runs as written, and every public focus name is documented."""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import re
from pathlib import Path

import pytest

import crmcounters
from crmcounters import focus

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "focus.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_focus_page_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_each_python_block_of_the_focus_page_runs(index: int) -> None:
    out = io.StringIO()
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(BLOCKS[index], f"docs/focus.md block {index}", "exec"), {})  # noqa: S102
    finally:
        os.chdir(cwd)


def test_the_printed_explanation_in_the_page_is_what_the_example_prints() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(BLOCKS[0], "docs/focus.md block 0", "exec"), {})  # noqa: S102
    printed = out.getvalue().splitlines()[0]
    shown = re.search(r"```text\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert shown is not None
    assert " ".join(shown.group(1).split()) == printed


@pytest.mark.parametrize("name", focus.__all__)
def test_every_public_focus_name_is_documented_and_exported(name: str) -> None:
    obj = getattr(focus, name)
    assert getattr(crmcounters, name) is obj
    assert name in crmcounters.__all__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert (obj.__doc__ or "").strip(), name
    assert f"`{name}" in PAGE.read_text(encoding="utf-8"), name
