"""Helpers for the page tests: a storage without the page hook, and whole-column walks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcounters import ActivitiesView, Column, InMemoryStorage, activities_view
from crmcounters.focus import KanbanBoard, kanban_board

_HOOKS = frozenset({"kanban_focus_page", "view_focus_pages"})


class Scratch:
    """The same storage seen without `PagedFocusStorage`'s methods: pages from scratch."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        if name in _HOOKS:
            raise AttributeError(name)
        return getattr(self._storage, name)


def kanban_walk(
    storage: Any, entity: str, pipeline: str, viewer: str, now: datetime, limit: int
) -> list[KanbanBoard]:
    """The first board and then every continued page of every column, in order."""
    first = kanban_board(storage, entity, pipeline, viewer, now, limit=limit)
    boards = [first]
    for column in first.columns:
        cursor = column.next_cursor
        while cursor is not None:
            board = kanban_board(storage, entity, pipeline, viewer, now, limit=limit, cursor=cursor)
            boards.append(board)
            cursor = board.columns[0].next_cursor
    return boards


def view_walk(storage: Any, user: str, now: datetime, limit: int) -> list[ActivitiesView]:
    """The first view and then every continued page of every column, in order."""
    first = activities_view(storage, user, now, limit=limit)
    views = [first]
    for column in Column:
        cursor = first.next_cursors[column]
        while cursor is not None:
            view = activities_view(storage, user, now, limit=limit, cursor=cursor)
            views.append(view)
            cursor = view.next_cursors[column]
    return views
