"""`import crmcounters` stays light: heavy modules load where they are used (issue 15).

No timing assertion: `python -X importtime` lists every module a fresh
interpreter imports, and these tests check which ones are on that list.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import crmcounters


def _imported_by(statement: str) -> set[str]:
    """The modules a fresh interpreter imports to run `statement`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    return modules


def test_import_leaves_holidays_dateutil_and_rules_for_later() -> None:
    """S2's public holidays and R1-R7's rule engine are imported on first use, not at import."""
    modules = _imported_by("import crmcounters")
    assert "crmcounters" in modules  # the listing is read right
    assert "crmcounters._calendar" in modules
    assert {"holidays", "dateutil", "crmcounters.rules"}.isdisjoint(modules)


def test_holidays_are_imported_when_a_calendar_needs_them() -> None:
    """S2: `BusinessCalendar.for_country` still finds Poland's public holidays."""
    modules = _imported_by(
        "import crmcounters as c; c.BusinessCalendar.for_country('PL', years=range(2026, 2027))"
    )
    assert "holidays" in modules


def test_lazily_exported_names_are_the_real_ones() -> None:
    """R1-R7: the rule names in `__all__` resolve on first use, at their public path."""
    from crmcounters import rules

    assert crmcounters.RuleEngine is rules.RuleEngine
    assert crmcounters.load_rule_set is rules.load_rule_set
    assert crmcounters.RuleHost.__module__ == "crmcounters"
    assert crmcounters.Worker.__module__ == "crmcounters"
    assert {"RuleEngine", "RuleHost", "Worker", "sample_rules"} <= set(dir(crmcounters))


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    """The lazy look-up refuses names the package does not export."""
    with pytest.raises(AttributeError, match="NoSuchName"):
        crmcounters.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
