"""The explorer's screenshots in the docs are the page as it is; the browser suite's contract.

Each PNG in docs/images/ carries the SHA-256 of the HTML it shows (written by
tools/screenshots.py). Recomputing it from today's code needs no browser: a
change to the page that is not re-shot fails here, with the command to run.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from _browser import REQUIRE, ROOT, TOOL, stop_without_browser


@pytest.mark.parametrize("shot", TOOL.SHOTS, ids=lambda shot: shot[0])
def test_x2_each_screenshot_shows_the_page_as_it_is(shot: tuple[str, str, int, int, Any]) -> None:
    """The digest in the PNG is the digest of the page the code renders now."""
    name, query = shot[0], shot[1]
    png = (ROOT / "docs" / "images" / name).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    recorded = TOOL.text_of(png, TOOL.DIGEST_KEY)
    assert recorded == TOOL.page_digest(TOOL.sample_explorer(), query), (
        f"docs/images/{name} is not the page as it is: run .venv/bin/python tools/screenshots.py"
    )


def test_the_readme_and_docs_show_every_screenshot() -> None:
    """Each screenshot is shown somewhere, and the README shows the explorer."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    for name, *_ in TOOL.SHOTS:
        assert f"images/{name}" in text, name
    assert "docs/images/explorer.png" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_digest_chunk_round_trips() -> None:
    """with_text adds a valid tEXt chunk that text_of reads back; other keys read None."""
    png = (ROOT / "docs" / "images" / TOOL.SHOTS[0][0]).read_bytes()
    marked = TOOL.with_text(png, b"k", "v")
    assert TOOL.text_of(marked, b"k") == "v"
    assert TOOL.text_of(png, b"k") is None


@pytest.mark.parametrize("required", ["0", "1"])
def test_without_chromium_the_browser_suite_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, required: str
) -> None:
    """No browser: the browser tests skip with the reason, but with
    CRMCOUNTERS_REQUIRE_BROWSER=1 (set by .ci/run) they fail, so CI never passes without
    having run them."""
    monkeypatch.setattr(TOOL, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv(REQUIRE, required)
    expected = pytest.fail.Exception if required == "1" else pytest.skip.Exception
    with pytest.raises(expected, match="no Chromium at /nonexistent/chromium"):
        stop_without_browser()


def test_ci_requires_the_browser_and_installs_chromium() -> None:
    """.ci/run sets the variable the browser tests read, and installs Debian's chromium."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"export {REQUIRE}=1" in script
    assert "apt-get install -y -qq chromium" in script
    first_run = re.search(r"^\s*(time\s+)?(\w+=\S+\s+)*make\b.*\btest", script, re.MULTILINE)
    assert first_run is not None
    assert script.index(f"export {REQUIRE}=1") < first_run.start()
