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
