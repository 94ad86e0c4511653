"""Regenerate the explorer screenshots the README and docs show (docs/images/*.png).

Run: .venv/bin/python tools/screenshots.py  (needs Debian's Chromium, `apt-get
install chromium`, and the `playwright` package, which `make test` installs).

Each PNG carries, in a `tEXt` chunk, the SHA-256 of the HTML it shows (the
page rendered without its per-response nonce). tests/test_explorer_docs.py
recomputes that digest from the current code, so a screenshot that no longer
shows the page as it is fails the suite, with or without a browser at hand.
The browser tests launch Chromium through `launch` here too.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcounters import load_portal
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes
from crmcounters.explorer import Explorer, ExplorerServer, make_server

if TYPE_CHECKING:  # playwright is a test dependency, imported only when a browser is used
    from playwright.sync_api import Browser, Playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

#: Debian's Chromium; another binary through CRMCOUNTERS_CHROMIUM.
CHROMIUM = os.environ.get("CRMCOUNTERS_CHROMIUM", "/usr/bin/chromium")
#: Headless, no sandbox (root in CI), and no network of its own beyond the page.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: The key of the PNG text chunk holding the page's digest.
DIGEST_KEY = b"crmcounters-page-sha256"

#: (file, query, viewport width, viewport height, section to show or None for the top).
SHOTS = (
    ("explorer.png", "user=u-piotr&item=deal-015", 1400, 1000, None),
    ("explorer-kanban.png", "user=u-anna&pipeline=p-sales&item=deal-016", 1400, 900, "kanban"),
    ("explorer-week.png", "user=u-keala&span=week", 1400, 560, "chart"),
)


def missing() -> str | None:
    """Why no browser test can run here (no Chromium, no playwright), or None."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make test installs it)"
    return None


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, through Playwright (never a browser it downloads)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


def sample_explorer() -> Explorer:
    """The explorer over the shipped sample portal, at its `as_of`."""
    return Explorer.of_portal(load_portal(sample_bytes(SAMPLE_PORTAL)))


def page_digest(explorer: Explorer, query: str) -> str:
    """The SHA-256 of the page a screenshot shows (its HTML without a nonce)."""
    html = explorer.render(explorer.read(query))
    return hashlib.sha256(html.encode("utf-8")).hexdigest()


@contextmanager
def serving(explorer: Explorer) -> Iterator[ExplorerServer]:
    """A server for `explorer` on a free loopback port, answering in a thread."""
    server = make_server(explorer, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def with_text(png: bytes, key: bytes, value: str) -> bytes:
    """`png` with a `tEXt` chunk `key`=`value` right after its header chunk."""
    data = key + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def text_of(png: bytes, key: bytes) -> str | None:
    """The value of `png`'s `tEXt` chunk `key`, or None."""
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        if kind == b"tEXt" and data.startswith(key + b"\0"):
            return data[len(key) + 1 :].decode("latin-1")
        offset += 12 + length
    return None


def shoot(browser: Browser, url: str, width: int, height: int, section: str | None) -> bytes:
    """A PNG of the page at `url`: the top of it, or one section."""
    page: Any = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(url)
        if section is None:
            return bytes(page.screenshot())
        return bytes(page.locator(f"#{section}").screenshot())
    finally:
        page.close()


def main() -> int:
    """Write every screenshot of SHOTS into docs/images/."""
    reason = missing()
    if reason is not None:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    explorer = sample_explorer()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with serving(explorer) as server, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            for name, query, width, height, section in SHOTS:
                png = shoot(browser, f"{server.url}?{query}", width, height, section)
                (IMAGES / name).write_bytes(
                    with_text(png, DIGEST_KEY, page_digest(explorer, query))
                )
                print(f"wrote docs/images/{name}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
