"""Every benchmark module runs end to end at a tiny scale (figures are not checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_benchmark_runs_at_small_scale(module: str) -> None:
    """A benchmark that no longer runs is caught here, not at release time."""
    env = {**os.environ, "BENCH_SCALE": "0.002"}
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "x faster than" in result.stdout or "µs" in result.stdout or "ms" in result.stdout


def test_help_lists_every_benchmark_and_a_wrong_name_is_a_usage_error() -> None:
    """`python -m benchmarks --help` is help, not a benchmark name; an unknown name exits 2
    listing the choices; short names (`counters`) work like module names."""

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "benchmarks", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    shown = run("--help")
    assert (shown.returncode, shown.stderr) == (0, "")
    for module in MODULES:
        assert f"  {module.removeprefix('bench_')} " in shown.stdout
    wrong = run("nope")
    assert wrong.returncode == 2
    assert "unknown benchmark(s): nope; choose from counters" in wrong.stderr
