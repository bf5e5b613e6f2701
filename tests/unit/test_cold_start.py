"""What starting costs: `import pytt_events` loads only the exceptions (the clients, models
and validators load when first used), and `pytt-events --help` loads neither pydantic nor
httpx nor the validators. Checked in processes of their own (sys.modules); the times are
benchmarks/startup.py's."""

from __future__ import annotations

import json
import subprocess
import sys

#: What a process that only imports the package, or asks the CLI for help, needs none of.
HEAVY = (
    "httpx",
    "jsonschema",
    "jsonschema_rs",
    "phonenumbers",
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "pytt_events._generated.v1_3",
    "pytt_events.validation",
)


def loaded_by(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter has after running code."""
    program = (
        "import sys\n"
        f"{code}\n"
        f"print(__import__('json').dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert loaded_by("import pytt_events") == []
    assert loaded_by("from pytt_events import PyttEventsError, APIError") == []


def test_a_name_of_the_package_loads_what_it_needs_when_used() -> None:
    assert "httpx" in loaded_by("import pytt_events; pytt_events.TikTokEventsApi")
    assert "pytt_events._generated.v1_3" in loaded_by("from pytt_events import TrackEvent")
    # A submodule of the original package is reached as an attribute, as before.
    assert "pydantic" in loaded_by("import pytt_events; pytt_events.event.Event")


def test_the_cli_help_loads_nothing_heavy() -> None:
    code = (
        "from click.testing import CliRunner\n"
        "from pytt_events.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\n"
        "assert result.exit_code == 0, result.output"
    )
    assert loaded_by(code) == []


def test_the_cli_version_is_the_package_s() -> None:
    from click.testing import CliRunner

    import pytt_events
    from pytt_events.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"pytt-events, version {pytt_events.__version__}\n"
