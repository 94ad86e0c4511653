"""Explain focus (X1): which event or reminder gives an item its place in its column."""

from __future__ import annotations

from datetime import datetime

import attrs

from .. import _validate as v
from .._storage import Storage
from ._sources import FocusSource, focus_sources
from ._timeline import timeline_of
from ._unread import is_unread

__all__ = ["FocusExplanation", "explain_focus"]


@attrs.frozen(kw_only=True)
class FocusExplanation:
    """Why an item has its focus time at `at` (F2, X1), and what lifts it next (F5).

    `source` is the event, comment, reminder or creation that set `focus_time`;
    `next_source` is the one that will lift it next (None if nothing will, and
    then `next_change` is None too). `unread` is F3's status for the item's
    responsible. `rule` names the SPEC rule behind `source`.
    """

    item_id: str
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    focus_time: datetime = attrs.field(converter=v.utc, validator=v.aware)
    source: FocusSource
    next_change: datetime | None = attrs.field(converter=v.optional_utc, validator=v.optional_aware)
    next_source: FocusSource | None
    unread: bool

    @property
    def rule(self) -> str:
        """The SPEC rule that sets the focus time (F2)."""
        return self.source.rule

    @property
    def text(self) -> str:
        """The explanation as one English paragraph."""
        lines = [
            f"Item {self.item_id!r} has focus time {self.focus_time.isoformat()} "
            f"at {self.at.isoformat()}: {self.source.describe()}."
        ]
        if self.next_source is not None:
            lines.append(f"It rises next at {self.next_source.describe()} (F5).")
        else:
            lines.append("Nothing scheduled will lift it further (F5).")
        if self.unread:
            lines.append("A client message is unread by its responsible (F3).")
        return " ".join(lines)


def explain_focus(storage: Storage, item_id: str, now: datetime) -> FocusExplanation:
    """Explain the item's focus time at `now`: the source that set it and the next rise."""
    now = v.instant("now", now)
    sources = focus_sources(storage, item_id)
    timeline = timeline_of(sources)
    focus = timeline.focus_time(now)
    rise = timeline.next_change(now)
    # Sources are oldest first and, at one instant, the most telling last.
    source = [one for one in sources if one.at == focus][-1]
    next_source = None if rise is None else [one for one in sources if one.at == rise][-1]
    return FocusExplanation(
        item_id=item_id,
        at=now,
        focus_time=focus,
        source=source,
        next_change=rise,
        next_source=next_source,
        unread=is_unread(storage, item_id, now),
    )
