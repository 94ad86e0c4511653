"""Run every benchmark module (benchmarks/bench_*.py), or those named on the command line.

`python -m benchmarks --help` lists them; `python -m benchmarks counters focus` runs two
(`bench_counters` works too). `BENCH_SCALE=0.01` shrinks the data for a quick look.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def _available() -> dict[str, str]:
    """{module name: the first line of its docstring}, for every bench_*.py here."""
    here = Path(__file__).resolve().parent
    found = {}
    for module in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if module.name.startswith("bench_"):
            text = (here / f"{module.name}.py").read_text(encoding="utf-8")
            doc = text.split('"""')[1].strip().splitlines()[0] if '"""' in text else ""
            found[module.name] = doc
    return found


def build_parser(available: dict[str, str]) -> argparse.ArgumentParser:
    """The command line: benchmark names, each with what it measures in --help."""
    listing = "\n".join(
        f"  {name.removeprefix('bench_'):<10} {doc}" for name, doc in available.items()
    )
    return argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time the library against baselines measured in the same run\n"
        "(docs/benchmarks.md): figures are ratios, so they mean something on any machine.",
        epilog=f"benchmarks:\n{listing}\n\nenvironment: BENCH_SCALE (default 1.0) scales the "
        "data, e.g. BENCH_SCALE=0.01 for a quick run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str]) -> int:
    """Import each chosen bench module and call its `main()`."""
    available = _available()
    parser = build_parser(available)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="benchmarks to run, e.g. counters or bench_counters (default: all)",
    )
    args = parser.parse_args(argv[1:])
    wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in args.names]
    unknown = [name for name, full in zip(args.names, wanted, strict=True) if full not in available]
    if unknown:
        choices = ", ".join(name.removeprefix("bench_") for name in available)
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {choices}")
    for name in wanted or list(available):
        module = importlib.import_module(f"benchmarks.{name}")
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
