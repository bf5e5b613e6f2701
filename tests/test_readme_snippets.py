"""The README's Python snippets type-check under `mypy --strict` with the configuration the
README documents (pydantic's mypy plugin). Each snippet is a module of its own; the names a
snippet uses without defining them (your event, your credentials, ...) are declared, typed,
in a prelude, as the surrounding prose introduces them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PRELUDE = """
from typing import Any

from pytt_events import AsyncTikTokEventsApi, TikTokAuth, TikTokEventsApi
from pytt_events.event import Event

api: TikTokEventsApi
auth: TikTokAuth
event: Event
quick_start_event: Event
events: list[Any]
body: dict[str, Any]
metrics: Any
meter_provider: Any
tracer_provider: Any
cookie_ttp: str
client_ip: str
client_ua: str
now: int
idfa: str
user_id: str
read_credentials_from_the_secret_scope: Any
"""
CONFIG = """
[mypy]
strict = True
python_version = 3.10
plugins = pydantic.mypy

# The optional extras' libraries: the snippets are checked whether they are installed or not
# (a web framework's decorators are then untyped).
disallow_untyped_decorators = False

[mypy-pyspark,pyspark.*,pyarrow,pyarrow.*,fastapi,fastapi.*,django,django.*,flask,flask.*]
ignore_missing_imports = True
follow_imports = skip
"""


def snippets() -> list[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    return re.findall(r"^```python\n(.*?)^```", readme, flags=re.DOTALL | re.MULTILINE)


def test_the_readme_has_python_snippets() -> None:
    assert len(snippets()) >= 8


def test_the_readme_documents_the_mypy_plugin() -> None:
    assert 'plugins = ["pydantic.mypy"]' in (ROOT / "README.md").read_text("utf-8")


def test_readme_snippets_type_check(tmp_path: Path) -> None:
    for number, code in enumerate(snippets(), start=1):
        # Snippets are examples, so untyped helper functions in them are typed Any here;
        # everything they call on the library is checked.
        code = re.sub(r"^(async )?def (\w+)\((\w+)\):", r"\1def \2(\3: Any) -> None:", code,
                      flags=re.MULTILINE)  # fmt: skip
        # The Quick Start is the original package's, kept byte for byte: it reuses `response`
        # for the answer of post_event and of post_events_in_bulk.
        header = "# mypy: allow-redefinition\n" if "api.post_events_in_bulk(events=" in code else ""
        (tmp_path / f"snippet_{number}.py").write_text(header + PRELUDE + "\n" + code, "utf-8")
    (tmp_path / "mypy.ini").write_text(CONFIG, "utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mypy"), "--config-file", "mypy.ini",
         "--no-incremental", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
