"""The sample portal and rule set, shipped inside the package as data.

`crmcounters demo` runs on them from any directory; the docs and examples
read the same files (`src/crmcounters/_sample/*.json` in a clone), and
`tools/make_sample_portal.py` writes the portal: change the script, not the
file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._portal import Portal, load_portal

if TYPE_CHECKING:
    from ..rules import RuleSet

__all__ = ["SAMPLE_PORTAL", "SAMPLE_RULES", "sample_bytes", "sample_portal", "sample_rules"]

#: The file name of the sample portal (docs/data-format.md).
SAMPLE_PORTAL = "sample_portal.json"
#: The file name of the sample rule set, written for the portal's "Sales" pipeline.
SAMPLE_RULES = "sample_rules.json"


def sample_bytes(name: str) -> bytes:
    """The bytes of one shipped sample file, wherever the package is installed."""
    from importlib.resources import files  # here: it imports zipfile and pathlib (issue 15)

    return files(__name__).joinpath(name).read_bytes()


def sample_portal() -> Portal:
    """A fresh copy of the sample portal the docs, examples and `crmcounters demo` use.

    Eight users in four time zones and departments, deals and leads with open,
    lit, overdue and incoming activities, as of 2026-12-14 10:00 Warsaw time
    (`Portal.as_of`); each call loads a new in-memory copy, so writes to one
    never show in another.
    """
    return load_portal(sample_bytes(SAMPLE_PORTAL))


def sample_rules() -> RuleSet:
    """The sample rule set, written for the sample portal's "Sales" pipeline (R1-R7)."""
    from ..rules import load_rule_set  # here: the rule engine is imported on first use (issue 15)

    storage = sample_portal().storage
    return load_rule_set(
        sample_bytes(SAMPLE_RULES),
        pipelines=storage.pipelines(),
        user_ids={user.id for user in storage.users()},
    )
