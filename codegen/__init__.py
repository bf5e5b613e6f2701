"""Compile schema/<api-version>/ into Pydantic v2 models with the pinned datamodel-code-generator.

`python -m codegen` writes src/pytt_events/_generated/; `python -m codegen --check` exits 1 when
those files do not match what the schema compiles to. The build hook (hatch_build.py) calls the
same `write()`, so a wheel or an editable install always carries models matching the schema.
"""

from codegen._generate import (
    GENERATED_DIR,
    GENERATOR_VERSION,
    CodegenError,
    check,
    generate,
    schema_files,
    write,
)

__all__ = [
    "GENERATED_DIR",
    "GENERATOR_VERSION",
    "CodegenError",
    "check",
    "generate",
    "schema_files",
    "write",
]
