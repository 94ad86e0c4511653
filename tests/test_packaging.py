"""Packaging facts stay true: one version, a LICENSE, project URLs, a changelog whose dates
and links are right."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import tomllib
from datetime import date
from pathlib import Path

import pytest

import crmcounters

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)
LINK = re.compile(r"^\[([^\]]+)\]: (\S+)$", re.MULTILINE)


def test_the_version_is_written_once() -> None:
    """pyproject reads the version from the package (hatch's dynamic version)."""
    project = PYPROJECT["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "src/crmcounters/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", crmcounters.__version__)


def test_the_license_file_is_the_mit_license_the_metadata_names() -> None:
    """LICENSE is MIT, held by the crmcounters developers, and ships in the wheel."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 crmcounters developers\n")
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_the_changelog_releases_have_dates_and_compare_links() -> None:
    """Newest first, dates not increasing, the latest release at most the package version,
    and a link for Unreleased and every release: a compare with the one before (the first
    release: its tag), on the project's Homepage."""
    releases = RELEASE.findall(CHANGELOG)
    assert [version for version, _ in releases] == ["0.2.0", "0.1.0"]
    dates = [date.fromisoformat(day) for _, day in releases]
    assert dates == sorted(dates, reverse=True)
    links = dict(LINK.findall(CHANGELOG))
    home = PYPROJECT["project"]["urls"]["Homepage"]
    versions = [version for version, _ in releases]
    assert links["Unreleased"] == f"{home}/compare/v{versions[0]}...HEAD"
    for newer, older in itertools.pairwise(versions):
        assert links[newer] == f"{home}/compare/v{older}...v{newer}"
    assert links[versions[-1]] == f"{home}/releases/tag/v{versions[-1]}"
    assert CHANGELOG.index("## [Unreleased]") < CHANGELOG.index(f"## [{versions[0]}]")


def test_each_release_date_is_its_release_commits_date() -> None:
    """The date beside a release is the day its "Release X.Y.Z" commit was made."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the release commits cannot be looked up")
    for version, day in RELEASE.findall(CHANGELOG):
        done = subprocess.run(
            ["git", "log", "--format=%ad", "--date=short", f"--grep=^Release {version}:"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.split() == [day], version


def test_the_project_urls_are_named() -> None:
    """Homepage, Documentation, Changelog and Issues, all on the Homepage."""
    urls = PYPROJECT["project"]["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith(urls["Homepage"]) for url in urls.values())
