"""Timing helpers shared by the benchmark modules.

Each benchmark prints medians and, beside each, the ratio to a baseline that
computes the same answer in the same run (so the figures mean something on any
machine). `BENCH_SCALE` (default 1.0) shrinks the data for a smoke run.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def scale() -> float:
    """The data-size factor: 1.0 for the real figures, e.g. 0.01 for a smoke run."""
    return float(os.environ.get("BENCH_SCALE", "1.0"))


def scaled(n: int, minimum: int = 1) -> int:
    """`n` times the scale, at least `minimum`."""
    return max(minimum, int(n * scale()))


def median_seconds(fn: Callable[[], object], *, repeat: int = 5, number: int = 1) -> float:
    """Median wall time of one call of `fn` over `repeat` rounds of `number` calls."""
    rounds = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return statistics.median(rounds)


def timed(fn: Callable[[], _T]) -> tuple[_T, float]:
    """Run `fn` once; return its result and the seconds it took."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak_memory(fn: Callable[[], _T]) -> tuple[_T, int]:
    """Run `fn` under tracemalloc; return its result and the peak bytes allocated."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def human(seconds: float) -> str:
    """A duration with a sensible unit."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def header(title: str) -> None:
    """Print a section title."""
    print(f"\n== {title} (scale {scale():g}) ==")


def figure(
    name: str,
    seconds: float,
    *,
    baseline: tuple[str, float] | None = None,
    target: str = "",
) -> None:
    """Print one figure, its ratio to a baseline (baseline time / ours) and its target."""
    line = f"  {name:<52} {human(seconds):>12}"
    if baseline is not None:
        base_name, base_seconds = baseline
        ratio = base_seconds / seconds if seconds > 0 else float("inf")
        if ratio >= 1:
            line += f"   {ratio:8.1f}x faster than {base_name} ({human(base_seconds)})"
        else:  # "0.2x faster" reads wrong: say how many times the baseline's cost it is
            line += f"   {1 / ratio:8.1f}x the cost of {base_name} ({human(base_seconds)})"
    if target:
        line += f"   [target: {target}]"
    print(line)


def note(text: str) -> None:
    """Print a free-form line (a count, a memory figure)."""
    print(f"  {text}")


def host_speed() -> float:
    """Seconds a fixed pure-Python workload takes now (median of 5): printed at the start and
    end of a long benchmark, it shows how fast the shared host was while the figures were
    taken (on these machines the same code runs up to 1.5x slower from hour to hour)."""

    def workload() -> int:
        table = {f"k{n}": n for n in range(20_000)}
        return sum(sorted(table.values(), key=lambda n: -n)[:100])

    workload()
    return median_seconds(workload, repeat=5)
