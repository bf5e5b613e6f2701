"""Hatch build hook: compile schema/ into src/pytt_events/_generated/ before every wheel build.

It runs for wheels and editable installs alike, so `pip install .` from a clean clone yields the
models; it calls the same function as `python -m codegen`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CodegenBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "codegen"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        sys.path.insert(0, str(root))
        try:
            from codegen import write
        finally:
            sys.path.remove(str(root))
        for path in write(root):
            self.app.display_info(f"codegen: wrote {path}")
