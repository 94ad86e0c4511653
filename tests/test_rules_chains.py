"""P4: a chain that restarts itself through delayed jobs stops at the depth limit (R6), with
the stop recorded and ids kept short; the ping-pong set of issue 14 over a whole day."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from _build_rules import MINUTE, deal, ping_pong_rules, runtime
from crmcounters import load_portal
from crmcounters._sample import SAMPLE_PORTAL, sample_bytes
from crmcounters._simulation import simulate
from crmcounters.rules import MAX_PARENT_ID, CascadeError, Delay, derived_id, load_rule_set

ONE_MINUTE = Delay(after=1, unit="minutes")


def _stage_steps(chain: tuple[str, ...]) -> list[str]:
    """The stage moves of a chain (task steps name generated task ids, which differ)."""
    return [step for step in chain if "->" in step]


def test_p4_a_delayed_job_carries_the_depth_and_chain_that_scheduled_it() -> None:
    rt = runtime(ping_pong_rules(ONE_MINUTE).rules, ping_pong_rules(ONE_MINUTE).triggers)
    rt.create_item(deal())
    [job] = rt.pending
    assert (job.depth, job.chain) == (0, ("deal-1: None -> new",))
    rt.advance(MINUTE)  # ping done -> Preparation (depth 2): the pong job is two steps deeper
    [job] = rt.pending
    assert job.rule_id == "r-pong-done"
    assert job.depth == 2
    assert _stage_steps(job.chain) == ["deal-1: None -> new", "deal-1: new -> preparation"]


def test_p4_a_chain_through_delays_stops_at_the_limit_as_the_immediate_chain_does() -> None:
    """The same loop, immediate or with 1-minute delays, is cut after the same steps."""
    immediate = ping_pong_rules()
    rt = runtime(immediate.rules, immediate.triggers, max_depth=9)
    with pytest.raises(CascadeError) as caught:
        rt.create_item(deal())
    delayed = ping_pong_rules(ONE_MINUTE)
    rt = runtime(delayed.rules, delayed.triggers, max_depth=9)
    rt.create_item(deal())
    rt.advance(timedelta(hours=1))
    [stop] = [skip for _, skip in rt.skips if skip.chain]
    assert len(stop.chain) == len(caught.value.chain) == 11  # the event, 9 steps, one too many
    assert _stage_steps(stop.chain) == _stage_steps(caught.value.chain)
    assert stop.job_id is not None
    assert stop.source_id in {"r-ping-done", "r-pong-done"}
    assert "did not settle within 9 steps" in stop.reason
    assert "\n" not in stop.reason
    assert len(rt.pending) == 0  # the chain is over: nothing left to run
    assert rt.advance(timedelta(days=1)) == []


def test_p4_an_outside_event_starts_a_new_chain_at_depth_zero() -> None:
    rules = ping_pong_rules(ONE_MINUTE)
    rt = runtime(rules.rules, rules.triggers, max_depth=5)
    rt.create_item(deal())
    rt.advance(timedelta(hours=1))
    assert len([skip for _, skip in rt.skips if skip.chain]) == 1
    stage = rt.storage.item("deal-1").stage_id
    rt.move("deal-1", "preparation" if stage == "new" else "new")  # a user acts again
    [job] = rt.pending
    assert job.depth == 0
    rt.advance(timedelta(hours=1))
    assert len([skip for _, skip in rt.skips if skip.chain]) == 2


def test_p4_generated_ids_stay_short_along_a_chain() -> None:
    rules = ping_pong_rules(ONE_MINUTE)
    rt = runtime(rules.rules, rules.triggers)
    rt.create_item(deal())
    rt.advance(timedelta(hours=1))
    tasks = rt.storage.tasks_of_item("deal-1")
    events = rt.storage.events_of_item("deal-1")
    assert len(tasks) == 9  # one per stage entered before the stop
    jobs = [job.id for outcome in rt.outcomes for job in outcome.scheduled]
    ids = [t.id for t in tasks] + [e.id for e in events] + jobs
    longest = MAX_PARENT_ID + 1 + len("~r-pong-done~done~") + MAX_PARENT_ID + len("~t-pong")
    assert max(len(i) for i in ids) <= longest
    assert len(set(ids)) == len(ids)


def test_p4_derived_id_keeps_a_short_parent_and_digests_a_long_one() -> None:
    assert derived_id("move-2", "r-call", "activity") == "move-2~r-call~activity"
    long = "x" * (MAX_PARENT_ID + 1)
    shortened = derived_id(long, "r-call")
    assert shortened.endswith("~r-call")
    assert len(shortened) == 25 + len("~r-call")
    assert shortened == derived_id(long, "r-call")  # deterministic (X2)
    assert shortened != derived_id(long + "y", "r-call")


def test_p4_the_ping_pong_set_over_a_day_on_the_sample_portal_stops_every_chain() -> None:
    portal = load_portal(sample_bytes(SAMPLE_PORTAL))
    playing = [
        item.id
        for item in portal.storage.items()
        if item.pipeline_id == "p-sales" and item.stage_id in ("new", "preparation")
    ]
    start = datetime.fromisoformat("2026-12-14T10:00+01:00")
    runtime_ = simulate(portal, ping_pong_rules(ONE_MINUTE), start, start + timedelta(days=1))
    stops = [skip for _, skip in runtime_.skips if skip.chain]
    assert sorted(skip.item_id for skip in stops) == sorted(playing)
    assert len(runtime_.pending) == 0
    for skip in stops:
        assert len(skip.chain) == 18  # the entry, the 16 steps allowed, the one too many


PING_PONG_FILE = Path(__file__).resolve().parent.parent / "examples" / "ping_pong_rules.json"


def test_p4_the_example_ping_pong_file_is_the_set_these_tests_run() -> None:
    """docs/production.md simulates examples/ping_pong_rules.json: the issue's set."""
    assert load_rule_set(PING_PONG_FILE.read_bytes()) == ping_pong_rules(ONE_MINUTE)


# The peak resident size of this process's own memory (VmHWM). Not ru_maxrss: Linux carries
# the spawning process's peak across exec, so a large pytest parent would be counted.
_MEASURED = """
import sys
from crmcounters._cli import main
code = main(sys.argv[1:])
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
sys.stderr.write(f"maxrss_kib={peak}\\n")
sys.exit(code)
"""


def test_p4_cli_simulate_of_the_ping_pong_set_over_a_day_ends_under_200_mb_in_one_line_each(
    tmp_path: Path,
) -> None:
    """The issue's report: 3.9 GB and a MemoryError traceback after 20 minutes; now a day."""
    args = [
        "simulate",
        "-",  # replaced below: the sample portal's file
        "--rules",
        str(PING_PONG_FILE),
        "--from",
        "2026-12-14T10:00+01:00",
        "--to",
        "2026-12-15T10:00+01:00",
    ]
    portal = tmp_path / "portal.json"
    portal.write_bytes(sample_bytes(SAMPLE_PORTAL))
    args[1] = str(portal)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a hang, not a timing assertion
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    maxrss_kib = int(done.stderr.rsplit("maxrss_kib=", 1)[1])
    assert maxrss_kib < 200 * 1024
    lines = done.stdout.splitlines()
    assert lines[0].endswith("6 chains stopped at the depth limit (R6, P4)")
    stopped = [line for line in lines[1:] if " stopped " in line]
    assert len(stopped) == 6
    for line in stopped:
        assert "did not settle within 16 steps" in line
    assert lines[-1] == "0 jobs pending; next due never"
    as_json = subprocess.run(
        [sys.executable, "-m", "crmcounters", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    document = json.loads(as_json.stdout)
    assert len(document["stopped"]) == 6
    assert all(len(stop["chain"]) == 18 for stop in document["stopped"])
