"""Loading portal files: `read_portal` against `json.load` of the same file, time and memory.

Baselines in the same run, on the same file: `json.load` (what any reader of
the file pays just to parse it) and `msgspec.json.decode` (a parse into plain
dicts and lists by the decoder of the `fast` extra). `read_portal` is timed
three ways: as installed (with msgspec when the `fast` extra is there), with
the standard library's parser only (no extra), and the validated path alone
(every value checked by the model constructors: the 0.2.0 loader). Then the
memory a portal takes loaded from JSON beside the same portal built in
process, the 1,000,000-activity file loaded in a fresh interpreter (time and
peak resident memory, VmHWM), and the cost of `import crmcounters`.
Sizes at BENCH_SCALE=1: 100,000 items with one activity each (one user, one
pipeline, as in issue 15), and 1,000 users x 100 items x 10 activities.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crmcounters import InMemoryStorage, Portal, _loading, _portal, read_portal, write_portal

from ._harness import header, human, median_seconds, note, scaled, timed
from .bench_sql import build

_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def _patched(name: str, value: object) -> Iterator[None]:
    """`crmcounters._portal.<name>` replaced for a while (to time one path of the loader)."""
    saved = getattr(_portal, name)
    setattr(_portal, name, value)
    try:
        yield
    finally:
        setattr(_portal, name, saved)


def _has_msgspec() -> bool:
    try:
        import msgspec  # noqa: F401
    except ImportError:
        return False
    return True


def _write(storage: InMemoryStorage, folder: Path, name: str) -> Path:
    path = folder / name
    write_portal(Portal(storage=storage), path)
    return path


def scenario_read(folder: Path) -> None:
    """read_portal of a 100,000-activity file beside json.load of the same file."""
    items = scaled(100_000, minimum=20)
    header(f"read_portal: {items:,} items with one activity each, one user")
    storage, built = timed(lambda: build(1, items, 1))
    path = _write(storage, folder, "portal.json")
    del storage
    note(f"file: {path.stat().st_size / 1e6:.0f} MB, built in process in {built:.1f} s")

    def parse() -> object:
        with open(path, "rb") as handle:
            return json.load(handle)

    loaders: dict[str, Callable[[], object]] = {"json.load": parse}
    if _has_msgspec():
        import msgspec

        loaders["msgspec.json.decode (to dicts)"] = lambda: msgspec.json.decode(path.read_bytes())
    loaders["read_portal"] = lambda: read_portal(path)

    def stdlib_only() -> object:
        with _patched("decode", _loading._decode_with_json):
            return read_portal(path)

    def validated() -> object:
        with _patched("_load_checked_once", lambda read, progress: None):
            return read_portal(path)

    if _has_msgspec():
        loaders["read_portal, standard library json only"] = stdlib_only
    loaders["read_portal, validated path (0.2.0)"] = validated
    for load in loaders.values():  # warm-up: file cache, imports, first-call costs
        load()
    # Rounds take the loaders in turn, so a busy machine slows all of them alike.
    rounds: dict[str, list[float]] = {name: [] for name in loaders}
    for _ in range(3):
        for name, load in loaders.items():
            seconds = median_seconds(load, repeat=1)
            rounds[name].append(seconds)
    base = statistics.median(rounds["json.load"])
    installed = "with msgspec (the fast extra)" if _has_msgspec() else "without msgspec"
    for name, times in rounds.items():
        target = "   [target: <= 2.5x json.load]" if name == "read_portal" else ""
        label = f"{name}, {installed}" if name == "read_portal" else name
        seconds = statistics.median(times)
        note(f"{label:<58} {human(seconds):>10}   {seconds / base:5.2f}x json.load{target}")


def _traced(fn: Callable[[], object]) -> tuple[int, int]:
    """(peak, still held once `fn` returned) bytes that `fn` allocated, under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak, held


def scenario_memory() -> None:
    """Memory held by a portal loaded from JSON, beside the same portal built in process."""
    items = scaled(100_000, minimum=20)
    header(f"memory: {items:,} items with one activity each, loaded and built")
    with tempfile.TemporaryDirectory() as name:
        storage = build(1, items, 1)
        path = _write(storage, Path(name), "portal.json")
        del storage
        figures = {
            "built in process (bench_sql.build)": _traced(lambda: build(1, items, 1)),
            "json.loads of the file alone": _traced(lambda: json.loads(path.read_bytes())),
            # the default limit: the reader's buffer is the file's own size, not the limit's
            "read_portal of the file": _traced(lambda: read_portal(path)),
        }
    for label, (peak, held) in figures.items():
        note(f"{label:<36} peak {peak / 1e6:6.0f} MB, held after {held / 1e6:6.0f} MB")
    note("(tracemalloc: Python allocations only; the 1,000,000 scenario reads VmHWM)")


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    def peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    what, path = sys.argv[1], sys.argv[2]
    if what == "read_portal":
        from crmcounters import read_portal
        start = time.perf_counter()
        portal = read_portal(path, max_bytes=2**31)  # above the 256 MiB default
        seconds = time.perf_counter() - start
        count = len(portal.storage.activities())
    else:
        start = time.perf_counter()
        with open(path, "rb") as handle:
            document = json.load(handle)
        seconds = time.perf_counter() - start
        count = len(document["activities"])
    print(seconds, peak(), count)
    """
)


def _in_child(what: str, path: Path) -> tuple[float, int, int]:
    """(seconds, peak resident bytes, activities) of one load in a fresh interpreter."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _CHILD, what, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=_ROOT,
    )
    seconds, peak, count = done.stdout.split()
    return float(seconds), int(peak), int(count)


def scenario_million(folder: Path) -> None:
    """The 1,000,000-activity file loaded in a fresh interpreter: time and peak memory."""
    users = scaled(1_000, minimum=2)
    header(f"a {users * 1000:,}-activity portal file loaded in a fresh interpreter")
    storage, built = timed(lambda: build(users, 100, 10))
    path = _write(storage, folder, "million.json")
    del storage
    note(f"file: {path.stat().st_size / 1e6:.0f} MB ({built:.0f} s to build in process)")
    json_s, json_peak, _ = _in_child("json.load", path)
    load_s, load_peak, count = _in_child("read_portal", path)
    installed = "with msgspec (the fast extra)" if _has_msgspec() else "without msgspec"
    note(f"json.load of the file:  {human(json_s):>10}, peak {json_peak / 1e9:.2f} GB")
    note(
        f"read_portal, {installed}: {human(load_s):>10}, peak {load_peak / 1e9:.2f} GB "
        f"({count:,} activities; {load_s / json_s:.2f}x the time of json.load)"
        "   [target: < 20 s, peak < 1.5 GB]"
    )


def scenario_import() -> None:
    """`import crmcounters` in a fresh interpreter, beside an interpreter doing nothing."""
    header("import crmcounters, fresh interpreter, fastest of 7")

    def run(code: str) -> float:
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=_ROOT)  # noqa: S603
            best = min(best, time.perf_counter() - start)
        return best

    bare = run("pass")
    package = run("import crmcounters")
    note(f"python -c 'pass': {human(bare)}; python -c 'import crmcounters': {human(package)}")
    note(f"import crmcounters itself: {human(package - bare)}   [target: < 150 ms]")


def main() -> None:
    """Run the four scenarios and print their figures."""
    note(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as name:
        scenario_read(Path(name))
    scenario_memory()
    with tempfile.TemporaryDirectory() as name:
        scenario_million(Path(name))
    scenario_import()
    note(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
