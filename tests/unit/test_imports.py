"""What `import pytt_events` loads: not the schema validators (they load when validation is
used), so applications that only send start faster."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_loads_no_schema_validator() -> None:
    code = (
        "import sys, pytt_events; "
        "print(sorted(m for m in ('jsonschema', 'jsonschema_rs') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_cli_calls_only_the_public_library() -> None:
    import ast
    from pathlib import Path

    import pytt_events.cli

    tree = ast.parse(Path(pytt_events.cli.__file__).read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            if node.module == "pytt_events":
                imported.update(f"pytt_events.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.startswith("pytt_events")}
    assert ours, "the CLI imports the library"
    private = sorted(
        name
        for name in ours
        if any(part.startswith("_") and not part.endswith("__") for part in name.split(".")[1:])
    )
    assert private == []


def test_the_cli_loads_the_sandbox_only_when_used() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from pytt_events.cli import main; "
        "result = CliRunner().invoke(main, ['--help']); assert result.exit_code == 0; "
        "print('pytt_events.testing' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_cli_default_sandbox_token_is_the_sandbox_s() -> None:
    from pytt_events import cli, testing

    assert cli._SANDBOX_TOKEN == testing.DEFAULT_ACCESS_TOKEN
