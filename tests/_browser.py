"""What the explorer's browser tests share: tools/screenshots.py, and when to skip or fail.

tools/screenshots.py is how the project launches Chromium, serves the sample
and stamps screenshots; the tests use the same code.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Set by .ci/run: there, a missing browser fails the browser tests instead of skipping them.
REQUIRE = "CRMCOUNTERS_REQUIRE_BROWSER"


def _load_tool() -> Any:
    path = ROOT / "tools" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("screenshots", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["screenshots"] = module
    spec.loader.exec_module(module)
    return module


TOOL = _load_tool()


def stop_without_browser() -> None:
    """Return when Chromium and playwright are here; else skip with the reason, or fail
    with it when CRMCOUNTERS_REQUIRE_BROWSER=1 (CI never passes without the browser tests)."""
    reason = TOOL.missing()
    if reason is None:
        return
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"the browser tests must run here: {reason}")
    pytest.skip(reason)
