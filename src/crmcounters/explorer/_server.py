"""The explorer's HTTP server: the standard library's, read-only, bounded, local by default.

Why no web framework: the page is one GET with a query string, rendered on
the server; `http.server.ThreadingHTTPServer` does that with no dependency,
and what a framework would add (routing, templates, sessions) this page does
not need. A thread per connection keeps one slow client from stalling the
others; pages render one at a time under a lock, since a storage (a SQLite
connection, say) need not allow concurrent reads.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .._errors import CrmCountersError, ValidationError
from ._page import Explorer, _e
from ._query import MAX_QUERY

__all__ = ["DEFAULT_HOST", "ExplorerServer", "make_server"]

logger = logging.getLogger("crmcounters.explorer")

#: Where the explorer listens unless told otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"

#: Seconds a client may take to send its request before the connection is dropped.
_REQUEST_TIMEOUT = 10.0


class ExplorerServer(ThreadingHTTPServer):
    """A `ThreadingHTTPServer` serving one `Explorer`; `url` is where to open it.

    Answers GET and HEAD of `/` (the page) and `/content` (its `<main>`, which
    the time slider swaps in); every other method is 405, every other path
    404. Requests whose Host header names another machine are refused (400),
    so a web page elsewhere cannot reach it through DNS rebinding.
    """

    daemon_threads = True
    #: Fewer queued connections than the default: a local page has one reader.
    request_queue_size = 16

    def __init__(self, explorer: Explorer, host: str, port: int) -> None:
        self.explorer = explorer
        self.render_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A reader who leaves before the page is sent is routine (logged at debug); any other
        failure is logged with its traceback. Never printed: the standard library's
        `handle_error` writes a traceback to stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # broken pipe, reset: the reader hung up
            logger.debug("explorer: %s hung up: %s", client_address, error)
            return
        logger.error("explorer: failed serving %s", client_address, exc_info=error)

    def _bound(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return host if isinstance(host, str) else bytes(host).decode(), port

    @property
    def url(self) -> str:
        """The page's address, e.g. `http://127.0.0.1:8765/`."""
        host, port = self._bound()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def allowed_hosts(self) -> frozenset[str] | None:
        """The Host header values accepted, or None (any) when listening beyond loopback."""
        host, port = self._bound()
        address = ipaddress.ip_address(host)
        if address.is_unspecified or not address.is_loopback:
            return None
        names = {f"[{host}]" if ":" in host else host, "localhost", "127.0.0.1", "[::1]"}
        return frozenset({*names, *(f"{name}:{port}" for name in names)})


def make_server(explorer: Explorer, *, host: str = DEFAULT_HOST, port: int = 0) -> ExplorerServer:
    """A server for `explorer`, bound and listening (call `serve_forever()` to answer).

    `host` must be an IP address (127.0.0.1 by default: this machine only);
    port 0 (the default) picks a free port, named by the server's `url`. An
    address in use raises `OSError`.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValidationError(
            "host", f"expected an IP address such as 127.0.0.1, got {host!r}"
        ) from None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValidationError("port", f"expected a whole number from 0 to 65535, got {port!r}")
    return ExplorerServer(explorer, host, port)


class _Handler(BaseHTTPRequestHandler):
    """GET and HEAD of the page; nothing is ever written."""

    server: ExplorerServer
    timeout = _REQUEST_TIMEOUT
    server_version = "crmcounters-explorer"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_POST(self) -> None:
        self._refuse_method()

    def do_PUT(self) -> None:
        self._refuse_method()

    def do_DELETE(self) -> None:
        self._refuse_method()

    def do_PATCH(self) -> None:
        self._refuse_method()

    def do_OPTIONS(self) -> None:
        self._refuse_method()

    def _refuse_method(self) -> None:
        """405: the explorer never writes (a body sent with the request is not read)."""
        self.close_connection = True
        self._send(
            HTTPStatus.METHOD_NOT_ALLOWED,
            _message("Read-only: only GET and HEAD."),
            True,
            extra={"Allow": "GET, HEAD"},
        )

    def _answer(self, *, body: bool) -> None:
        allowed = self.server.allowed_hosts()
        if allowed is not None and self.headers.get("Host", "") not in allowed:
            self._send(HTTPStatus.BAD_REQUEST, _message("Unknown Host header."), body)
            return
        target = urlsplit(self.path)
        if target.path not in ("/", "/content"):
            self._send(HTTPStatus.NOT_FOUND, _message("Not found: the page is at /."), body)
            return
        if len(target.query) > MAX_QUERY:
            self._send(HTTPStatus.REQUEST_URI_TOO_LONG, _message("Query string too long."), body)
            return
        nonce = secrets.token_urlsafe(16)
        explorer = self.server.explorer
        try:
            with self.server.render_lock:
                page = explorer.read(target.query)
                if target.path == "/":
                    html = explorer.render(page, nonce=nonce)
                else:  # what the time slider fetches: the page's <main> alone
                    html = explorer.content(page)
        except CrmCountersError as error:
            logger.info("explorer: refused %r: %s", target.query, error)
            self._send(HTTPStatus.BAD_REQUEST, _message(f"Refused: {error}"), body)
            return
        except Exception:  # a bug must not leak a traceback to the page, nor kill the server
            logger.exception("explorer: failed to render %r", target.query)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, _message("Internal error."), body)
            return
        self._send(HTTPStatus.OK, html, body, nonce=nonce)

    def _send(
        self,
        status: HTTPStatus,
        html: str,
        body: bool,
        *,
        nonce: str = "",
        extra: dict[str, str] | None = None,
    ) -> None:
        data = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        allow = f"'nonce-{nonce}'" if nonce else "'none'"
        self.send_header(
            "Content-Security-Policy",
            f"default-src 'none'; style-src {allow}; script-src {allow}; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        )
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # the stdlib's parameter name
        logger.debug("explorer: %s %s", self.address_string(), format % args)


def _message(text: str) -> str:
    """A small page for a refusal or an error: the text, escaped, and a link back."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>crmcounters explorer</title></head><body>"
        f'<p id="message">{_e(text)}</p><p><a href="/">Back to the explorer</a></p></body></html>'
    )
