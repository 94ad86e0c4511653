"""The hostile-input fuzzer of issue 12 (G5, R7, docs/reliability.md).

Hypothesis mutates the sample portal (the JSON of `dump_portal(sample_portal())`)
and the sample rule set: a value replaced by a hostile one, a key dropped or
added, a key repeated, the text cut, a byte changed, deep nesting or a huge
number spliced in. Each input is either accepted, and then every query on it
answers or refuses with a library error, or refused with a `CrmCountersError`;
anything else (a traceback, a hang, a blow-up) fails. Through the API and, for
a few examples, through the command line in a real process.

The example counts are fixed (not the profile's) to keep `make test` fast.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcounters import (
    CrmCountersError,
    activities_view,
    counters_of,
    dump_portal,
    explain,
    load_portal,
    sample_portal,
)
from crmcounters._sample import SAMPLE_RULES, sample_bytes
from crmcounters.focus import explain_focus, kanban_board
from crmcounters.rules import RuleEngine, dump_rule_set, load_rule_set

PORTAL = sample_portal()
PORTAL_TEXT = dump_portal(PORTAL)
RULES_TEXT = sample_bytes(SAMPLE_RULES).decode()
#: The R8-R10 sample (client messages, round-robin, set field, triggers): the new rule groups.
CLIENT_RULES_TEXT = (
    Path(__file__).resolve().parent.parent / "examples" / "client_rules.json"
).read_text(encoding="utf-8")
USER_IDS = {user.id for user in PORTAL.storage.users()}
#: Far above what any input within the limits takes; only a hang or a blow-up passes it.
BOUND_SECONDS = 30.0

#: Values the issue and the limits make interesting, put anywhere in a document.
HOSTILE: list[object] = [
    None,
    True,
    0,
    -1,
    2**63,
    10**40,
    1.5,
    1e308,
    "",
    " ",
    "x" * 300,
    "\ud800",
    "1_000",
    "١٢٣",
    "2026-12-14T10:00",
    "9999-12-31T23:59:59-14:00",
    "Mars/Olympus",
    "Europe",
    "A" * 10_000,
    "smart:1",
    "{{Title}}" * 2_000,
    "{{__class__}}",
    [],
    {},
    [1] * 150,
    list(range(0, 527_041, 1_000)),
    {"k": "v"},
    [[[[]]]],
    "all",
    "stage_changed",
    "p-sales",
    "won",
]


def _paths(data: object, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed document: a tuple of keys and indexes from the root."""
    found = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(_paths(value, (*here, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(_paths(value, (*here, index)))
    return found


def _one_of_list(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of `values`, drawn by index: a strategy whose repr does not hold them (some are
    100 kB)."""

    def value(index: int) -> Any:
        return values[index]

    return st.integers(0, len(values) - 1).map(value)


def _mutations(text: str) -> st.SearchStrategy[Callable[[str], str]]:
    """One change to a JSON document's text."""
    paths = _paths(json.loads(text))[1:]

    def replace(path: tuple[Any, ...], value: object) -> Callable[[str], str]:
        def apply(source: str) -> str:
            data = json.loads(source)
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = value
            return json.dumps(data)

        return apply

    def drop(path: tuple[Any, ...]) -> Callable[[str], str]:
        def apply(source: str) -> str:
            data = json.loads(source)
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
            return json.dumps(data)

        return apply

    def add(path: tuple[Any, ...], key: str, value: object) -> Callable[[str], str]:
        def apply(source: str) -> str:
            data = json.loads(source)
            target = data
            for step in path:
                target = target[step]
            if isinstance(target, dict):
                target[key] = value
            elif isinstance(target, list):
                target.append(value)
            return json.dumps(data)

        return apply

    def splice(at: int, piece: str) -> Callable[[str], str]:
        return lambda source: (
            source[: at % (len(source) + 1)] + piece + source[at % (len(source) + 1) :]
        )

    def cut(at: int) -> Callable[[str], str]:
        return lambda source: source[: at % (len(source) + 1)]

    def repeat_key(at: int) -> Callable[[str], str]:
        def apply(source: str) -> str:
            start = source.find('"id": ', at % (len(source) + 1))
            if start < 0:
                return source
            end = source.find(",", start)
            return source[:end] + ", " + source[start:end] + source[end:]

        return apply

    leaf = _one_of_list(HOSTILE) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=5,
    )

    def place(index: int) -> tuple[Any, ...]:  # a closure: the strategy's repr stays short
        return paths[index]

    where = st.integers(0, len(paths) - 1).map(place)
    offset = st.integers(0, len(text))
    pieces = _one_of_list(
        ["[" * 100_000, "9" * 5_000, "NaN", "1e400", '"\\ud800"', "{", "]", '"', "\\", "\x00"]
    )
    return st.one_of(
        st.builds(replace, where, leaf),
        st.builds(drop, where),
        st.builds(add, where, st.text(max_size=12), leaf),
        st.builds(splice, offset, pieces),
        st.builds(cut, offset),
        st.builds(repeat_key, offset),
    )


def _mutated(text: str) -> st.SearchStrategy[str]:
    def apply(changes: list[Callable[[str], str]]) -> str:
        source = text
        for change in changes:
            # a change to a place an earlier change cut, or to text no longer JSON: skipped
            with contextlib.suppress(ValueError, LookupError, TypeError, RecursionError):
                source = change(source)
        return source

    return st.lists(_mutations(text), min_size=1, max_size=3).map(apply)


def _answers(call: Callable[[], object]) -> None:
    """`call()` answers, or refuses with a library error; anything else fails the test."""
    with contextlib.suppress(CrmCountersError):
        call()


def _exercise_portal(source: str) -> None:
    """Load `source`; if it loads, ask it what the commands ask, and round-trip it."""
    try:
        portal = load_portal(source)
    except CrmCountersError:
        return
    storage, now = portal.storage, portal.as_of or PORTAL.as_of
    assert now is not None
    for user in storage.users():
        _answers(lambda user=user: counters_of(storage, user.id, now, policy=portal.access))
        _answers(lambda user=user: activities_view(storage, user.id, now, policy=portal.access))
    viewers = [user.id for user in storage.users()][:1]
    for pipeline in storage.pipelines():
        for viewer in viewers:
            _answers(
                lambda pipeline=pipeline, viewer=viewer: kanban_board(
                    storage, pipeline.entity_type, pipeline.id, viewer, now, policy=portal.access
                )
            )
    for item in list(storage.items())[:5]:
        _answers(lambda item=item: explain(storage, item.id, now))
        _answers(lambda item=item: explain_focus(storage, item.id, now))
    assert load_portal(dump_portal(portal)).storage.users() is not None  # accepted: round-trips


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(PORTAL_TEXT))
def test_g5_a_mutated_sample_portal_is_accepted_or_refused_with_a_library_error(
    source: str,
) -> None:
    started = time.monotonic()
    _exercise_portal(source)
    assert time.monotonic() - started < BOUND_SECONDS


def _exercise_rules(source: str) -> None:
    started = time.monotonic()
    try:
        rule_set = load_rule_set(source, pipelines=PORTAL.storage.pipelines(), user_ids=USER_IDS)
    except CrmCountersError:
        return
    _answers(lambda: RuleEngine.for_storage(rule_set, PORTAL.storage))
    assert load_rule_set(dump_rule_set(rule_set)) == rule_set  # accepted: round-trips
    assert time.monotonic() - started < BOUND_SECONDS


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(RULES_TEXT))
def test_r7_a_mutated_sample_rule_set_is_accepted_or_refused_with_a_library_error(
    source: str,
) -> None:
    _exercise_rules(source)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(CLIENT_RULES_TEXT))
def test_r10_a_mutated_client_rule_set_is_accepted_or_refused_with_a_library_error(
    source: str,
) -> None:
    """R8-R10's actions and triggers (examples/client_rules.json) mutated the same way."""
    _exercise_rules(source)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=_mutated(PORTAL_TEXT))
def test_g5_the_cli_on_a_mutated_portal_answers_or_prints_one_error_line(
    source: str, tmp_path: Path
) -> None:
    """In a real process: exit 0, or exit 1 with one `crmcounters: error:` line."""
    file = tmp_path / "portal.json"
    file.write_text(source, encoding="utf-8", errors="surrogatepass")
    done = subprocess.run(
        [sys.executable, "-m", "crmcounters", "view", str(file), "--user", "u-piotr"],
        capture_output=True,
        timeout=BOUND_SECONDS * 4,
        check=False,
    )
    err = done.stderr.decode("utf-8", "backslashreplace")
    assert done.returncode in (0, 1), err
    assert "Traceback" not in err
    if done.returncode == 1:
        assert err.startswith("crmcounters: error: ")
        assert err.count("\n") == 1
