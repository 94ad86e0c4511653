"""The explorer's one page: server-rendered HTML over the core's answers at one instant.

Every value shown goes through `html.escape`; the page carries one small
inline script (the time slider) and one stylesheet, both allowed by the
response's Content-Security-Policy through a per-response nonce.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from importlib.resources import files

import attrs

from .. import _validate as v
from .._access import AccessLevel, AccessPolicy
from .._badges import Badge, BadgeColour, item_badge
from .._clock import Clock, SystemClock
from .._counters import counter_steps, counters_of
from .._errors import CrmCountersError, ValidationError
from .._explain import explain
from .._instant import FROM_AS_OF, FROM_AT, FROM_CLOCK
from .._items import Item
from .._pipelines import Pipeline
from .._portal import Portal
from .._storage import Storage
from .._users import User
from .._view import Column, activities_view
from ..focus import explain_focus, is_unread, kanban_board, order_by_focus
from ._chart import counters_chart
from ._query import Page, Span, instant_text, read_query

__all__ = ["Explorer", "badge_html"]

#: Column headings of the Activities view (V1), in display order.
_COLUMN_NAMES = {
    Column.OVERDUE: "Overdue",
    Column.TODAY: "Today",
    Column.THIS_WEEK: "This week",
    Column.NEXT_WEEK: "Next week",
    Column.LATER: "Later",
    Column.NO_ACTIVITIES: "No activities",
}


#: The page's stylesheet and script, package files inlined into every page.
_STYLE = files(__package__).joinpath("page.css").read_text(encoding="utf-8")
_SCRIPT = files(__package__).joinpath("page.js").read_text(encoding="utf-8")


def _e(value: object) -> str:
    """Escape for HTML text and double-quoted attributes (quotes too)."""
    return escape(str(value), quote=True)


def _local(at: datetime, user: User) -> str:
    """An instant as `user` reads it: local weekday, date, time, and the zone's name."""
    return f"{at.astimezone(user.zone):%a %Y-%m-%d %H:%M} {user.time_zone}"


def _short(at: datetime, user: User) -> str:
    """An instant in `user`'s zone as a table cell: weekday and time, the rest on hover."""
    return f'<time title="{_e(_local(at, user))}">{at.astimezone(user.zone):%a %H:%M}</time>'


def badge_html(badge: Badge) -> str:
    """A C6 badge as a coloured pill; the colour, number and dot also as data attributes."""
    dot = "•" if badge.dot else ""
    return (
        f'<span class="badge badge-{badge.colour.value}" data-colour="{badge.colour.value}" '
        f'data-number="{badge.number}" data-dot="{str(badge.dot).lower()}" '
        f'title="C6: {badge.colour.value} {badge.number}{" with a dot" if badge.dot else ""}">'
        f"{badge.number}{dot}</span>"
    )


def _over_cap(open_activities: int, cap: int) -> str:
    """Why a user's counters are blocked, in words (C8)."""
    return f"{open_activities:,} open activities, over the cap of {cap:,}"


def _counter_html(kind: str, number: int) -> str:
    """A menu counter: green Incoming or red Planned when non-zero, grey zero otherwise (C6)."""
    colour = BadgeColour.GREY.value
    if number:
        colour = BadgeColour.GREEN.value if kind == "incoming" else BadgeColour.RED.value
    return (
        f'<span class="badge badge-{colour}" data-counter="{kind}" data-number="{number}">'
        f"{number}</span>"
    )


def _unread_html(unread: bool) -> str:
    if not unread:
        return ""
    return '<span class="unread" data-unread="true" title="Unread (F3)">●</span> '


def _refused(error: CrmCountersError) -> str:
    """A section the core refused (C7 access, a bad id …): the error, in words."""
    return f'<p class="refused" data-refused="true">{_e(error)}</p>'


@attrs.frozen(kw_only=True)
class Explorer:
    """The explorer's pages over one storage: read-only answers of the core at any instant.

    `at` is the instant a page opens at when its query names none, and
    `at_source` says where it came from (`--at`, the portal's `as_of`); with
    `at` None, pages open at the `clock`'s now. `policy` is the portal's access
    policy (C7). Immutable, so threads may share it; the server still renders
    one page at a time, because a storage need not allow concurrent reads.
    """

    storage: Storage
    policy: AccessPolicy = attrs.field(factory=AccessPolicy)
    at: datetime | None = attrs.field(default=None, validator=v.optional_aware)
    at_source: str = attrs.field(default="", validator=v.text)
    clock: Clock = attrs.field(factory=SystemClock)
    title: str = attrs.field(default="", validator=v.text)
    card_limit: int = attrs.field(default=30)

    @card_limit.validator
    def _check_limit(self, _attribute: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("card_limit", f"expected a whole number >= 1, got {value!r}")

    @classmethod
    def of_portal(
        cls, portal: Portal, *, at: datetime | None = None, clock: Clock | None = None
    ) -> Explorer:
        """An explorer over a loaded portal that opens at `at` if given, else at the
        portal's `as_of`, else at the clock's now (the command line's rule)."""
        chosen, source = (at, FROM_AT) if at is not None else (portal.as_of, FROM_AS_OF)
        return cls(
            storage=portal.storage,
            policy=portal.access,
            at=chosen,
            at_source=source if chosen is not None else "",
            clock=SystemClock() if clock is None else clock,
            title=portal.description,
        )

    def read(self, query: str) -> Page:
        """The state a query string asks for; `CrmCountersError` naming the bad parameter."""
        if self.at is None:
            default_at, source = self.clock.now(), FROM_CLOCK
        else:
            default_at, source = self.at, self.at_source or FROM_AT
        return read_query(
            self.storage,
            query,
            default_user=self._default_user(),
            default_at=default_at,
            default_at_source=source,
        )

    def page(self, query: str = "") -> str:
        """The whole HTML page for a query string (`user`, `pipeline`, `item`, `at`, `span`).

        A bad query raises `CrmCountersError`; a section the core refuses (an
        access rule, C7) shows the refusal in its place.
        """
        return self.render(self.read(query))

    def render(self, page: Page, *, nonce: str = "") -> str:
        """The HTML of one page state; `nonce` marks the inline style and script for a CSP."""
        return _document(self, page, self.content(page), nonce)

    def content(self, page: Page) -> str:
        """The page's `<main id="content">`: what the time slider swaps in for a new `now`."""
        at_utc = instant_text(page.at)
        sections = [
            _section("team", "Team", self._team(page)),
            _section(
                "chart",
                f"Counters of {page.user.name} over the {page.span.value}",
                self._chart(page),
            ),
            _section("view", f"Activities of {page.user.name}", self._view(page)),
            _section("kanban", self._kanban_title(page), self._kanban(page)),
            _section("explain", "Explain", self._explain(page)),
        ]
        return (
            f'<main id="content" data-at="{_e(at_utc)}" data-user="{_e(page.user.id)}">'
            f'<p class="now">now = <strong>{_e(_local(page.at, page.user))}'
            f"</strong> ({_e(at_utc)}), from {_e(page.at_source)} · every answer below is "
            f"the core's at this instant (X2) · read-only</p>{''.join(sections)}</main>"
        )

    # -- sections ------------------------------------------------------------------

    def _default_user(self) -> str:
        """Whose eyes a page opens with: the first user with access to all, else the first."""
        users = list(self.storage.users())
        if not users:
            raise ValidationError("user", "the portal has no users")
        for user in users:
            if self.policy.level_of(user.id) is AccessLevel.ALL:
                return user.id
        return users[0].id

    def _team(self, page: Page) -> str:
        """Each user's own Incoming and Planned (C1, C6), blocked users (C8)."""
        rows = []
        for user in self.storage.users():
            selected = " selected" if user.id == page.user.id else ""
            link = f'<a href="{_e(page.link(user=user.id, item=None))}">{_e(user.name)}</a>'
            head = (
                f'<tr class="user{selected}" data-user="{_e(user.id)}"><td>{link}</td>'
                f"<td>{_short(page.at, user)} <small>{_e(user.time_zone)}</small></td>"
            )
            try:
                result = counters_of(self.storage, user.id, page.at, policy=self.policy)
            except CrmCountersError as error:
                rows.append(f'{head}<td colspan="4">{_refused(error)}</td></tr>')
                continue
            if result.blocked:
                cells = (
                    f'<td colspan="3" class="blocked" data-blocked="true">blocked (C8): '
                    f"{_over_cap(result.open_activities, result.cap)}</td>"
                )
            else:
                cells = (
                    f"<td>{_counter_html('incoming', result.incoming or 0)}</td>"
                    f"<td>{_counter_html('planned', result.planned or 0)}</td>"
                    f"<td>{result.items}</td>"
                )
            until = result.valid_until
            rows.append(
                f"{head}{cells}<td>{'—' if until is None else _short(until, user)}</td></tr>"
            )
        return (
            '<p class="note">Each user\'s own counters; the time is theirs (G4).</p>'
            '<table class="team"><thead><tr><th>User</th><th>Local time</th>'
            "<th>Incoming</th><th>Planned</th><th>Items</th><th>Next change (C9)</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def _chart(self, page: Page) -> str:
        """The user's counters over the span, stepped where they change (C9, X2)."""
        try:
            steps = counter_steps(
                self.storage, page.user.id, page.start, page.end, policy=self.policy
            )
        except CrmCountersError as error:
            return _refused(error)
        if steps[0].blocked:
            first = steps[0]
            return (
                f'<p class="blocked" data-blocked="true">Blocked over the whole {page.span.value}'
                f" (C8): {_over_cap(first.open_activities, first.cap)}.</p>"
            )
        rows = []
        at = page.at.astimezone(UTC)
        for index, step in enumerate(steps):
            following = steps[index + 1].at if index + 1 < len(steps) else page.end
            current = ' class="current"' if step.at <= at < following.astimezone(UTC) else ""
            rows.append(
                f'<tr data-at="{_e(instant_text(step.at))}"{current}>'
                f'<td><a href="{_e(page.link(at=instant_text(step.at)))}#chart">'
                f"{_e(_local(step.at, page.user))}</a></td>"
                f'<td data-counter="incoming">{step.incoming}</td>'
                f'<td data-counter="planned">{step.planned}</td></tr>'
            )
        legend = (
            '<p class="legend"><span class="key key-incoming"></span> Incoming '
            '<span class="key key-planned"></span> Planned '
            '<span class="key key-now"></span> now · each step starts where an activity '
            "lights (C4, C9); click one to move now there</p>"
        )
        return (
            counters_chart(page, steps)
            + legend
            + '<details class="steps"><summary>The steps as a table</summary>'
            '<table class="steps"><thead><tr><th>From</th><th>Incoming</th><th>Planned</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )

    def _card(self, page: Page, item_id: str, badge: Badge | None, unread: bool) -> str:
        """One item card: badge (or none where C7 hides it), Unread mark, title, link."""
        item = self.storage.item(item_id)
        selected = " selected" if item_id == page.item_id else ""
        shown = (
            '<span class="badge badge-none" data-hidden="true" '
            'title="no access to this responsible (C7): no badge">&ndash;</span>'
        )
        if badge is not None:
            shown = badge_html(badge)
        return (
            f'<li class="card{selected}" data-item="{_e(item_id)}">'
            f'<a href="{_e(page.link(item=item_id))}#explain">{shown} {_unread_html(unread)}'
            f'<span class="title">{_e(item.title or item_id)}</span>'
            f'<span class="id">{_e(item_id)}</span></a></li>'
        )

    def _view(self, page: Page) -> str:
        """The user's six columns in focus order, badges as the user sees them (V1, V2, C6)."""
        storage, user_id = self.storage, page.user.id
        try:
            view = activities_view(storage, user_id, page.at, policy=self.policy)
            columns = []
            for column, item_ids in view.columns.items():
                cards = [
                    self._card(
                        page,
                        item_id,
                        item_badge(storage, item_id, user_id, page.at, policy=self.policy),
                        is_unread(storage, item_id, page.at),
                    )
                    for item_id in item_ids
                ]
                columns.append(
                    f'<div class="column" data-column="{column.value}">'
                    f"<h3>{_COLUMN_NAMES[column]} <small>{len(item_ids)}</small></h3>"
                    f'<ol class="cards">{"".join(cards)}</ol></div>'
                )
        except CrmCountersError as error:
            return _refused(error)
        note = (
            f'<p class="note">Days in {_e(view.time_zone)} (X3); today is '
            f"{view.today:%A %Y-%m-%d}; the view holds until "
            f"{_until(view.valid_until, page.user)} (F5).</p>"
        )
        return note + f'<div class="board view">{"".join(columns)}</div>'

    def _kanban_title(self, page: Page) -> str:
        pipeline = page.pipeline
        if pipeline is None:
            return "Kanban"
        return f"Kanban: {pipeline.name or pipeline.id} ({pipeline.entity_type})"

    def _kanban(self, page: Page) -> str:
        """A pipeline's stages, cards in focus order as the user sees them (F1, F4, C6, C7)."""
        pipeline = page.pipeline
        if pipeline is None:
            return '<p class="note">The portal has no pipeline.</p>'
        choices = "".join(
            f'<option value="{_e(one.id)}"{" selected" if one.id == pipeline.id else ""}>'
            f"{_e(one.name or one.id)} ({_e(one.entity_type)})</option>"
            for one in self.storage.pipelines()
        )
        picker = (
            f'<form class="pick" method="get">{_hidden(page, drop="pipeline")}'
            f'<label>Pipeline <select name="pipeline" id="pipeline">{choices}</select></label>'
            "<noscript><button>Show</button></noscript></form>"
        )
        try:
            board = kanban_board(
                self.storage,
                pipeline.entity_type,
                pipeline.id,
                page.user.id,
                page.at,
                limit=self.card_limit,
                policy=self.policy,
            )
        except CrmCountersError as error:
            return picker + _refused(error)
        columns = []
        for column in board.columns:
            cards = [self._card(page, c.item.id, c.badge, c.unread) for c in column.cards]
            more = column.total - len(column.cards)
            if more:
                cards.append(f'<li class="more">and {more} more</li>')
            columns.append(
                f'<div class="column" data-stage="{_e(column.stage.id)}">'
                f"<h3>{_e(column.stage.name)} <small>{column.total}</small></h3>"
                f'<ol class="cards">{"".join(cards)}</ol></div>'
            )
        note = (
            f'<p class="note">As {_e(page.user.name)} sees it: newest focus time first (F1), '
            "grey badges on other employees' items (C6), none where the access policy hides "
            "them (C7).</p>"
        )
        board_html = f'<div class="board kanban">{"".join(columns)}</div>'
        return picker + self._section_counters(page, pipeline) + note + board_html

    def _section_counters(self, page: Page, pipeline: Pipeline) -> str:
        """The user's counters in this pipeline's section, as its header shows them (C10)."""
        try:
            result = counters_of(
                self.storage,
                page.user.id,
                page.at,
                entity_type=pipeline.entity_type,
                pipeline_id=pipeline.id,
                policy=self.policy,
            )
        except CrmCountersError as error:
            return _refused(error)
        if result.blocked:
            return (
                f'<p class="section-counters blocked" data-pipeline="{_e(pipeline.id)}" '
                f'data-blocked="true">{_e(page.user.name)} is blocked (C8): '
                f"{_over_cap(result.open_activities, result.cap)}.</p>"
            )
        return (
            f'<p class="section-counters" data-pipeline="{_e(pipeline.id)}">'
            f"{_e(page.user.name)} in this pipeline (C10): "
            f"Incoming {_counter_html('incoming', result.incoming or 0)} "
            f"Planned {_counter_html('planned', result.planned or 0)}</p>"
        )

    def _kanban_place(self, page: Page, item: Item) -> str:
        """ "; Kanban stage S #k of n": the item's place in its stage, in focus order (F1);
        nothing for contacts and companies, which have no pipeline."""
        if item.pipeline_id is None or item.stage_id is None:
            return ""
        peers = [
            one.id
            for one in self.storage.items()
            if (one.entity_type, one.pipeline_id, one.stage_id)
            == (item.entity_type, item.pipeline_id, item.stage_id)
        ]
        order = order_by_focus(self.storage, peers, page.at)
        stages = self.storage.pipeline(item.pipeline_id).stages
        name = next((stage.name for stage in stages if stage.id == item.stage_id), item.stage_id)
        return f"; Kanban stage {_e(name)} #{order.item_ids.index(item.id) + 1} of {order.total}"

    def _explain(self, page: Page) -> str:
        """Why the chosen item is counted, in its column and in its place (X1, F2)."""
        if page.item_id is None:
            return '<p class="note">Click a card to see why it is counted and placed there.</p>'
        storage = self.storage
        try:
            explanation = explain(storage, page.item_id, page.at, policy=self.policy)
            focus = explain_focus(storage, page.item_id, page.at)
        except CrmCountersError as error:
            return _refused(error)
        item = storage.item(page.item_id)
        responsible = storage.user(item.responsible_id)
        reasons = "".join(
            f'<li><span class="rule">{_e(reason.rule)}</span> {_e(reason.text)}</li>'
            for reason in explanation.reasons
        )
        return (
            f'<div class="explain" data-item="{_e(item.id)}">'
            f"<h3>{badge_html(explanation.badge)} {_e(item.title or item.id)} "
            f"<small>{_e(item.id)} · {_e(item.entity_type)} · responsible "
            f"{_e(responsible.name)}</small></h3>"
            f"<p>Incoming {explanation.incoming}, Planned {explanation.planned}; "
            f"{_e(_COLUMN_NAMES[explanation.column])} #{explanation.position + 1} in "
            f"{_e(responsible.name)}'s Activities view{self._kanban_place(page, item)}.</p>"
            f'<ul class="reasons">{reasons}'
            f'<li><span class="rule">{_e(focus.rule)}</span> {_e(focus.text)}</li></ul>'
            f'<p class="note">All of this holds until '
            f"{_until(explanation.valid_until, responsible)} (C9, F5).</p></div>"
        )


def _until(until: datetime | None, user: User) -> str:
    """When an answer stops holding, escaped: a local instant, or "something changes"."""
    return "something changes" if until is None else _e(_local(until, user))


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _hidden(page: Page, *, drop: str) -> str:
    """The page's parameters as hidden inputs, but `drop` (a form's own select)."""
    values = {
        "user": page.user.id,
        "pipeline": None if page.pipeline is None else page.pipeline.id,
        "span": page.span.value,
        "at": instant_text(page.at),
    }
    return "".join(
        f'<input type="hidden" name="{key}" value="{_e(value)}">'
        for key, value in values.items()
        if key != drop and value
    )


def _options(pairs: Iterable[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(label)}</option>'
        for value, label in pairs
    )


def _controls(explorer: Explorer, page: Page) -> str:
    """Whose eyes, the span, and the time slider over it (X2)."""
    users = _options(((u.id, u.name) for u in explorer.storage.users()), page.user.id)
    spans = _options(((s.value, f"one {s.value}") for s in Span), page.span.value)
    start_ms = int(page.start.astimezone(UTC).timestamp() * 1000)
    step_ms = int(page.span.step.total_seconds() * 1000)
    pipeline = "" if page.pipeline is None else page.pipeline.id
    item = page.item_id or ""
    return (
        '<form id="controls" method="get">'
        f'<label>User <select name="user" id="user">{users}</select></label> '
        f'<label>Span <select name="span" id="span">{spans}</select></label> '
        f'<input type="hidden" name="pipeline" value="{_e(pipeline)}">'
        f'<input type="hidden" name="item" value="{_e(item)}">'
        f'<input type="hidden" name="at" id="at" value="{_e(instant_text(page.at))}">'
        f'<label class="slider">now <input type="range" id="slider" min="0" '
        f'max="{page.notches - 1}" step="1" value="{page.notch}" '
        f'data-start-ms="{start_ms}" data-step-ms="{step_ms}" '
        f'data-zone="{_e(page.user.time_zone)}" aria-label="now"></label> '
        f'<output id="now-label" for="slider">{_e(_local(page.at, page.user))}'
        "</output> "
        "<noscript><button>Show</button></noscript></form>"
    )


def _document(explorer: Explorer, page: Page, content: str, nonce: str) -> str:
    title = explorer.title or "a portal"
    nonce_attr = f' nonce="{_e(nonce)}"' if nonce else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>crmcounters explorer: {_e(title)}</title>"
        f"<style{nonce_attr}>{_STYLE}</style></head><body>"
        "<header><h1>crmcounters explorer</h1>"
        f'<p class="portal">{_e(title)}</p>{_controls(explorer, page)}</header>'
        f"{content}<script{nonce_attr}>{_SCRIPT}</script></body></html>"
    )
