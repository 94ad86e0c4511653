"""`crmcounters kanban` and `view` page with --limit and --cursor (F1, V2; issue 15)."""

from __future__ import annotations

from test_cli import AT, SAMPLE, run, run_json


def test_f1_kanban_cursor_continues_one_stage() -> None:
    """--limit 1 leaves a next_cursor on a stage with more cards; --cursor shows the next one."""
    args = ("kanban", SAMPLE, "--entity", "deal", "--pipeline", "p-sales", "--at", AT)
    whole = run_json(*args)
    paged = run_json(*args, "--limit", "1")
    column = next(c for c in paged["columns"] if c["next_cursor"] is not None)
    expected = next(c for c in whole["columns"] if c["stage_id"] == column["stage_id"])
    second = run_json(*args, "--limit", "1", "--cursor", column["next_cursor"])
    assert [c["stage_id"] for c in second["columns"]] == [column["stage_id"]]
    shown = [card["item_id"] for card in second["columns"][0]["cards"]]
    assert shown == [card["item_id"] for card in expected["cards"]][1:2]
    code, out, _ = run(*args, "--limit", "1")
    assert code == 0
    assert f"  … more: --cursor {column['next_cursor']}" in out


def test_v2_view_limit_and_cursor() -> None:
    """--limit 2 pages the Today column; its cursor shows the rest, totals stay whole."""
    args = ("view", SAMPLE, "--user", "u-piotr", "--at", AT)
    whole = run_json(*args)
    paged = run_json(*args, "--limit", "2")
    assert paged["totals"]["today"] == len(whole["columns"]["today"])
    assert paged["columns"]["today"] == whole["columns"]["today"][:2]
    rest = run_json(*args, "--cursor", paged["next_cursors"]["today"])
    assert list(rest["columns"]) == ["today"]
    assert rest["columns"]["today"] == whole["columns"]["today"][2:]


def test_g5_a_bad_cursor_is_a_usage_error_naming_cursor() -> None:
    """A cursor that is not one of ours fails with the field named, nothing printed to stdout."""
    code, out, err = run("view", SAMPLE, "--user", "u-piotr", "--cursor", "nope")
    assert code != 0
    assert out == ""
    assert "cursor" in err
