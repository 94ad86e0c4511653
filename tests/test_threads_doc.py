"""docs/threads.md names every public class and says whether threads may share it."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "threads.md"
MODULES = [
    "crmcounters",
    "crmcounters.explorer",
    "crmcounters.focus",
    "crmcounters.rules",
    "crmcounters.sql",
    "crmcounters.testing",
]


def test_every_public_class_is_in_the_thread_table() -> None:
    """A new public type without a thread-sharing answer fails here (the brief's rule)."""
    text = PAGE.read_text(encoding="utf-8")
    table = text[text.index("## Every public type") :]
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute in module.__all__:
            if inspect.isclass(getattr(module, attribute)) and f"`{attribute}`" not in table:
                missing.append(f"{name}.{attribute}")
    assert not missing, f"docs/threads.md does not say whether threads may share {missing}"
    assert "(threads.md)" in (PAGE.parent / "index.md").read_text(encoding="utf-8")
