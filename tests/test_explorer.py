"""The explorer's page: every number, badge and order it shows is the library's at its `now`.

These tests read the server-rendered HTML; tests/test_explorer_browser.py does
the same through a real browser, slider included.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import crmcounters
from _build_explorer import AT, HOSTILE, hostile_portal, sample
from _html import Node, parse
from crmcounters import (
    AccessPolicy,
    CrmCountersError,
    InMemoryStorage,
    Portal,
    Settings,
    UnknownIdError,
    User,
    ValidationError,
    activities_view,
    counter_steps,
    counters_of,
    explain,
    is_unread,
    item_badge,
    kanban_board,
)
from crmcounters.explorer import Explorer, Span
from crmcounters.testing import FixedClock

SAMPLE = sample()
AS_OF = SAMPLE.as_of
assert AS_OF is not None
#: Instants across the sample's Monday: before work, the as_of, midday, the evening.
INSTANTS = [AS_OF - timedelta(hours=3), AS_OF, AS_OF + timedelta(hours=5, minutes=5)]


def page(portal: Portal, **query: str) -> Node:
    """The parsed page of an explorer over `portal` for that query."""
    return parse(Explorer.of_portal(portal).page(urlencode(query)))


def at_text(at: datetime) -> str:
    return at.isoformat()


@pytest.mark.parametrize("at", INSTANTS, ids=str)
def test_x2_c1_team_counters_are_the_librarys_at_the_pages_instant(at: datetime) -> None:
    """X2, C1, C6: each team row shows counters_of at `now`, green/red when non-zero."""
    tree = page(SAMPLE, at=at_text(at))
    rows = tree.find_all("tr", data_user=True)
    assert [row.attrs["data-user"] for row in rows] == [u.id for u in SAMPLE.storage.users()]
    for row in rows:
        user_id = row.attrs["data-user"]
        expected = counters_of(SAMPLE.storage, user_id, at)
        incoming = row.find("span", data_counter="incoming")
        planned = row.find("span", data_counter="planned")
        assert int(incoming.attrs["data-number"]) == expected.incoming
        assert int(planned.attrs["data-number"]) == expected.planned
        assert ("badge-green" in incoming.attrs["class"]) == bool(expected.incoming)
        assert ("badge-red" in planned.attrs["class"]) == bool(expected.planned)


@pytest.mark.parametrize("at", INSTANTS, ids=str)
def test_v1_v2_c6_f3_the_view_shows_the_columns_badges_and_unread_marks(at: datetime) -> None:
    """V1, V2, C6, F3: the user's six columns in focus order, each card with its badge as
    the user sees it and an Unread mark exactly where the item is unread."""
    storage = SAMPLE.storage
    tree = page(SAMPLE, user="u-piotr", at=at_text(at))
    view = activities_view(storage, "u-piotr", at)
    section = tree.find("section", id="view")
    for column, item_ids in view.columns.items():
        shown = section.find("div", data_column=column.value).find_all("li", data_item=True)
        assert [card.attrs["data-item"] for card in shown] == list(item_ids)
        for card in shown:
            item_id = card.attrs["data-item"]
            badge = item_badge(storage, item_id, "u-piotr", at)
            drawn = card.find("span", data_colour=True)
            assert (drawn.attrs["data-colour"], int(drawn.attrs["data-number"])) == (
                badge.colour.value,
                badge.number,
            )
            assert drawn.attrs["data-dot"] == str(badge.dot).lower()
            assert bool(card.find_all(data_unread="true")) == is_unread(storage, item_id, at)


def test_f3_the_sample_shows_unread_marks_and_every_badge_colour() -> None:
    """The checks above are not empty: Piotr's Monday has green, red and grey badges and
    Unread items."""
    tree = page(SAMPLE, user="u-piotr")
    colours = {
        span.attrs["data-colour"]
        for span in tree.find("section", id="view").walk()
        if "data-colour" in span.attrs
    }
    assert colours == {"green", "red", "grey"}
    assert tree.find_all(data_unread="true")


@pytest.mark.parametrize("at", INSTANTS, ids=str)
@pytest.mark.parametrize("viewer", ["u-marek", "u-piotr"])
def test_f1_f4_c7_kanban_cards_are_in_focus_order_with_the_viewers_badges(
    at: datetime, viewer: str
) -> None:
    """F1, F4, C6, C7: every stage's cards in kanban_board's order, badges as the user sees
    them, none where the portal's policy hides the responsible."""
    storage = SAMPLE.storage
    for pipeline in storage.pipelines():
        tree = page(SAMPLE, user=viewer, pipeline=pipeline.id, at=at_text(at))
        board = kanban_board(
            storage, pipeline.entity_type, pipeline.id, viewer, at, limit=30, policy=SAMPLE.access
        )
        section = tree.find("section", id="kanban")
        for column in board.columns:
            shown = section.find("div", data_stage=column.stage.id).find_all("li", data_item=True)
            assert [card.attrs["data-item"] for card in shown] == [c.item.id for c in column.cards]
            for card, expected in zip(shown, column.cards, strict=True):
                drawn = card.find_all("span", data_colour=True)
                if expected.badge is None:
                    assert not drawn
                else:
                    assert drawn[0].attrs["data-colour"] == expected.badge.colour.value
                    assert int(drawn[0].attrs["data-number"]) == expected.badge.number


@pytest.mark.parametrize("at", INSTANTS, ids=str)
@pytest.mark.parametrize("viewer", ["u-anna", "u-keala"])
def test_c10_the_kanban_shows_the_users_counters_of_that_pipelines_section(
    at: datetime, viewer: str
) -> None:
    """C10: above each pipeline's board, the user's Incoming and Planned counted in that
    pipeline's section only, as counters_of(..., entity_type, pipeline_id) answers."""
    storage = SAMPLE.storage
    shown_any = False
    for pipeline in storage.pipelines():
        tree = page(SAMPLE, user=viewer, pipeline=pipeline.id, at=at_text(at))
        line = tree.find("section", id="kanban").find("p", class_="section-counters")
        expected = counters_of(
            storage,
            viewer,
            at,
            entity_type=pipeline.entity_type,
            pipeline_id=pipeline.id,
            policy=SAMPLE.access,
        )
        assert line.attrs["data-pipeline"] == pipeline.id
        drawn = {
            span.attrs["data-counter"]: int(span.attrs["data-number"])
            for span in line.find_all("span", data_counter=True)
        }
        assert drawn == {"incoming": expected.incoming, "planned": expected.planned}
        shown_any = shown_any or bool(expected.incoming or expected.planned)
    assert shown_any  # the sample gives some pipeline a non-zero counter


@pytest.mark.parametrize("span", list(Span))
def test_c9_the_chart_steps_where_counter_steps_change(span: Span) -> None:
    """C9, X2: the chart's table rows and change marks are counter_steps over the span."""
    tree = page(SAMPLE, user="u-keala", span=span.value)
    explorer = Explorer.of_portal(SAMPLE)
    state = explorer.read(urlencode({"user": "u-keala", "span": span.value}))
    steps = counter_steps(SAMPLE.storage, "u-keala", state.start, state.end)
    assert len(steps) > 1
    rows = tree.find("section", id="chart").find("tbody").find_all("tr")
    shown = [
        (
            row.attrs["data-at"],
            int(row.find(data_counter="incoming").text),
            int(row.find(data_counter="planned").text),
        )
        for row in rows
    ]
    expected = [
        (s.at.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z"), s.incoming, s.planned)
        for s in steps
    ]
    assert shown == expected
    marks = tree.find("svg").find_all("circle", data_at=True)
    assert [m.attrs["data-at"] for m in marks] == [at for at, _, _ in expected[1:]]
    current = [row for row in rows if row.attrs.get("class") == "current"]
    assert len(current) == 1  # the step holding at `now`


def test_x2_the_span_is_the_users_local_day_or_week_dst_included() -> None:
    """X2, G4: the slider covers the user's local day (23 hours on the spring DST day) or
    the week from the portal's week start, in 5- or 30-minute notches."""
    storage = InMemoryStorage(Settings(week_start=6))  # weeks start on Sunday
    storage.add(User(id="u", name="U", time_zone="Europe/Warsaw"))
    explorer = Explorer(storage=storage, clock=FixedClock(AT))
    dst_day = explorer.read("at=2026-03-29T12:00:00%2B02:00")
    warsaw = ZoneInfo("Europe/Warsaw")
    assert (dst_day.start, dst_day.end) == (
        datetime(2026, 3, 29, tzinfo=warsaw),
        datetime(2026, 3, 30, tzinfo=warsaw),
    )
    assert dst_day.notches == 23 * 12
    assert dst_day.notch == (11 * 60) // 5  # 12:00 CEST is 11 hours after midnight
    week = explorer.read("span=week&at=2026-12-16T12:00:00Z")  # a Wednesday
    assert week.start == datetime(2026, 12, 13, tzinfo=warsaw)  # the Sunday before
    assert week.notches == 7 * 48
    assert explorer.read("").at == AT  # no `at` and no portal instant: the clock


def test_x1_explain_lists_the_librarys_reasons_for_the_chosen_item() -> None:
    """X1: the Explain section shows explain()'s reasons and the item's place."""
    tree = page(SAMPLE, user="u-piotr", item="deal-015")
    section = tree.find("section", id="explain")
    expected = explain(SAMPLE.storage, "deal-015", AS_OF)
    text = section.text
    for reason in expected.reasons:
        assert reason.text in text
    assert f"#{expected.position + 1} in" in text
    assert tree.find("li", data_item="deal-015").attrs["class"] == "card selected"


def test_c8_a_blocked_user_is_shown_blocked_not_zero() -> None:
    """C8: over the cap, the team row and the chart say blocked with the count, no numbers."""
    tree = page(hostile_portal(), user="rep")
    row = tree.find("tr", data_user="rep")
    assert not row.find_all(data_counter=True)
    assert "blocked (C8): 4 open activities, over the cap of 3" in row.text
    assert "Blocked over the whole day (C8)" in tree.find("section", id="chart").text
    # C8, C10: the Kanban's section counters say blocked too, with no number.
    line = tree.find("section", id="kanban").find("p", data_pipeline=True)
    assert line.attrs["data-blocked"] == "true"
    assert not line.find_all(data_counter=True)
    assert "blocked (C8): 4 open activities, over the cap of 3" in line.text


def test_c7_a_refused_section_says_why_instead_of_showing_zeros() -> None:
    """C7: a user who may read nobody, not even themself, gets the refusal in words."""
    tree = page(hostile_portal(), user="mute")
    for section in ("view", "chart"):
        refused = tree.find("section", id=section).find("p", data_refused="true")
        assert "'mute'" in refused.text
    assert tree.find("tr", data_user="mute").find_all(data_refused="true")


def test_g5_hostile_titles_names_and_descriptions_stay_text() -> None:
    """G5: markup in titles, names, stages and the description is shown as text, never run:
    the only script is the page's own and no <img> appears."""
    html = Explorer.of_portal(hostile_portal()).page("user=boss&item=deal-1")
    tree = parse(html)
    assert [node.tag for node in tree.find_all("script")] == ["script"]
    assert "pwned" not in tree.find("script").text
    assert not tree.find_all("img")
    assert HOSTILE in tree.find("li", data_item="deal-1").text  # shown, as text
    assert HOSTILE in tree.find("p", class_="portal").text
    assert tree.find("section", id="kanban").text.count(HOSTILE) >= 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("color=red", "color"),
        ("user=u-piotr&user=u-anna", "user"),
        ("at=yesterday", "at"),
        ("at=2026-12-14T10:00", "at"),  # naive
        ("at=9999-12-31T00:00Z", "at"),  # out of range
        ("span=month", "span"),
        ("x" * 3000, "query"),
        ("&".join(f"k{n}=1" for n in range(20)), "query"),
    ],
)
def test_g5_a_bad_query_is_refused_naming_the_parameter(query: str, field: str) -> None:
    """G5: unknown, repeated or malformed parameters are refused, never guessed at."""
    with pytest.raises(CrmCountersError, match=field):
        Explorer.of_portal(SAMPLE).page(query)


@pytest.mark.parametrize("query", ["user=nobody", "pipeline=p-none", "item=deal-999"])
def test_g5_an_unknown_id_is_refused(query: str) -> None:
    """G5: an id the portal does not have is an error, not an empty page."""
    with pytest.raises(UnknownIdError):
        Explorer.of_portal(SAMPLE).page(query)


def test_x2_the_default_instant_is_at_then_as_of_then_the_clock() -> None:
    """X2: the page opens at --at, else the portal's as_of, else the clock, and says which."""
    later = AS_OF + timedelta(days=1)
    clock = FixedClock(later + timedelta(days=1))
    assert Explorer.of_portal(SAMPLE, at=later).read("").at == later
    assert Explorer.of_portal(SAMPLE).read("").at_source == "the portal's as_of"
    no_date = Portal(storage=SAMPLE.storage, access=SAMPLE.access)
    by_clock = Explorer.of_portal(no_date, clock=clock).read("")
    assert (by_clock.at, by_clock.at_source) == (clock.now(), "the clock")
    assert "from the clock" in Explorer.of_portal(no_date, clock=clock).page()


def test_g5_explorer_settings_are_checked() -> None:
    """G5: a card limit below 1 and a naive instant are refused at construction."""
    with pytest.raises(ValidationError, match="card_limit"):
        Explorer(storage=SAMPLE.storage, card_limit=0)
    with pytest.raises(ValidationError, match="at"):
        Explorer(storage=SAMPLE.storage, at=datetime(2026, 12, 14))
    with pytest.raises(ValidationError, match="user"):
        Explorer(storage=InMemoryStorage(), policy=AccessPolicy()).page()


def test_the_core_never_imports_the_explorer() -> None:
    """The explorer is an edge (STYLE): importing the library and its other public
    subpackages loads neither it nor http.server; only the CLI's `serve` does."""
    code = (
        "import sys, crmcounters, crmcounters.focus, crmcounters.rules, crmcounters.sql, "
        "crmcounters.testing, crmcounters._cli\n"
        "print(sorted(m for m in sys.modules if 'explorer' in m or m == 'http.server'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
    source = Path(crmcounters.__file__).parent
    imports = re.compile(r"^\s*(from|import)\s+\S*explorer", re.MULTILINE)
    for module in source.rglob("*.py"):
        if "explorer" in module.parts or module.name == "_cli.py":
            continue
        assert not imports.search(module.read_text(encoding="utf-8")), module
    assert imports.search((source / "_cli.py").read_text(encoding="utf-8"))  # the check bites


_KEYS = ("user", "pipeline", "item", "at", "span")
#: Values near what the page accepts: ids of the sample, instants of every shape the
#: parser meets (offsets, a typed `+` arriving as a space, out of range, naive), spans.
_NEAR_VALUES = st.sampled_from(
    [
        "",
        "u-anna",
        "u-keala",
        "nobody",
        "p-sales",
        "p-leads",
        "deal-001",
        "day",
        "week",
        "2026-12-14T10:00Z",
        "2026-12-14T10:00 01:00",
        "2026-12-14T10:00+14:00",
        "2026-03-29T02:30-10:00",
        "0001-01-01T00:00Z",
        "9999-12-31T23:59Z",
        "2026-12-14",
        "2026-02-30T10:00Z",
        "%00",
        "%ZZ",
        "\ud800",
    ]
)


#: Zones a slider instant may be typed in: UTC-10, UTC+14, a DST zone, UTC.
_ZONES = [
    ZoneInfo(name) for name in ("Pacific/Honolulu", "Pacific/Kiritimati", "Europe/Warsaw", "UTC")
]
#: Each known key at most once, mostly with a value it accepts.
_NEAR_PAGES = st.fixed_dictionaries(
    {},
    optional={
        "user": st.sampled_from(["", "u-anna", "u-keala", "u-claire", "nobody"]),
        "pipeline": st.sampled_from(["", "p-sales", "p-leads", "p-invoices", "p-x"]),
        "item": st.sampled_from(["", "deal-001", "deal-004", "deal-999"]),
        "at": st.one_of(
            st.sampled_from(["", "2026-12-14T10:00 01:00", "2026-12-14", "noon"]),
            st.datetimes(
                min_value=datetime(1990, 1, 1),
                max_value=datetime(2100, 1, 1),
                timezones=st.sampled_from(_ZONES),
            ).map(lambda at: at.isoformat()),
        ),
        "span": st.sampled_from(["", "day", "week", "month"]),
    },
).map(lambda found: urlencode([*found.items()]))
#: Any keys, repeated or unknown, with near-miss or arbitrary values, percent-encoded.
_ANY_PAIRS = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(_KEYS), st.text(max_size=8)),
        st.one_of(_NEAR_VALUES, st.text(max_size=30)),
    ),
    max_size=12,
).map(lambda pairs: urlencode(pairs, errors="surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(query=st.one_of(_NEAR_PAGES, _NEAR_PAGES, _ANY_PAIRS, st.text(max_size=80)))
def test_g5_any_query_string_is_a_page_or_a_refusal(query: str) -> None:
    """G5, X2: whatever query string arrives (encoded or raw, known keys with near-miss
    values, unknown keys, repeats, bad escapes, lone surrogates), the page renders or is
    refused with a `CrmCountersError`; nothing else escapes to the server."""
    explorer = Explorer.of_portal(SAMPLE)
    try:
        page = explorer.read(query)
    except CrmCountersError:
        event("refused")
        return
    event("rendered")
    explorer.render(page, nonce="n")
    explorer.content(page)
