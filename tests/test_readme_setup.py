"""The README's set-up section says which tests skip without the optional extras, and gives
the one command that runs them all (issue 20, item 17): kept true to pyproject.toml, .ci/run
and the tests themselves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text("utf-8")  # no tomllib on Python 3.10


def pyproject_extras() -> set[str]:
    table = PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+) = \[", table, re.MULTILINE))


def pytest_markers() -> set[str]:
    listed = PYPROJECT.split("markers = [", 1)[1].split("]", 1)[0]
    return set(re.findall(r'^\s*"(\w+):', listed, re.MULTILINE))


def setup_section() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    start = readme.index("## Set-up on a fresh machine")
    return readme[start : readme.index("\n## ", start + 1)]


def extras_of(command: str) -> set[str]:
    found = re.search(r"'\.\[([\w,-]+)\]'", command)
    assert found is not None, command
    return set(found.group(1).split(","))


def test_the_setup_section_gives_one_command_that_runs_every_test() -> None:
    section = setup_section()
    commands = [line for line in section.splitlines() if "pip install '.[test," in line]
    assert len(commands) == 1, commands
    command = commands[0]
    assert command.endswith("&& .venv/bin/python -m pytest")
    # Every extra the tests use: all of pyproject's but the generator's and the benchmark's.
    extras = pyproject_extras() - {"codegen", "bench"}
    assert {"test", "spark", "postgres"} <= extras
    assert extras_of(command) == extras
    # The same extras CI installs for its extras step, plus the test extra.
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    ci_extras = extras_of(next(line for line in ci.splitlines() if "spark," in line))
    assert extras_of(command) == ci_extras | {"test"}
    assert "postgresql" in section
    assert "Java" in section


def test_the_setup_section_names_every_test_that_skips_without_an_extra() -> None:
    section = setup_section()
    markers = pytest_markers() - {"slow"}
    assert markers == {"spark", "web", "postgres", "otel", "meta"}
    for marker in markers:
        assert f"| `{marker}` |" in section, marker
    for test_file in sorted((ROOT / "tests").rglob("test_*.py")):
        text = test_file.read_text("utf-8")
        uses_an_extra = re.search(r"pytest\.mark\.(spark|web|postgres|otel|meta)\b", text)
        if uses_an_extra:
            relative = test_file.relative_to(ROOT).as_posix()
            folder = test_file.parent.relative_to(ROOT).as_posix() + "/"
            assert f"`{relative}`" in section or f"`{folder}`" in section, relative
