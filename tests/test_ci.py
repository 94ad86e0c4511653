"""CI runs the suite on every supported Python the machine has: `.ci/run` finds them, and
`make test-py` runs pytest on one in a venv of its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
SUPPORTED = ("3.11", "3.12", "3.13")


def _find_python(version: str, pyenv_root: Path, path: str) -> subprocess.CompletedProcess[str]:
    """Run .ci/run's `find_python VERSION` alone, with this PYENV_ROOT and PATH."""
    function = re.search(r"^find_python\(\) \{\n.*?^\}\n", SCRIPT, re.MULTILINE | re.DOTALL)
    assert function is not None
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, "-c", f'{function.group(0)}\nfind_python "$1"', "find_python", version],
        env={"PYENV_ROOT": str(pyenv_root), "PATH": path, "HOME": str(pyenv_root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _fake_python(path: Path, version: str) -> Path:
    """An executable that answers `-c CODE` as Python `version` would, by running this
    Python with `sys.version_info` replaced."""
    major, minor = version.split(".")
    path.mkdir(parents=True)
    python = path / "python"
    python.write_text(
        "#!/bin/sh\n"
        f'exec "{sys.executable}" -c "import sys; '
        f'sys.version_info = ({major}, {minor}, 0); exec(sys.argv[2])" -c "$2"\n',
        encoding="utf-8",
    )
    python.chmod(0o755)
    return python


def test_ci_runs_the_suite_on_every_supported_python() -> None:
    """.ci/run: `make test` (lint, types, pytest) on python3, then pytest through
    `make test-py` on each other supported Python; the classifiers name the same ones."""
    assert "OTHER_PYTHONS=(3.12 3.13)" in SCRIPT
    assert re.search(r"^time make test \|\|", SCRIPT, re.MULTILINE)
    assert "make --no-print-directory test-py PY=" in SCRIPT
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    listed = {
        c.removeprefix("Programming Language :: Python :: ")
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert listed == set(SUPPORTED)


def test_find_python_takes_pyenvs_newest_release(tmp_path: Path) -> None:
    """pyenv's newest 3.13.x wins (3.13.10 over 3.13.9, numerically); a free-threaded or
    development build (3.13.0t, 3.13-dev) is not taken for the release."""
    versions = tmp_path / "versions"
    for name in ("3.13.9", "3.13.10", "3.13.0t", "3.13-dev"):
        _fake_python(versions / name / "bin", "3.13")
    found = _find_python("3.13", tmp_path, "/usr/bin:/bin")
    assert (found.returncode, found.stdout) == (0, f"{versions}/3.13.10/bin/python\n")


def test_find_python_checks_the_version_and_falls_back_to_path(tmp_path: Path) -> None:
    """A pyenv directory whose interpreter is another version is passed over, and
    python3.12 on PATH is taken."""
    _fake_python(tmp_path / "versions" / "3.12.4" / "bin", "3.11")
    on_path = tmp_path / "bin"
    _fake_python(on_path, "3.12").rename(on_path / "python3.12")
    found = _find_python("3.12", tmp_path, f"{on_path}:/usr/bin:/bin")
    assert (found.returncode, found.stdout) == (0, f"{on_path}/python3.12\n")


def test_an_absent_python_is_no_error_of_find_python(tmp_path: Path) -> None:
    """No such Python: find_python fails quietly, and .ci/run says so on stderr and goes on."""
    found = _find_python("3.99", tmp_path, "/usr/bin:/bin")
    assert (found.returncode, found.stdout, found.stderr) == (1, "", "")
    assert 'not found on this machine; the suite does not run on it" >&2' in SCRIPT


def test_make_test_py_uses_a_venv_per_python() -> None:
    """`make test-py PY=...` sets up .venv-X.Y with that Python and runs its pytest
    (shown with `make -n`, which runs nothing)."""
    make = shutil.which("make")
    assert make is not None, "make is needed to run the suite as CI does"
    # Not the make this suite may run under: its command line's variables (PY=... under
    # `make test-py`) reach this one through MAKEFLAGS and the environment, and would start
    # the whole suite again; so they are dropped, and PY is given on the command line.
    env = {
        k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PY"}
    }
    shown = subprocess.run(
        [make, "-n", "--no-print-directory", "test-py", f"PY={sys.executable}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    venv = ".venv-{}.{}".format(*sys.version_info[:2])
    assert f"{venv}/bin/pytest" in shown
    assert f"{sys.executable} -m venv {venv}" in shown or not shown.count("-m venv")
    missing = subprocess.run(
        [make, "--no-print-directory", "test-py", "PY="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert missing.returncode != 0
    assert "test-py: name the interpreter, e.g. PY=python3.13" in missing.stderr
