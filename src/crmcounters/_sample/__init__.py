"""The sample portal and rule set, shipped inside the package as data.

`crmcounters demo` runs on them from any directory; the docs and examples
read the same files (`src/crmcounters/_sample/*.json` in a clone), and
`tools/make_sample_portal.py` writes the portal: change the script, not the
file.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["SAMPLE_PORTAL", "SAMPLE_RULES", "sample_bytes"]

#: The file name of the sample portal (docs/data-format.md).
SAMPLE_PORTAL = "sample_portal.json"
#: The file name of the sample rule set, written for the portal's "Sales" pipeline.
SAMPLE_RULES = "sample_rules.json"


def sample_bytes(name: str) -> bytes:
    """The bytes of one shipped sample file, wherever the package is installed."""
    return files(__name__).joinpath(name).read_bytes()
