"""The counters chart: a user's Incoming and Planned over the slider's span, as SVG steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape

from .._counters import CounterResult
from ._query import Page, Span, instant_text

__all__ = ["counters_chart"]

_WIDTH, _HEIGHT = 720, 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 10, 10, 26
_SERIES = (("incoming", "Incoming"), ("planned", "Planned"))


def counters_chart(page: Page, steps: Sequence[CounterResult]) -> str:
    """An SVG of the steps (each held until the next), a line at `now`, and a link per change.

    The numbers are also in a table under the chart (its text equivalent).
    """
    start = page.start.astimezone(UTC)  # instants subtract in UTC (a DST day is 23 or 25 h)
    span_seconds = (page.end.astimezone(UTC) - start).total_seconds()
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    top = max(1, *(max(step.incoming or 0, step.planned or 0) for step in steps))

    def x(at: datetime) -> float:
        return _LEFT + plot_w * (at.astimezone(UTC) - start).total_seconds() / span_seconds

    def y(value: int) -> float:
        return _TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-labelledby="chart-title"><title id="chart-title">Incoming and Planned of '
        f"{escape(page.user.name)} from {escape(page.start.isoformat())} to "
        f"{escape(page.end.isoformat())}</title>"
    ]
    for value in _ticks(top):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}"/><text class="tick" x="{_LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    for at, label in _time_ticks(page):
        parts.append(
            f'<line class="grid" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{_TOP}" '
            f'y2="{_HEIGHT - _BOTTOM}"/><text class="tick" x="{x(at):.1f}" '
            f'y="{_HEIGHT - _BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    for field, _ in _SERIES:
        values = [getattr(step, field) or 0 for step in steps]
        points = []
        for index, step in enumerate(steps):
            until = steps[index + 1].at if index + 1 < len(steps) else page.end
            points.append(f"{x(step.at):.1f},{y(values[index]):.1f}")
            points.append(f"{x(until):.1f},{y(values[index]):.1f}")
        parts.append(f'<polyline class="line-{field}" points="{" ".join(points)}"/>')
    parts.append(
        f'<line class="now" x1="{x(page.at):.1f}" x2="{x(page.at):.1f}" y1="{_TOP}" '
        f'y2="{_HEIGHT - _BOTTOM}"/>'
    )
    for step in steps[1:]:  # a link at each change: jump `now` to that exact instant
        local = step.at.astimezone(page.user.zone)
        parts.append(
            f'<a href="{escape(page.link(at=instant_text(step.at)))}#chart">'
            f'<circle class="change" data-at="{escape(instant_text(step.at))}" '
            f'cx="{x(step.at):.1f}" cy="{y(step.planned or 0):.1f}" r="4">'
            f"<title>{local:%a %H:%M} Incoming {step.incoming} Planned {step.planned}"
            f"</title></circle></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(top: int) -> list[int]:
    """At most six whole-number grid lines from 0 to `top`."""
    every = max(1, -(-top // 5))
    return list(range(0, top + 1, every))


def _time_ticks(page: Page) -> list[tuple[datetime, str]]:
    """Every 3 local hours across a day, every local midnight across a week."""
    zone = page.user.zone
    first = page.start.astimezone(zone)
    ticks: list[tuple[datetime, str]] = []
    fmt: Callable[[datetime], str]
    if page.span is Span.DAY:
        every, fmt = timedelta(hours=3), lambda at: f"{at:%H:%M}"
    else:
        every, fmt = timedelta(days=1), lambda at: f"{at:%a %d}"
    wall = first.replace(tzinfo=None)
    end = page.end.astimezone(UTC)
    while True:
        at = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)  # a gap moves on
        if at.astimezone(UTC) >= end:
            return ticks
        ticks.append((at, fmt(at)))
        wall += every  # wall-clock steps: a DST day still ticks at 03:00, 06:00 …
