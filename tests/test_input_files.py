"""Reading input files (G5, docs/reliability.md): regular files only, never past a limit.

A FIFO used to block `crmcounters counters` for ever and /dev/zero to fill
memory; both, a directory and an oversized file are now refused at once with
an `InputFileError` naming the file, through the API and on the command line.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

import crmcounters._sample
from crmcounters import DEFAULT_MAX_FILE_BYTES, CrmCountersError, InputFileError, read_portal
from crmcounters._cli import main
from crmcounters._sample import SAMPLE_PORTAL, SAMPLE_RULES, sample_bytes
from crmcounters._source import read_input_file
from crmcounters.rules import read_rule_set

SAMPLE = str(Path(crmcounters._sample.__file__).parent / SAMPLE_PORTAL)


REGULAR = "only regular files are read"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "portal.fifo"
    os.mkfifo(path)
    return path


def test_g5_a_fifo_is_refused_at_once_not_waited_on(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(InputFileError, match="FIFO"):
        read_portal(fifo)
    with pytest.raises(InputFileError, match="FIFO"):
        read_rule_set(fifo)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("path", "words"), [("/dev/zero", "is a device"), ("/dev/null", "is a device"), ("/", "dir")]
)
def test_g5_devices_and_directories_are_refused(path: str, words: str) -> None:
    with pytest.raises(InputFileError, match=words) as caught:
        read_portal(path)
    assert caught.value.filename == path
    assert isinstance(caught.value, CrmCountersError)


def test_g5_a_missing_file_is_an_input_file_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(InputFileError, match="no such file") as caught:
        read_portal(missing)
    assert str(missing) in str(caught.value)


def test_g5_a_file_over_the_limit_is_refused_and_the_limit_can_be_raised(tmp_path: Path) -> None:
    path = tmp_path / "portal.json"
    path.write_bytes(sample_bytes(SAMPLE_PORTAL))
    size = path.stat().st_size
    with pytest.raises(InputFileError, match=f"larger than the limit of 1,000 bytes .{size:,}"):
        read_portal(path, max_bytes=1_000)
    assert read_portal(path, max_bytes=size).storage.users()
    assert read_input_file(path) == path.read_bytes()
    assert DEFAULT_MAX_FILE_BYTES >= 64 * 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_g5_max_bytes_must_be_a_whole_number_of_bytes(bad: object) -> None:
    with pytest.raises(CrmCountersError, match="max_bytes"):
        read_input_file(SAMPLE, max_bytes=bad)  # type: ignore[arg-type]


def test_g5_the_cli_refuses_a_fifo_a_device_and_a_directory_in_one_line(fifo: Path) -> None:
    for path in (str(fifo), "/dev/zero", "/"):
        code, out, err = _cli("counters", path, "--user", "u-piotr")
        assert (code, out) == (1, "")
        assert err.startswith(f"crmcounters: error: portal {path}: is a ")
        assert err.count("\n") == 1


def test_g5_the_cli_refuses_a_fifo_as_rules(fifo: Path) -> None:
    code, _out, err = _cli(
        "simulate",
        SAMPLE,
        "--rules",
        str(fifo),
        "--from",
        "2026-12-14T08:00+01:00",
        "--to",
        "2026-12-14T09:00+01:00",
    )
    assert code == 1
    assert err == f"crmcounters: error: rules {fifo}: is a FIFO (named pipe); {REGULAR}\n"


def test_g5_max_file_size_option_lowers_and_raises_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "portal.json"
    path.write_bytes(sample_bytes(SAMPLE_PORTAL))
    code, _out, err = _cli("counters", str(path), "--user", "u-piotr", "--max-file-size", "1K")
    assert code == 1
    assert "larger than the limit of 1,024 bytes" in err
    assert "--max-file-size" in err
    code, out, _err = _cli("counters", str(path), "--user", "u-piotr", "--max-file-size", "1M")
    assert code == 0
    assert "Counters of" in out


def test_g5_max_file_size_refuses_a_size_that_is_not_one() -> None:
    with pytest.raises(SystemExit) as caught:
        _cli("counters", SAMPLE, "--user", "u-piotr", "--max-file-size", "lots")
    assert caught.value.code == 2


def test_g5_rules_files_go_through_the_same_reader(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(sample_bytes(SAMPLE_RULES))
    assert read_rule_set(path).rules
    with pytest.raises(InputFileError, match="larger than the limit"):
        read_rule_set(path, max_bytes=10)
