"""What the README tells an operator to install: a crawl host gets the crawler without the test
extras, `make test` still gets them, and the full suite's system packages are the ones `.ci/run`
installs."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.replica.harness import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def package(requirement: str | Requirement) -> str:
    name = requirement.name if isinstance(requirement, Requirement) else Requirement(requirement).name
    return re.sub(r"[-_.]+", "-", name).lower()


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def commands(text: str) -> list[str]:
    """The command lines of a section's code blocks, comments dropped."""
    blocks = re.findall(r"```\n(.*?)```", text, re.DOTALL)
    return [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def pip_installs(target: str, venv: Path) -> list[list[str]]:
    """The arguments of every `pip install` the Makefile target runs (`make -n`, nothing run)."""
    done = subprocess.run(["make", "-n", f"VENV={venv}", target], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    lines = [shlex.split(line) for line in done.stdout.splitlines() if " pip install " in line]
    return [[arg for arg in line[line.index("install") + 1 :] if not arg.startswith("-")] for line in lines]


def installed_with(requirements: list[str]) -> set[str]:
    """Every distribution pip installs for `requirements`, read from what this environment holds."""
    found: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra of that package, or another platform's
        name = package(requirement)
        if name in found:
            continue
        found.add(name)
        try:
            todo += [Requirement(r) for r in distribution(name).requires or []]
        except PackageNotFoundError:
            pytest.fail(f"{name} is required but not installed here")
    return found


@pytest.fixture
def crawl_host_target() -> str:
    (command,) = [c for c in commands(section("A crawl host")) if c.startswith("make ")]
    return command.removeprefix("make ").strip()


def test_the_crawl_host_install_has_no_test_extras(crawl_host_target: str, tmp_path: Path) -> None:
    installs = [args for args in pip_installs(crawl_host_target, tmp_path / "venv") if args != ["pip"]]
    assert installs == [["."]]  # the project alone (pip's own upgrade aside): no `[test]`, no `[bench]`
    test_extras = {package(r) for r in PROJECT["optional-dependencies"]["test"]}
    assert test_extras >= {"pytest", "duckdb", "pandas", "scrapyd"}
    assert not installed_with(PROJECT["dependencies"]) & test_extras


@pytest.mark.parametrize("target", ["test", "demo", "test-fast"])
def test_the_test_targets_still_install_the_test_extras(target: str, tmp_path: Path) -> None:
    assert [".[test]"] in pip_installs(target, tmp_path / "venv")


def test_the_full_suite_needs_what_ci_installs() -> None:
    """The system packages the README names for the whole suite are those `.ci/run` apt-installs,
    and `.ci/run` then runs the README's test command."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    installed = set(re.findall(r"missing\+=\(([^)]*)\)", ci))
    packages = {name for group in installed for name in group.split()}
    assert packages == {"redis-server", "chromium", "fonts-wqy-zenhei"}
    fresh = section("On a fresh machine")
    named = set(re.findall(r"`apt-get install ([^`]*)`", fresh.replace("\n", " ")))
    assert {name for group in named for name in group.split()} == packages
    assert "`.ci/run`" in fresh and "make test" in commands(fresh)
    assert ci.rstrip().splitlines()[-1] == "make test"
