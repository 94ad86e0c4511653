"""A local, read-only web page over a portal, with a time slider (docs/explorer.md).

`crmcounters serve PORTAL` opens it; in Python, `make_server(Explorer.of_portal(portal))`.
It shows the team's counters with C6 badge colours and blocked users (C8), a
user's Activities view (V1, V2) with Unread marks (F3), a pipeline's Kanban in
focus order (F1, F4), `explain` for any item (X1), and a chart of the user's
counters over a day or a week, stepped where they change (C9). The slider
moves `now` and every answer is redrawn for that instant (X2).

The explorer sits on top of the core and only reads: nothing in `crmcounters`
imports it.
"""

from __future__ import annotations

from .._public import show_public_paths
from ._page import Explorer
from ._query import Page, Span
from ._server import DEFAULT_HOST, ExplorerServer, make_server

__all__ = [
    "DEFAULT_HOST",
    "Explorer",
    "ExplorerServer",
    "Page",
    "Span",
    "make_server",
]

show_public_paths(__name__, globals(), __all__)
