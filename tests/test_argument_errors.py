"""Bad arguments to the smart-activity and focus functions (G5): a library error naming them.

Each case used to escape as a raw AttributeError or TypeError from deep inside.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from _build_smart import PL, WARSAW, add_item, portal
from crmcounters import (
    FocusColumn,
    FocusTimeline,
    OptOutPeriod,
    SmartActivityOptOut,
    User,
    ValidationError,
    opt_out_until,
    rank_by_focus,
    smart_activity_deadline,
    suggest_smart_activity,
)

NOW = datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW)
ANNA = User(id="u1", name="Anna", time_zone="Europe/Warsaw")
OPT_OUT = SmartActivityOptOut.choose(user=ANNA, entity_type="deal", period="today", now=NOW)
TIMELINE = FocusTimeline(item_id="a", created_at=NOW)


def _suggest(**kwargs: object) -> object:
    storage = portal()
    add_item(storage)
    return suggest_smart_activity(storage, "i1", "u1", NOW, **kwargs)  # type: ignore[arg-type]


CASES: dict[str, tuple[Callable[[], object], str, str]] = {
    # id: (call, field, words the message must hold)
    "suggest calendar as a country code": (
        lambda: _suggest(calendar="PL"),
        "calendar",
        "BusinessCalendar",
    ),
    "deadline without a calendar": (
        lambda: smart_activity_deadline(NOW, WARSAW, None),  # type: ignore[arg-type]
        "calendar",
        "BusinessCalendar",
    ),
    "deadline zone as a number": (
        lambda: smart_activity_deadline(NOW, 5, PL),  # type: ignore[arg-type]
        "time_zone",
        "tzinfo",
    ),
    "deadline zone as an unknown name": (
        lambda: smart_activity_deadline(NOW, "Mars/Olympus", PL),
        "time_zone",
        "unknown IANA time zone",
    ),
    "one opt-out without a list": (
        lambda: _suggest(opt_outs=OPT_OUT),
        "opt_outs",
        "wrap it in a list",
    ),
    "opt-outs as a number": (
        lambda: _suggest(opt_outs=5),
        "opt_outs",
        "wrap it in a list",
    ),
    "one opt-out as a dict": (
        lambda: _suggest(opt_outs=OPT_OUT.to_dict()),
        "opt_outs",
        "got one dict",
    ),
    "an opt-out list holding something else": (
        lambda: _suggest(opt_outs=[OPT_OUT, "u1"]),
        "opt_outs[1]",
        "expected a SmartActivityOptOut",
    ),
    "opt_out_until for a user id": (
        lambda: opt_out_until("today", NOW, "w"),  # type: ignore[arg-type]
        "user",
        "expected the User",
    ),
    "choose for a user id": (
        lambda: SmartActivityOptOut.choose(
            user="w",  # type: ignore[arg-type]
            entity_type="deal",
            period="today",
            now=NOW,
        ),
        "user",
        "expected the User",
    ),
    "period in capitals": (
        lambda: opt_out_until("TODAY", NOW, ANNA),
        "period",
        "today, this_week, this_month, for_good",
    ),
    "period as a number": (
        lambda: SmartActivityOptOut.choose(
            user=ANNA,
            entity_type="deal",
            period=1,  # type: ignore[arg-type]
            now=NOW,
        ),
        "period",
        "today, this_week, this_month, for_good",
    ),
    "rank item ids instead of timelines": (
        lambda: rank_by_focus(["a", "b"], NOW),  # type: ignore[list-item]
        "timelines[0]",
        "expected a FocusTimeline",
    ),
    "rank a list with one stray value": (
        lambda: rank_by_focus([TIMELINE, None], NOW),  # type: ignore[list-item]
        "timelines[1]",
        "expected a FocusTimeline",
    ),
    "rank one timeline without a list": (
        lambda: rank_by_focus(TIMELINE, NOW),  # type: ignore[arg-type]
        "timelines",
        "wrap it in a list",
    ),
    "column of item ids": (
        lambda: FocusColumn(timelines=("a",)),  # type: ignore[arg-type]
        "timelines[0]",
        "expected a FocusTimeline",
    ),
    "timeline with one instant without a list": (
        lambda: FocusTimeline(item_id="a", created_at=NOW, instants=NOW),  # type: ignore[arg-type]
        "instants",
        "wrap it in a list",
    ),
}


@pytest.mark.parametrize(("call", "field", "words"), CASES.values(), ids=CASES.keys())
def test_g5_a_bad_argument_is_a_validation_error_naming_it(
    call: Callable[[], object], field: str, words: str
) -> None:
    """G5: a wrong argument raises `ValidationError` with its name and what to pass instead."""
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field
    assert words in caught.value.problem


def test_s3_period_names_and_values_convert() -> None:
    """S3: a period may be given as an `OptOutPeriod` or as its string value."""
    for period in OptOutPeriod:
        assert opt_out_until(period, NOW, ANNA) == opt_out_until(period.value, NOW, ANNA)


def test_g5_opt_outs_may_be_any_collection() -> None:
    """S3: a tuple, a set or a generator of opt-outs is as good as a list."""
    for opt_outs in ((OPT_OUT,), {OPT_OUT}, (one for one in [OPT_OUT])):
        answer = _suggest(opt_outs=opt_outs)
        assert getattr(answer, "until", None) == OPT_OUT.until
