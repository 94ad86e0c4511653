"""The explorer's HTTP server: read-only, bounded, local, and `crmcounters serve` around it."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest

from _build_explorer import HOSTILE, hostile_portal, sample
from _html import parse
from crmcounters import ValidationError
from crmcounters.explorer import Explorer, ExplorerServer, make_server
from crmcounters.sql import import_portal, open_storage

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILE = ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json"


@pytest.fixture(scope="module")
def server() -> Iterator[ExplorerServer]:
    """The explorer over the sample portal on a free loopback port, answering in a thread."""
    running = make_server(Explorer.of_portal(sample()), port=0)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()
    thread.join(5)


def request(
    server: ExplorerServer, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One request; (status, headers, body text)."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


def test_x2_get_serves_the_page_with_a_strict_csp(server: ExplorerServer) -> None:
    """GET / is the page; its one style and one script carry the response's CSP nonce."""
    status, headers, body = request(server, "GET", "/?user=u-piotr")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    nonce = re.search(r"'nonce-([^']+)'", headers["Content-Security-Policy"])
    assert nonce is not None
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    tree = parse(body)
    assert [n.attrs.get("nonce") for n in tree.find_all("style")] == [nonce.group(1)]
    assert [n.attrs.get("nonce") for n in tree.find_all("script")] == [nonce.group(1)]
    assert tree.find("main", id="content").attrs["data-user"] == "u-piotr"
    _, again, _ = request(server, "GET", "/")
    assert again["Content-Security-Policy"] != headers["Content-Security-Policy"]  # fresh


def test_x2_content_is_the_main_element_alone(server: ExplorerServer) -> None:
    """GET /content is what the slider swaps in: the <main> of the same page, no script."""
    status, _, body = request(server, "GET", "/content?user=u-piotr&at=2026-12-14T12:00Z")
    assert status == 200
    assert body.startswith('<main id="content" data-at="2026-12-14T12:00:00Z"')
    assert "<script" not in body
    _, _, whole = request(server, "GET", "/?user=u-piotr&at=2026-12-14T12:00Z")
    assert body in whole


def test_head_sends_headers_only(server: ExplorerServer) -> None:
    """HEAD answers as GET would, with no body."""
    status, headers, body = request(server, "HEAD", "/")
    assert (status, body) == (200, "")
    assert int(headers["Content-Length"]) > 1000


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_g1_the_explorer_is_read_only(server: ExplorerServer, method: str) -> None:
    """Nothing writes: every other method is 405 with Allow: GET, HEAD."""
    status, headers, _ = request(server, method, "/")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")


def test_an_unknown_path_is_404(server: ExplorerServer) -> None:
    """Only / and /content exist."""
    for path in ("/favicon.ico", "/../etc/passwd", "/content/x"):
        assert request(server, "GET", path)[0] == 404


def test_a_foreign_host_header_is_refused(server: ExplorerServer) -> None:
    """A request naming another host (DNS rebinding) is 400; localhost is fine."""
    port = server.server_address[1]
    assert request(server, "GET", "/", {"Host": "evil.example:80"})[0] == 400
    assert request(server, "GET", "/", {"Host": f"localhost:{port}"})[0] == 200


def test_g5_a_long_query_is_414_and_never_parsed(server: ExplorerServer) -> None:
    """G5: a query string over the limit is refused whole."""
    assert request(server, "GET", "/?" + "a" * 5000)[0] == 414


def test_g5_a_refused_query_is_400_with_the_reason_escaped(server: ExplorerServer) -> None:
    """G5: a bad parameter is a 400 page naming it; hostile text in it stays text."""
    status, _, body = request(server, "GET", "/?user=%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 400
    tree = parse(body)
    assert not tree.find_all("script")
    assert "<script>alert(1)</script>" in tree.find("p", id="message").text
    status, _, body = request(server, "GET", "/?at=soon")
    assert status == 400
    assert "at: not an ISO 8601 datetime" in body


def test_g5_a_silent_client_does_not_block_others(server: ExplorerServer) -> None:
    """A connection that never sends its request holds only its own thread."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=5):
        started = time.monotonic()
        assert request(server, "GET", "/")[0] == 200
        assert time.monotonic() - started < 5


def test_g5_a_reader_who_hangs_up_is_logged_never_printed(
    server: ExplorerServer, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """G5: a client leaving before the page is sent (a broken pipe, a reset) is routine,
    logged at debug; another failure is logged with its traceback; neither reaches stderr,
    where the standard library's server would print a traceback."""
    import logging

    caplog.set_level(logging.DEBUG, logger="crmcounters")
    for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
        try:
            raise error
        except OSError:
            server.handle_error(None, ("127.0.0.1", 1))
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        server.handle_error(None, ("127.0.0.1", 2))
    assert capfd.readouterr().err == ""
    hung_up = [r for r in caplog.records if "hung up" in r.getMessage()]
    assert [r.levelno for r in hung_up] == [logging.DEBUG, logging.DEBUG]
    [failed] = [r for r in caplog.records if "failed serving" in r.getMessage()]
    assert failed.levelno == logging.ERROR
    assert failed.exc_info is not None
    assert isinstance(failed.exc_info[1], RuntimeError)
    # A real reader who resets the connection at once: the server goes on serving.
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=5) as hasty:
        hasty.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        hasty.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert request(server, "GET", "/")[0] == 200
    assert capfd.readouterr().err == ""


def test_g5_make_server_checks_its_arguments() -> None:
    """G5: a host that is not an IP address, or a port out of range, is refused by name."""
    explorer = Explorer.of_portal(sample())
    with pytest.raises(ValidationError, match="host"):
        make_server(explorer, host="example.com")
    with pytest.raises(ValidationError, match="port"):
        make_server(explorer, port=70000)


def test_the_url_names_the_bound_port() -> None:
    """`url` is where the page is, with the port the system picked for port 0."""
    with make_server(Explorer.of_portal(sample()), port=0) as running:
        assert running.url == f"http://127.0.0.1:{running.server_address[1]}/"
        assert running.allowed_hosts() is not None


def test_g5_a_hostile_portal_through_http_stays_text() -> None:
    """G5: markup in the data reaches the client escaped, end to end."""
    with make_server(Explorer.of_portal(hostile_portal()), port=0) as running:
        thread = threading.Thread(target=running.serve_forever, daemon=True)
        thread.start()
        try:
            status, _, body = request(running, "GET", "/?user=boss&item=deal-1")
        finally:
            running.shutdown()
            thread.join(5)
    assert status == 200
    assert HOSTILE not in body
    assert escape(HOSTILE) in body
    assert not parse(body).find_all("img")


def _serve(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crmcounters", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def _serve_once(path: str, *argv: str) -> tuple[int, str, str, str]:
    """Start `crmcounters serve ARGV --port 0`, GET `path` from the URL it prints, press
    Ctrl+C; return (exit status, the page, standard output, standard error)."""
    process = _serve(*argv, "--port", "0")
    try:
        assert process.stdout is not None
        # Both lines now: communicate() below reads the pipes beneath this buffered reader.
        line = process.stdout.readline() + process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        connection = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200
        page = response.read().decode("utf-8")
        connection.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    return process.returncode, page, line + out, err


def test_cli_serve_prints_its_url_serves_and_stops_on_ctrl_c() -> None:
    """`crmcounters serve PORTAL --port 0` prints the URL and the instant it opens at, serves
    the page, and Ctrl+C (SIGINT) stops it with exit status 0."""
    code, page, out, err = _serve_once("/?user=u-anna", str(SAMPLE_FILE))
    assert (code, err) == (0, "")
    assert 'data-user="u-anna"' in page
    assert "it opens at 2026-12-14T09:00:00+00:00 (the portal's as_of)" in out
    assert out.endswith("stopped\n")


def test_cli_serve_on_a_busy_port_is_one_error_line() -> None:
    """An address in use is `crmcounters: error: cannot listen …`, exit 1, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = _serve(str(SAMPLE_FILE), "--port", str(busy.getsockname()[1]))
        out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.startswith("crmcounters: error: cannot listen on 127.0.0.1:")
    assert len(err.splitlines()) == 1
    assert out == ""


def test_x2_the_page_over_a_database_is_the_page_over_the_file(tmp_path: Path) -> None:
    """The explorer reads a database (`--db`) as it reads a portal file: same answers, same
    page, byte for byte, at several instants."""
    path = tmp_path / "sample.db"
    with open_storage(path, create=True) as storage:
        import_portal(sample(), storage)
    with open_storage(path) as storage:
        over_db = Explorer.of_portal(storage.portal())
        over_file = Explorer.of_portal(sample())
        for query in ("user=u-piotr&item=deal-015", "user=u-keala&span=week&at=2026-12-12T03:00Z"):
            assert over_db.page(query) == over_file.page(query)


def test_cli_serve_reads_a_database(tmp_path: Path) -> None:
    """`crmcounters serve --db URL` serves the database's portal."""
    path = tmp_path / "sample.db"
    with open_storage(path, create=True) as storage:
        import_portal(sample(), storage)
    code, page, _, err = _serve_once("/?user=u-linh", "--db", str(path))
    assert (code, err) == (0, "")
    assert "Nguyễn Thị Linh" in page
