"""What can be wrong with a rule set (R7), and with a cascade of rules (R6)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._errors import CrmCountersError

__all__ = ["CascadeError", "Problem", "RuleSetError"]


@attrs.frozen(kw_only=True)
class Problem:
    """One fault in a rule set: where (a JSON path such as ``$.rules[2].timing``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleSetError(CrmCountersError, ValueError):
    """A rule set was rejected whole; `problems` lists every fault, not just the first (R7)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"invalid rule set: {count} problem{'s' if count != 1 else ''}; "
            f"fix each and load it again\n{lines}"
        )


class CascadeError(CrmCountersError, RuntimeError):
    """Rules and triggers kept firing each other past the depth limit (R6).

    Raised before any effect is returned, so nothing is applied. `chain` lists
    the events of the cascade that went too deep, oldest first.
    """

    def __init__(self, item_id: str, max_depth: int, chain: Iterable[str]) -> None:
        self.item_id = item_id
        self.max_depth = max_depth
        self.chain: tuple[str, ...] = tuple(chain)
        shown = " -> ".join(self.chain[-8:])
        super().__init__(
            f"item {item_id!r}: rules and triggers did not settle within {max_depth} steps "
            f"(…{shown}); a trigger probably moves the item into a stage whose rules fire it "
            "again: break the loop or disallow moving to a previous stage"
        )
