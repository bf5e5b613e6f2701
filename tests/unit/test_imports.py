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
