"""The `crmcounters` command line: a thin shell over the pure core (docs/cli.md).

Each subcommand loads a portal file, takes the instant from `--at` (default:
the system clock), calls the core and prints a human view or, with `--json`,
a JSON document. Every expected failure prints one line
`crmcounters: error: …` and exits 1; usage mistakes exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TextIO

from . import __version__
from ._access import AccessLevel
from ._badges import Badge, BadgeColour, item_badge
from ._clock import SystemClock
from ._counters import CounterResult, counters_of
from ._demo import run_demo
from ._errors import CrmCountersError, InputFileError
from ._explain import explain
from ._host import DEFAULT_BATCH_SIZE, RuleHost
from ._instant import FROM_AT, RANGE_TEXT, default_instant, parse_instant
from ._limits import DEFAULT_MAX_FILE_BYTES
from ._portal import Portal, dump_portal, load_portal, read_portal, write_portal
from ._reminders import reminder_feed
from ._sample import SAMPLE_PORTAL, SAMPLE_RULES, sample_bytes
from ._simulation import describe_effect, simulate
from ._smart import NoSuggestion, suggest_smart_activity
from ._source import read_input_file
from ._storage import Storage
from ._view import activities_view
from ._worker import DEFAULT_POLL_INTERVAL, Worker, stop_on_signals
from .focus import explain_focus, kanban_board
from .rules import (
    DEFAULT_LEASE,
    RuleEngine,
    RuleSet,
    RuleSetError,
    load_rule_set,
)
from .sql import (
    Progress,
    SqlJobStore,
    SqlOutbox,
    SqlStorage,
    export_portal,
    import_portal,
    open_storage,
)

__all__ = ["main"]


class CliError(CrmCountersError):
    """A command-line mistake the user can fix (a bad --at, a missing --viewer…)."""


# -- output helpers ------------------------------------------------------------

_ANSI = {
    BadgeColour.GREEN: "\x1b[42;30m",
    BadgeColour.RED: "\x1b[41;97m",
    BadgeColour.GREY: "\x1b[100;97m",
}
_RESET = "\x1b[0m"


class Out:
    """Where a command writes, and whether it may use colour (a terminal, NO_COLOR unset).

    `err` is standard error: progress lines go there, on a terminal only.
    """

    def __init__(
        self, stream: TextIO, *, colour: bool | None = None, err: TextIO | None = None
    ) -> None:
        self.stream = stream
        self.err = sys.stderr if err is None else err
        #: The first line of a human answer: the instant it is for, and where that came from.
        self.instant = ""
        if colour is None:
            colour = stream.isatty() and "NO_COLOR" not in os.environ
        self.colour = colour

    def line(self, text: str = "") -> None:
        """Write one line."""
        self.stream.write(text + "\n")

    def badge(self, badge: Badge) -> str:
        """A badge as `[red 3]`, `[grey 0•]`, coloured on a terminal."""
        label = f"{badge.colour.value} {badge.number}{'•' if badge.dot else ''}"
        if self.colour:
            return f"{_ANSI[badge.colour]} {badge.number}{'•' if badge.dot else ''} {_RESET}"
        return f"[{label}]"


def _iso(value: datetime | None, zone: tzinfo) -> str | None:
    """An instant for people: ISO 8601 in `zone`, the zone of the user it is shown for (X3)."""
    return None if value is None else value.astimezone(zone).isoformat()


def _emit_json(payload: Any, out: Out) -> None:
    json.dump(payload, out.stream, indent=2, ensure_ascii=False)
    out.stream.write("\n")


def badge_json(badge: Badge, zone: tzinfo) -> dict[str, Any]:
    """A badge as the JSON of docs/cli.md."""
    return {
        "item_id": badge.item_id,
        "colour": badge.colour.value,
        "number": badge.number,
        "dot": badge.dot,
        "incoming": badge.incoming,
        "planned": badge.planned,
        "open_activities": badge.open_activities,
        "valid_until": _iso(badge.valid_until, zone),
    }


def counters_json(result: CounterResult, zone: tzinfo) -> dict[str, Any]:
    """Counters as the JSON of docs/cli.md."""
    return {
        "user_id": result.user_id,
        "at": _iso(result.at, zone),
        "incoming": result.incoming,
        "planned": result.planned,
        "incoming_items": result.incoming_items,
        "planned_items": result.planned_items,
        "items": result.items,
        "total": result.total,
        "blocked": result.blocked,
        "open_activities": result.open_activities,
        "cap": result.cap,
        "valid_until": _iso(result.valid_until, zone),
    }


# -- arguments -----------------------------------------------------------------


def _default_viewer(portal: Portal) -> str:
    """The first user the portal grants access level ALL (the board's default reader)."""
    for user in portal.storage.users():
        if portal.access.level_of(user.id) is AccessLevel.ALL:
            return user.id
    raise CliError("no user has access level 'all' in this portal; pass --viewer ID")


# -- commands ------------------------------------------------------------------


def cmd_counters(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """Incoming, Planned, item counts, blocked, valid_until and per-item badges (C1-C9)."""
    storage, policy = portal.storage, portal.access
    viewer = args.user if args.viewer is None else args.viewer
    entity, pipeline = args.entity, args.pipeline
    if pipeline is not None and entity is None:
        raise CliError("--pipeline needs --entity (the section's entity type, C10)")
    result = counters_of(
        storage,
        args.user,
        now,
        entity_type=entity,
        pipeline_id=pipeline,
        viewer_id=viewer,
        policy=policy,
    )
    user = storage.user(args.user)
    zone = user.zone
    items = sorted(
        (
            item
            for item in storage.items_of(args.user)
            if (entity is None or item.entity_type == entity)
            and (pipeline is None or item.pipeline_id == pipeline)
        ),
        key=lambda item: item.id,
    )
    badges = [item_badge(storage, item.id, viewer, now, policy=policy) for item in items]
    if args.json:
        _emit_json(
            {
                **counters_json(result, zone),
                "viewer_id": viewer,
                "entity_type": entity,
                "pipeline_id": pipeline,
                "badges": [badge_json(b, zone) for b in badges],
            },
            out,
        )
        return
    local = now.astimezone(zone)
    out.line(out.instant)
    section = ""
    if entity is not None:
        section = f", {entity}" + ("" if pipeline is None else f" in pipeline {pipeline}")
    out.line(
        f"Counters of {user.name} ({user.id}){section} at {local:%Y-%m-%d %H:%M} "
        f"{user.time_zone}" + ("" if viewer == args.user else f", as seen by {viewer}")
    )
    if result.blocked:
        out.line(
            f"  BLOCKED: {result.open_activities} open activities, over the cap {result.cap} (C8)"
        )
    else:
        out.line(f"  Incoming {result.incoming:>4}   on {result.incoming_items} items")
        out.line(f"  Planned  {result.planned:>4}   on {result.planned_items} items")
    until = result.valid_until
    out.line(
        "  valid until "
        + (until.astimezone(user.zone).isoformat() if until else "something changes")
    )
    out.line()
    titles = {item.id: item.title for item in items}
    for badge in badges:
        out.line(f"  {out.badge(badge):<12} {badge.item_id:<14} {titles[badge.item_id]}")


def _before(offset: int) -> str:
    """An offset for people: "at the deadline", "15 min before", "2 h before", "1 day before"."""
    if offset == 0:
        return "at the deadline"
    if offset % 1440 == 0:
        days = offset // 1440
        return f"{days} day{'s' if days != 1 else ''} before"
    if offset % 60 == 0:
        return f"{offset // 60} h before"
    return f"{offset} min before"


def cmd_reminders(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """The reminder pings falling due between --from and --to, in time order (N1)."""
    storage = portal.storage
    start = parse_instant(args.start, "--from") if args.start else now
    end = parse_instant(args.end, "--to") if args.end else start + timedelta(days=1)
    user = None if args.user is None else storage.user(args.user)
    pings = reminder_feed(storage, start, end, user_id=args.user)
    zones: dict[str, tzinfo] = {}

    def zone_of(user_id: str) -> tzinfo:  # each ping in its recipient's zone (X3)
        if user_id not in zones:
            zones[user_id] = storage.user(user_id).zone
        return zones[user_id]

    shown = user.zone if user is not None else (start.tzinfo or UTC)
    if args.json:
        _emit_json(
            {
                "from": _iso(start, shown),
                "to": _iso(end, shown),
                "user_id": args.user,
                "reminders": [
                    {
                        "id": ping.id,
                        "at": _iso(ping.at, zone_of(ping.recipient_id)),
                        "recipient_id": ping.recipient_id,
                        "activity_id": ping.activity_id,
                        "item_id": ping.item_id,
                        "offset_minutes": ping.offset_minutes,
                        "deadline": _iso(ping.deadline, zone_of(ping.recipient_id)),
                        "subject": storage.activity(ping.activity_id).subject,
                    }
                    for ping in pings
                ],
            },
            out,
        )
        return
    out.line(out.instant)
    whose = "" if user is None else f" of {user.name} ({user.id}, {user.time_zone})"
    count = f"{len(pings)} ping{'s' if len(pings) != 1 else ''}"
    out.line(
        f"Reminders{whose} from {start.astimezone(shown).isoformat(timespec='minutes')} "
        f"to {end.astimezone(shown).isoformat(timespec='minutes')}: {count}"
    )
    for ping in pings:
        local = ping.at.astimezone(zone_of(ping.recipient_id))
        subject = storage.activity(ping.activity_id).subject
        who = "" if user is not None else f"{ping.recipient_id:<12} "
        out.line(
            f"  {local:%Y-%m-%d %H:%M %z}  {who}{ping.activity_id:<10} {ping.item_id:<14} "
            f"{_before(ping.offset_minutes):<16} {subject}"
        )


def cmd_view(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """The Activities view: six columns in focus order (V1, V2)."""
    storage, policy = portal.storage, portal.access
    viewer = args.user if args.viewer is None else args.viewer
    view = activities_view(
        storage,
        args.user,
        now,
        viewer_id=viewer,
        policy=policy,
        limit=args.limit,
        cursor=args.cursor,
    )
    zone = storage.user(args.user).zone
    if args.json:
        _emit_json(
            {
                "user_id": view.user_id,
                "at": _iso(view.at, zone),
                "time_zone": view.time_zone,
                "today": view.today.isoformat(),
                "valid_until": _iso(view.valid_until, zone),
                "columns": {column.value: list(ids) for column, ids in view.columns.items()},
                "totals": {column.value: total for column, total in view.totals.items()},
                "next_cursors": {
                    column.value: cursor for column, cursor in view.next_cursors.items()
                },
            },
            out,
        )
        return
    user = storage.user(args.user)
    out.line(out.instant)
    out.line(f"Activities of {user.name} on {view.today.isoformat()} ({view.time_zone})")
    for column, item_ids in view.columns.items():
        out.line(f"\n{column.value.replace('_', ' ').title()} ({view.totals[column]})")
        for item_id in item_ids:
            badge = item_badge(storage, item_id, viewer, now, policy=policy)
            out.line(f"  {out.badge(badge):<12} {item_id:<14} {storage.item(item_id).title}")
        _more(out, view.next_cursors[column])


def cmd_kanban(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """A pipeline's stages with focus-ordered cards and badges (F1, F4, C6)."""
    storage, policy = portal.storage, portal.access
    viewer = _default_viewer(portal) if args.viewer is None else args.viewer
    board = kanban_board(
        storage,
        args.entity,
        args.pipeline,
        viewer,
        now,
        limit=args.limit,
        cursor=args.cursor,
        policy=policy,
    )
    zone = storage.user(viewer).zone
    if args.json:
        _emit_json(
            {
                "entity_type": board.entity_type,
                "pipeline_id": board.pipeline_id,
                "viewer_id": board.viewer_id,
                "at": _iso(board.at, zone),
                "valid_until": _iso(board.valid_until, zone),
                "columns": [
                    {
                        "stage_id": column.stage.id,
                        "stage": column.stage.name,
                        "total": column.total,
                        "valid_until": _iso(column.valid_until, zone),
                        "next_cursor": column.next_cursor,
                        "cards": [
                            {
                                "item_id": card.item.id,
                                "title": card.item.title,
                                "responsible_id": card.item.responsible_id,
                                "focus_time": _iso(card.focus_time, zone),
                                "unread": card.unread,
                                "badge": None
                                if card.badge is None
                                else badge_json(card.badge, zone),
                            }
                            for card in column.cards
                        ],
                    }
                    for column in board.columns
                ],
            },
            out,
        )
        return
    pipeline = storage.pipeline(args.pipeline)
    out.line(out.instant)
    out.line(
        f"{pipeline.name or pipeline.id} ({args.entity}) as seen by {viewer} at "
        f"{now.astimezone(zone).isoformat()}"
    )
    for column in board.columns:
        out.line(f"\n== {column.stage.name} ({column.total}) ==")
        for card in column.cards:
            mark = "● " if card.unread else "  "
            shown = "" if card.badge is None else out.badge(card.badge)
            out.line(f"  {mark}{shown:<12} {card.item.id:<14} {card.item.title}")
        _more(out, column.next_cursor)


def _more(out: Out, cursor: str | None) -> None:
    """The line that says how to see a column's next page, when it has one."""
    if cursor is not None:
        out.line(f"  … more: --cursor {cursor}")


def cmd_explain(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """Why the item is counted, placed and ordered (X1)."""
    storage, policy = portal.storage, portal.access
    item = storage.item(args.item)
    viewer = item.responsible_id if args.viewer is None else args.viewer
    explanation = explain(storage, args.item, now, viewer_id=viewer, policy=policy)
    focus = explain_focus(storage, args.item, now)
    zone = storage.user(item.responsible_id).zone
    if args.json:
        _emit_json(
            {
                "item_id": explanation.item_id,
                "at": _iso(explanation.at, zone),
                "responsible_id": explanation.responsible_id,
                "counted_for": list(explanation.counted_for),
                "incoming": explanation.incoming,
                "planned": explanation.planned,
                "badge": badge_json(explanation.badge, zone),
                "column": explanation.column.value,
                "position": explanation.position,
                "valid_until": _iso(explanation.valid_until, zone),
                "reasons": [
                    {
                        "rule": r.rule,
                        "text": r.text,
                        "activity_id": r.activity_id,
                        "at": _iso(r.at, zone),
                    }
                    for r in explanation.reasons
                ],
                "focus": {
                    "focus_time": _iso(focus.focus_time, zone),
                    "rule": focus.rule,
                    "source": focus.source.describe()
                    if hasattr(focus.source, "describe")
                    else str(focus.source),
                    "next_change": _iso(focus.next_change, zone),
                    "unread": focus.unread,
                },
            },
            out,
        )
        return
    out.line(out.instant)
    out.line(str(explanation))
    out.line(focus.text)


def cmd_suggest(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """The smart-activity draft, or the reason for none (S1-S4)."""
    storage = portal.storage
    answer = suggest_smart_activity(storage, args.item, args.user, now, locale=args.locale)
    user = storage.user(args.user)
    zone = user.zone
    if isinstance(answer, NoSuggestion):
        if args.json:
            _emit_json(
                {
                    "suggested": False,
                    "item_id": answer.item_id,
                    "user_id": answer.user_id,
                    "reason": answer.reason.value,
                    "detail": answer.detail,
                    "until": _iso(answer.until, zone),
                    "open_activity_ids": list(answer.open_activity_ids),
                    "open_activity_count": answer.open_activity_count,
                    "cap": answer.cap,
                },
                out,
            )
            return
        out.line(out.instant)
        out.line(f"No suggestion for {answer.item_id}: {answer.reason.value}")
        out.line(f"  {answer.detail}")
        return
    if args.json:
        _emit_json(
            {
                "suggested": True,
                "item_id": answer.item_id,
                "text": answer.text,
                "deadline": _iso(answer.deadline, zone),
                "responsible_id": answer.responsible_id,
                "author_id": answer.author_id,
                "suggested_at": _iso(answer.suggested_at, zone),
            },
            out,
        )
        return
    out.line(out.instant)
    out.line(f"Smart activity for {answer.item_id}: {answer.text!r}")
    out.line(f"  deadline {answer.deadline.astimezone(user.zone).isoformat()} ({user.time_zone})")
    out.line(f"  responsible {answer.responsible_id}")


def read_rules(
    path: str | None, storage: Storage, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> RuleSet:
    """The rule set in a file (None: the shipped sample), checked against the portal in
    `storage`; every problem on one line (R7)."""
    try:
        source = (
            sample_bytes(SAMPLE_RULES)
            if path is None
            else read_input_file(path, max_bytes=max_bytes)
        )
        return load_rule_set(
            source,
            pipelines=storage.pipelines(),
            user_ids={user.id for user in storage.users()},
            department_ids={department.id for department in storage.departments()},
            activity_type_ids={kind.id for kind in storage.settings.activity_types},
        )
    except InputFileError as error:
        raise CliError(f"rules {error}") from None
    except RuleSetError as error:
        count = len(error.problems)
        listed = "; ".join(str(problem) for problem in error.problems)
        raise CliError(
            f"rules {path or SAMPLE_RULES}: {count} problem{'s' if count != 1 else ''}: {listed}"
        ) from None


def cmd_simulate(args: argparse.Namespace, portal: Portal, _now: datetime, out: Out) -> None:
    """The timeline of effects the rules produce between --from and --to (R1-R6, P4)."""
    start = parse_instant(args.start, "--from")
    end = parse_instant(args.end, "--to")
    zone = start.tzinfo or UTC  # shown in the zone --from was written in
    runtime = simulate(
        portal, read_rules(args.rules, portal.storage, args.max_file_size), start, end
    )
    rows = [(at, effect.item_id, *describe_effect(effect)) for at, effect in runtime.log]
    stops = [(at, skip) for at, skip in runtime.skips if skip.chain]  # cascades cut at the limit
    next_due = runtime.pending.next_due()
    if args.json:
        _emit_json(
            {
                "from": _iso(start, zone),
                "to": _iso(end, zone),
                "effects": [
                    {"at": _iso(at, zone), "item_id": item_id, "kind": kind, "text": text}
                    for at, item_id, kind, text in rows
                ],
                "stopped": [
                    {
                        "at": _iso(at, zone),
                        "item_id": skip.item_id,
                        "job_id": skip.job_id,
                        "reason": skip.reason,
                        "chain": list(skip.chain),
                    }
                    for at, skip in stops
                ],
                "pending_jobs": len(runtime.pending),
                "next_due": _iso(next_due, zone),
            },
            out,
        )
        return
    stopped = f", {len(stops)} chains stopped at the depth limit (R6, P4)" if stops else ""
    out.line(f"Rules from {start.isoformat()} to {end.isoformat()}: {len(rows)} effects{stopped}")
    lines = rows + [(at, skip.item_id, "stopped", _one_line(skip.reason)) for at, skip in stops]
    for at, item_id, kind, text in sorted(lines, key=lambda line: line[0]):
        out.line(f"  {at.astimezone(zone):%Y-%m-%d %H:%M}  {item_id:<14} {kind:<20} {text}")
    out.line(f"{len(runtime.pending)} jobs pending; next due {_iso(next_due, zone) or 'never'}")


def cmd_demo(args: argparse.Namespace, portal: Portal, now: datetime, out: Out) -> None:
    """A simulated working day on the sample portal (see `crmcounters._demo`)."""
    run_demo(portal, read_rules(args.rules, portal.storage, args.max_file_size), out, start=now)


def cmd_worker(args: argparse.Namespace, log_stream: TextIO) -> None:
    """Run the rules' due jobs against a database until stopped (P2; docs/production.md)."""
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    library_log = logging.getLogger("crmcounters")
    level = library_log.level
    library_log.addHandler(handler)
    library_log.setLevel(args.log_level)
    try:
        for name, value in (
            ("--batch", args.batch),
            ("--lease", args.lease),
            ("--poll", args.poll),
        ):
            if value <= 0:
                raise CliError(f"{name}: must be above 0, got {value}")
        try:
            storage = open_storage(args.db)
        except CrmCountersError as error:
            raise CliError(f"--db: {error}") from None
        with storage:
            rule_set = read_rules(args.rules, storage, args.max_file_size)
            try:  # issue 17: the host's SMS gateway limit (R9)
                engine = RuleEngine.for_storage(
                    rule_set, storage, sms_max_length=args.sms_max_length
                )
            except CrmCountersError as error:
                raise CliError(f"--sms-max-length: {error}") from None
            host = RuleHost(
                engine,
                storage,
                SqlJobStore(storage),
                SqlOutbox(storage),
                batch_size=args.batch,
                lease=timedelta(seconds=args.lease),
                reminders=not args.no_reminders,
            )
            worker = Worker(host, poll_interval=timedelta(seconds=args.poll))
            with stop_on_signals(worker):
                worker.run(once=args.once)
    finally:
        library_log.removeHandler(handler)
        library_log.setLevel(level)


def cmd_jobs(args: argparse.Namespace, out: TextIO) -> None:
    """List the rules' pending and set-aside jobs in a database; put set-aside ones back (P2)."""
    if args.retry_all and args.retry:
        raise CliError("--retry-all: not with --retry ID (it puts every set-aside job back)")
    try:
        storage = open_storage(args.db)
    except CrmCountersError as error:
        raise CliError(f"--db: {error}") from None
    with storage:
        jobs = SqlJobStore(storage)
        if args.retry or args.retry_all:
            back = jobs.retry_failed(None if args.retry_all else args.retry)
            out.write(f"put back: {', '.join(back) if back else 'none'}\n")
        failed = jobs.failed()
        out.write(f"pending jobs: {len(jobs):,}\nset aside: {len(failed):,}\n")
        for one in failed:
            due = one.job.due_at.isoformat(timespec="seconds")
            reason = _one_line(one.error) or "(no error recorded)"
            out.write(f"  {one.job.id}  due {due}  attempts {one.attempts}  {reason}\n")


#: The port `crmcounters serve` listens on unless told otherwise.
SERVE_PORT = 8765


def cmd_serve(args: argparse.Namespace, portal: Portal, _now: datetime, out: Out) -> None:
    """A local, read-only web page: team, Activities view, Kanban, explain, a time slider."""
    from .explorer import Explorer, make_server  # the web edge loads only when asked for

    explorer = Explorer.of_portal(portal, at=parse_instant(args.at) if args.at else None)
    where = {} if args.host is None else {"host": args.host}
    try:
        server = make_server(explorer, port=args.port, **where)
    except OSError as error:
        raise CliError(
            f"cannot listen on {args.host or '127.0.0.1'}:{args.port}: {error.strerror or error}; "
            "pick another --port (0 takes a free one)"
        ) from None
    with server:
        out.line(f"crmcounters explorer on {server.url} (read-only; Ctrl+C stops it)")
        if explorer.at is None:
            out.line("it opens at the clock's now; its time slider moves now (X2)")
        else:
            when = explorer.at.isoformat(timespec="seconds")
            out.line(f"it opens at {when} ({explorer.at_source}); its time slider moves now (X2)")
        out.stream.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            out.line("stopped")


# -- the parser and main ---------------------------------------------------------

Command = Callable[[argparse.Namespace, Portal, datetime, Out], None]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The argument parser and the function behind each subcommand; every option has help."""
    parser = argparse.ArgumentParser(
        prog="crmcounters",
        description="Counters, the Activities view, focus order, smart activities and "
        "automation rules over a portal JSON file or a database, and a local web page to "
        "see them (docs/cli.md). Each answer is for one instant: --at, else the portal's "
        "as_of, else now.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"crmcounters {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="what to answer (crmcounters COMMAND --help says more)",
    )
    handlers: dict[str, Command] = {}

    def command(
        name: str, handler: Command, *, portal: bool = True, json: bool = True, badges: bool = True
    ) -> argparse.ArgumentParser:
        one = sub.add_parser(name, help=(handler.__doc__ or "").splitlines()[0])
        if portal:
            add_source_arguments(one)
        add_size_argument(one)
        one.add_argument(
            "--at",
            metavar="ISO-DATETIME",
            help="answer for this instant, with a UTC offset (default: the portal's as_of, "
            "else now)",
        )
        if json:
            one.add_argument(
                "--json", action="store_true", help="print JSON (schemas in docs/cli.md)"
            )
        if badges:
            one.add_argument(
                "--no-color", action="store_true", help="never colour badges (nor does NO_COLOR)"
            )
        one.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            help="log what the library does on standard error (-vv: more)",
        )
        handlers[name] = handler
        return one

    counters = command("counters", cmd_counters)
    counters.add_argument("--user", required=True, metavar="ID", help="whose counters")
    counters.add_argument(
        "--entity",
        metavar="TYPE",
        help="one section's counters (C10): lead, deal, invoice, quote, contact, company, smart:N",
    )
    counters.add_argument(
        "--pipeline", metavar="ID", help="within --entity, one pipeline's counters (C10)"
    )
    view = command("view", cmd_view)
    view.add_argument("--user", required=True, metavar="ID", help="whose Activities view")
    view.add_argument("--limit", type=int, metavar="N", help="at most N items per column")
    kanban = command("kanban", cmd_kanban)
    kanban.add_argument(
        "--entity", required=True, metavar="TYPE", help="lead, deal, invoice, smart:N"
    )
    kanban.add_argument(
        "--pipeline", required=True, metavar="ID", help="the pipeline (of that entity type)"
    )
    kanban.add_argument("--limit", type=int, metavar="N", help="at most N cards per stage")
    for paged in (view, kanban):
        paged.add_argument(
            "--cursor", metavar="CURSOR", help="continue one column (a page's next cursor)"
        )
    explain_ = command("explain", cmd_explain)
    explain_.add_argument("--item", required=True, metavar="ID", help="the item to explain")
    for one in (counters, view, kanban, explain_):
        one.add_argument(
            "--viewer",
            metavar="ID",
            help="read as this user (access policy, C7); default: the user, the item's "
            "responsible, or for kanban the first user with access to all",
        )
    suggest = command("suggest", cmd_suggest, badges=False)
    suggest.add_argument(
        "--item", required=True, metavar="ID", help="the item whose form is being closed"
    )
    suggest.add_argument("--user", required=True, metavar="ID", help="the user closing the form")
    suggest.add_argument(
        "--locale", default="en", help="language of the text (en, pl, fr, vi, de, es…)"
    )
    simulate_ = command("simulate", cmd_simulate, badges=False)
    simulate_.add_argument(
        "--rules", required=True, metavar="RULES.json", help="the rule set (docs/rules.md)"
    )
    simulate_.add_argument(
        "--from", dest="start", required=True, metavar="ISO-DATETIME", help="where to start"
    )
    simulate_.add_argument(
        "--to", dest="end", required=True, metavar="ISO-DATETIME", help="where to stop"
    )
    reminders = command("reminders", cmd_reminders, badges=False)
    reminders.add_argument(
        "--from",
        dest="start",
        metavar="ISO-DATETIME",
        help="the window's start, included (default: now, as --at says)",
    )
    reminders.add_argument(
        "--to",
        dest="end",
        metavar="ISO-DATETIME",
        help="the window's end, excluded (default: a day after --from)",
    )
    reminders.add_argument("--user", metavar="ID", help="only this user's pings")
    serve = command("serve", cmd_serve, portal=False, json=False, badges=False)
    add_source_arguments(serve, required=False)
    serve.add_argument(
        "--host",
        metavar="ADDRESS",
        help="IP address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=SERVE_PORT,
        metavar="N",
        help=f"port to listen on (default {SERVE_PORT}; 0 picks a free one)",
    )
    jobs = sub.add_parser("jobs", help=(cmd_jobs.__doc__ or "").splitlines()[0])
    jobs.add_argument(
        "--db", required=True, metavar="URL", help="a SQLite file or URL, or a PostgreSQL DSN"
    )
    jobs.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="ID",
        help="put this set-aside job back, claimable at once (repeatable)",
    )
    jobs.add_argument("--retry-all", action="store_true", help="put every set-aside job back")
    worker = sub.add_parser("worker", help=(cmd_worker.__doc__ or "").splitlines()[0])
    worker.add_argument(
        "--db", required=True, metavar="URL", help="a SQLite file or URL, or a PostgreSQL DSN"
    )
    worker.add_argument(
        "--rules", required=True, metavar="RULES.json", help="the rule set (docs/rules.md)"
    )
    add_size_argument(worker)
    worker.add_argument("--once", action="store_true", help="run what is due, then exit (cron)")
    worker.add_argument(
        "--no-reminders",
        action="store_true",
        help="do not put reminder pings in the outbox (N1; another process delivers them)",
    )
    worker.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"jobs claimed at a time (default {DEFAULT_BATCH_SIZE})",
    )
    worker.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE.total_seconds(),
        metavar="SECONDS",
        help="how long a claim holds its jobs (default 300)",
    )
    worker.add_argument(
        "--poll",
        type=float,
        default=DEFAULT_POLL_INTERVAL.total_seconds(),
        metavar="SECONDS",
        help="the longest sleep between looks (default 10)",
    )
    worker.add_argument(  # issue 17 (R9)
        "--sms-max-length",
        type=int,
        metavar="N",
        help="the longest SMS the gateway sends: longer rendered texts are skipped",
    )
    worker.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO",
    )
    demo = command("demo", cmd_demo, portal=False, json=False)  # a show for people only
    add_source_arguments(demo, required=False)
    demo.add_argument(
        "--rules", metavar="RULES.json", help="default: the sample rule set in the package"
    )
    import_ = command("import", cmd_import, portal=False, json=False, badges=False)
    import_.add_argument("portal", metavar="PORTAL", help="portal JSON file to copy")
    import_.add_argument(
        "--db",
        dest="target_db",
        required=True,
        metavar="URL",
        help="an empty database: a SQLite path or sqlite:/// URL, or a postgresql:// DSN "
        "(created if missing)",
    )
    export = command("export", cmd_export, portal=False, json=False, badges=False)
    export.add_argument("--db", required=True, metavar="URL", help=_DB_HELP)
    export.add_argument("output", metavar="OUTPUT", help="portal JSON file to write; - for stdout")
    return parser, handlers


_DB_HELP = (
    "read the portal from a database: a SQLite path or sqlite:/// URL, or a postgresql:// DSN"
)
#: From this many records, loads, imports and exports draw a progress line on a terminal.
PROGRESS_FROM = 10_000


def add_source_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """PORTAL (a JSON file) or --db URL (a database): where a command reads its portal.

    Without `required`, neither means the shipped sample portal.
    """
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "portal",
        metavar="PORTAL",
        nargs="?",
        help="portal JSON file (docs/data-format.md)"
        + ("" if required else "; default: the sample portal in the package"),
    )
    source.add_argument("--db", metavar="URL", help=_DB_HELP)


@contextmanager
def opened_portal(args: argparse.Namespace, out: Out) -> Iterator[Portal]:
    """The portal a command reads: `--db` (a database, closed afterwards), else PORTAL.

    PORTAL None means the shipped sample. A database portal reads through
    `SqlStorage` (docs/storage.md); commands that write (simulate, demo) work
    on an in-memory copy.
    """
    url = getattr(args, "db", None)
    if url is None:
        yield _read_portal(
            getattr(args, "portal", None), _progress(out, "loading"), args.max_file_size
        )
        return
    try:
        storage = open_storage(url)
    except CrmCountersError as error:
        raise CliError(f"--db: {error}") from None
    with storage:
        yield storage.portal()


def _progress(out: Out, verb: str) -> Progress | None:
    """A progress line on standard error, on a terminal only, for PROGRESS_FROM records or
    more (loads, imports, exports)."""
    if not out.err.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < PROGRESS_FROM:
            return
        end = "\n" if done >= total else ""
        out.err.write(f"\r{verb} {done:,} / {total:,} records ({done * 100 // total}%){end}")
        out.err.flush()

    return show


def cmd_import(args: argparse.Namespace, portal: Portal, _now: datetime, out: Out) -> None:
    """Copy a portal JSON file into an empty database, all or nothing (docs/storage.md)."""
    try:
        storage = open_storage(args.target_db, create=True)
    except CrmCountersError as error:
        raise CliError(f"--db: {error}") from None
    with storage:
        count = import_portal(portal, storage, progress=_progress(out, "importing"))
    out.line(f"imported {count:,} records from {args.portal} ({storage.dialect})")


def cmd_export(args: argparse.Namespace, portal: Portal, _now: datetime, out: Out) -> None:
    """Write a database's portal as a portal JSON file (docs/data-format.md)."""
    storage = portal.storage
    if not isinstance(storage, SqlStorage):  # pragma: no cover - --db is required
        raise CliError("export reads a database: pass --db URL")
    copy = export_portal(storage, progress=_progress(out, "exporting"))
    if args.output == "-":
        out.stream.write(dump_portal(copy))
        return
    write_portal(copy, args.output)
    out.err.write(f"exported {len(storage):,} records to {args.output}\n")


def _read_portal(
    path: str | None, progress: Progress | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Portal:
    """The portal in a file (None: the shipped sample); a fault in it names the file, then
    the JSON path. `progress` is told how the load goes (a line on a terminal)."""
    try:
        if path is None:
            return load_portal(sample_bytes(SAMPLE_PORTAL), progress=progress)
        return read_portal(path, progress=progress, max_bytes=max_bytes)
    except InputFileError as error:
        raise CliError(f"portal {error}") from None
    except CrmCountersError as error:
        raise CliError(f"portal {path or SAMPLE_PORTAL}: {error}") from None


def file_size(text: str) -> int:
    """A --max-file-size value: bytes, or with a K, M or G suffix (powers of 1024)."""
    number, scale = text.strip(), 1
    if number[-1:].upper() in _SCALES:
        number, scale = number[:-1], _SCALES[number[-1].upper()]
    if not (number.isascii() and number.isdigit()) or int(number) < 1 or len(number) > 18:
        raise argparse.ArgumentTypeError(
            f"expected a size in bytes such as 500M or 2G, got {text[:40]!r}"
        )
    return int(number) * scale


_SCALES = {"K": 1024, "M": 1024**2, "G": 1024**3}


def add_size_argument(parser: argparse.ArgumentParser) -> None:
    """--max-file-size: the largest portal or rule-set file read (docs/reliability.md)."""
    parser.add_argument(
        "--max-file-size",
        type=file_size,
        default=DEFAULT_MAX_FILE_BYTES,
        metavar="SIZE",
        help=f"read input files up to this size (default {DEFAULT_MAX_FILE_BYTES // 1024**2}M; "
        "K, M, G suffixes)",
    )


#: The options that name a record: an empty one is a mistake, not "the default".
_ID_OPTIONS = ("user", "viewer", "item", "pipeline", "entity")


def _check_ids(args: argparse.Namespace) -> None:
    """Refuse an empty or blank id option (`--viewer ''` would read as no viewer at all)."""
    for name in _ID_OPTIONS:
        value = getattr(args, name, None)
        if value is not None and not value.strip():
            raise CliError(f"--{name}: expected an id, got an empty text")


def _escaping(stream: TextIO) -> None:
    """Let `stream` write what its encoding cannot as backslash escapes, not crash.

    Loaded text is Unicode (lone surrogates are refused at load), but a terminal
    in ASCII or Latin-1 cannot show every character (docs/reliability.md).
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with suppress(ValueError, OSError, AttributeError):  # an odd stream: leave it be
            reconfigure(errors="backslashreplace")


def _verbose(count: int, stream: TextIO) -> ExitStack:
    """-v: the "crmcounters" logger's INFO records on `stream` (-vv: DEBUG) for this run;
    closing the returned stack puts the logger back as it was."""
    undo = ExitStack()
    if count:
        logger = logging.getLogger("crmcounters")
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        undo.callback(logger.setLevel, logger.level)
        undo.callback(logger.removeHandler, handler)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if count == 1 else logging.DEBUG)
    return undo


def _one_line(text: str) -> str:
    """An error message on one line: its own lines joined with "; "."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Entry point of the `crmcounters` console script and `python -m crmcounters`."""
    out_stream = sys.stdout if stdout is None else stdout
    err_stream = sys.stderr if stderr is None else stderr
    for stream in (out_stream, err_stream):
        _escaping(stream)
    parser, handlers = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    args.json = getattr(args, "json", False)  # `demo` has no --json
    plain = getattr(args, "no_color", False) or args.json
    out = Out(out_stream, colour=False if plain else None, err=err_stream)
    verbose = _verbose(getattr(args, "verbose", 0), err_stream)
    try:
        if args.command == "worker":  # reads a database, not a portal file; logs to stderr
            cmd_worker(args, err_stream)
            return 0
        if args.command == "jobs":  # reads a database's job table, not a portal
            cmd_jobs(args, out_stream)
            return 0
        _check_ids(args)
        at = parse_instant(args.at) if args.at else None  # a bad --at before any file is read
        with opened_portal(args, out) as portal:
            now, source = default_instant(at, portal.as_of, SystemClock())
            changes = "" if source == FROM_AT else "; --at changes it"
            out.instant = f"now: {now.isoformat(timespec='seconds')} ({source}{changes})"
            handlers[args.command](args, portal, now, out)
    except CrmCountersError as error:
        err_stream.write(f"crmcounters: error: {_one_line(str(error))}\n")
        return 1
    except OverflowError as error:  # date arithmetic at the ends of what datetime holds
        err_stream.write(
            f"crmcounters: error: a date is out of range ({error}); keep the portal's instants "
            f"between {RANGE_TEXT}\n"
        )
        return 1
    except FileNotFoundError as error:
        err_stream.write(f"crmcounters: error: no such file: {error.filename}\n")
        return 1
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error
        out_stream = open(os.devnull, "w")  # noqa: SIM115  # swallow the final flush
        sys.stdout = out_stream
        return 0
    except OSError as error:
        name = str(error.filename or "")
        where = f" {name[:80]}..." if len(name) > 80 else f" {name}" if name else ""
        err_stream.write(f"crmcounters: error: cannot read{where}: {error.strerror or error}\n")
        return 1
    finally:
        verbose.close()
    return 0
