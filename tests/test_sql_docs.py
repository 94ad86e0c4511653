"""docs/storage.md: its code blocks run (through test_docs.py) and the page is linked."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "storage.md"


def test_storage_page_is_linked_and_its_python_blocks_are_complete_scripts() -> None:
    """Every ```python block of the page compiles alone; tests/test_docs.py executes each one."""
    assert "(storage.md)" in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 3
    for number, code in enumerate(blocks, start=1):
        compile(code, f"docs/storage.md[block {number}]", "exec")
        assert "import" in code, f"block {number} must import what it uses"
