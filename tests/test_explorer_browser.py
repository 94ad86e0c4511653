"""The explorer in a real browser: Debian's Chromium, driven by Playwright.

Each test opens the page, reads what the browser shows, acts as a user would
(moves the time slider, clicks a chart step or a card, picks a user) and
checks the numbers and orders against the library's own answers at that
instant (X2). Without Chromium or playwright the tests skip with the reason;
under `.ci/run` (CRMCOUNTERS_REQUIRE_BROWSER=1) they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from _browser import TOOL, stop_without_browser
from _build_explorer import HOSTILE, hostile_portal
from crmcounters import activities_view, counters_of, kanban_board
from crmcounters.explorer import Explorer, ExplorerServer

ROOT = Path(__file__).resolve().parent.parent


EXPLORER = TOOL.sample_explorer()
PORTAL_AT: datetime = EXPLORER.at
SAMPLE = EXPLORER.storage
POLICY = EXPLORER.policy


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; skip (locally) or fail (in CI) without one."""
    stop_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = TOOL.launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ExplorerServer]:
    """The explorer over the sample portal (opening at its as_of)."""
    with TOOL.serving(EXPLORER) as running:
        yield running


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A fresh page that records console errors and uncaught exceptions (a CSP violation
    or a script error fails the test)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_default_timeout(10_000)
    yield page
    page.close()
    assert problems == []


def as_shown(at: datetime) -> str:
    """An instant as the page writes it in `data-at` and in its links: UTC, `Z`."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def shown_at(tab: Any) -> datetime:
    """The instant the page's content is for (`<main data-at>`)."""
    return datetime.fromisoformat(tab.locator("#content").get_attribute("data-at"))


def team_counters(tab: Any) -> dict[str, tuple[int, int]]:
    """{user id: (Incoming, Planned)} as the team table shows them."""
    found = {}
    for row in tab.locator("#team tr[data-user]").all():
        incoming = row.locator('[data-counter="incoming"]').inner_text()
        planned = row.locator('[data-counter="planned"]').inner_text()
        found[row.get_attribute("data-user")] = (int(incoming), int(planned))
    return found


def kanban_order(tab: Any) -> dict[str, list[str]]:
    """{stage id: item ids, top first} as the Kanban shows them."""
    return {
        column.get_attribute("data-stage"): [
            card.get_attribute("data-item") for card in column.locator("li[data-item]").all()
        ]
        for column in tab.locator("#kanban [data-stage]").all()
    }


def view_columns(tab: Any) -> dict[str, list[str]]:
    """{column: item ids, top first} as the Activities view shows them."""
    return {
        column.get_attribute("data-column"): [
            card.get_attribute("data-item") for card in column.locator("li[data-item]").all()
        ]
        for column in tab.locator("#view [data-column]").all()
    }


def assert_the_library_agrees(tab: Any, user_id: str, pipeline_id: str) -> datetime:
    """Team counters, the user's Activities view and the Kanban equal the library's at the
    instant the page shows; return that instant."""
    at = shown_at(tab)
    assert team_counters(tab) == {
        user.id: (result.incoming, result.planned)
        for user in SAMPLE.users()
        for result in [counters_of(SAMPLE, user.id, at)]
    }
    view = activities_view(SAMPLE, user_id, at)
    assert view_columns(tab) == {column.value: list(ids) for column, ids in view.columns.items()}
    pipeline = SAMPLE.pipeline(pipeline_id)
    board = kanban_board(
        SAMPLE, pipeline.entity_type, pipeline_id, user_id, at, limit=30, policy=POLICY
    )
    assert kanban_order(tab) == {
        column.stage.id: [card.item.id for card in column.cards] for column in board.columns
    }
    return at


def test_x2_the_slider_moves_now_and_every_answer_follows(
    tab: Any, server: ExplorerServer, tmp_path: Path
) -> None:
    """X2, C1, V1, F1: the page opens at the portal's as_of showing the library's answers;
    moving the slider (drag and arrow key) redraws them all for the new instant."""
    tab.goto(f"{server.url}?user=u-piotr&pipeline=p-sales")
    assert shown_at(tab) == PORTAL_AT
    first = assert_the_library_agrees(tab, "u-piotr", "p-sales")
    before = team_counters(tab)

    slider = tab.locator("#slider")
    notch = int(slider.get_attribute("value"))
    slider.fill(str(notch + 66))  # 5.5 hours later, on a 5-minute notch
    later = first + timedelta(minutes=5 * 66)
    tab.wait_for_selector(f'#content[data-at="{as_shown(later)}"]')
    assert assert_the_library_agrees(tab, "u-piotr", "p-sales") == later
    assert team_counters(tab) != before  # the check above saw the answer change
    assert tab.locator("#now-label").inner_text() == "Mon 2026-12-14 15:30 Europe/Warsaw"
    assert f"at={as_shown(later)}" in tab.url.replace("%3A", ":")

    slider.focus()
    tab.keyboard.press("ArrowRight")  # one notch, by keyboard
    tab.wait_for_selector(f'#content[data-at="{as_shown(later + timedelta(minutes=5))}"]')
    assert_the_library_agrees(tab, "u-piotr", "p-sales")

    shot = tmp_path / "explorer.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 20_000


def test_c9_a_chart_step_moves_now_to_the_exact_change(tab: Any, server: ExplorerServer) -> None:
    """C9, X2: clicking a step of the counters chart jumps `now` to that instant, where the
    library's counters differ from a microsecond before."""
    tab.goto(f"{server.url}?user=u-keala&span=week")
    marks = tab.locator("#chart circle[data-at]")
    assert marks.count() > 1
    target = marks.nth(1).get_attribute("data-at")
    marks.nth(1).click()
    tab.wait_for_selector(f'#content[data-at="{target}"]')
    at = shown_at(tab)
    row = tab.locator("#team tr[data-user='u-keala']")
    planned = int(row.locator('[data-counter="planned"]').inner_text())
    assert planned == counters_of(SAMPLE, "u-keala", at).planned
    assert planned != counters_of(SAMPLE, "u-keala", at - timedelta(microseconds=1)).planned
    assert tab.locator("#chart tr.current").get_attribute("data-at") == target


def test_x1_clicking_a_card_explains_it(tab: Any, server: ExplorerServer) -> None:
    """X1: a Kanban card opens its explanation, with the library's reasons."""
    from crmcounters import explain

    tab.goto(f"{server.url}?user=u-anna&pipeline=p-sales")
    card = tab.locator("#kanban li[data-item]").first
    item_id = card.get_attribute("data-item")
    card.locator("a").click()
    tab.wait_for_selector(f'#explain .explain[data-item="{item_id}"]')
    text = tab.locator("#explain").inner_text()
    for reason in explain(SAMPLE, item_id, PORTAL_AT).reasons:
        assert reason.rule in text
    assert tab.locator(f'#kanban li.selected[data-item="{item_id}"]').count() == 1


def test_g4_picking_a_user_and_a_week_redraws_in_their_zone(
    tab: Any, server: ExplorerServer
) -> None:
    """G4, X3: choosing another user shows their view in their zone; the week span gives the
    slider 7 x 48 half-hour notches."""
    tab.goto(server.url)
    with tab.expect_navigation():
        tab.select_option("#user", "u-tama")
    assert tab.locator("#content").get_attribute("data-user") == "u-tama"
    assert "Pacific/Kiritimati" in tab.locator("#view .note").inner_text()
    with tab.expect_navigation():
        tab.select_option("#span", "week")
    assert tab.locator("#slider").get_attribute("max") == str(7 * 48 - 1)
    assert_the_library_agrees(tab, "u-tama", tab.locator("#pipeline").input_value())


def test_g5_a_hostile_portal_runs_no_injected_script(browser: Any) -> None:
    """G5: titles and names full of markup show as text; nothing they carry runs."""
    explorer = Explorer.of_portal(hostile_portal())
    with TOOL.serving(explorer) as running:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        try:
            page.goto(f"{running.url}?user=boss&item=deal-1")
            assert page.evaluate("window.pwned") is None
            assert page.locator("img").count() == 0
            assert HOSTILE in page.locator('#view li[data-item="deal-1"]').inner_text()
            page.locator("#slider").fill("30")
            # Boss's day starts at 2026-12-13T23:00Z (Warsaw); 30 notches of 5 minutes later:
            page.wait_for_selector('#content[data-at="2026-12-14T01:30:00Z"]')
            assert page.evaluate("window.pwned") is None
        finally:
            page.close()
