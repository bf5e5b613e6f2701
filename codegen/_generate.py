"""The one place that runs the generator: schema/ in, the files of _generated/ out (in memory)."""

from __future__ import annotations

import copy
import hashlib
import json
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

GENERATOR = "datamodel-code-generator"
# Pinned: generator upgrades change the generated types, not only their layout.
GENERATOR_VERSION = "0.89.0"
GENERATED_DIR = Path("src/pytt_events/_generated")
SCHEMA_DIR = Path("schema")
SCHEMA_SUFFIX = ".schema.json"

# The schema marks the models act on, shared with the runtime (pytt_events._mark_registry),
# read by path: the package cannot be imported before its models are generated.
_REGISTRY = runpy.run_path(str(Path(__file__).parents[1] / "src/pytt_events/_mark_registry.py"))
FIELD_MARKS: tuple[str, ...] = _REGISTRY["FIELD_MARKS"]
MODEL_MARKS: tuple[str, ...] = _REGISTRY["MODEL_MARKS"]

# Options that make the output typed, documented and deterministic (see ../STYLE.md §3).
GENERATOR_OPTIONS = [
    "--input-file-type=jsonschema",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.10",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-title-as-name",
    "--use-schema-description",
    "--use-field-description",
    "--keep-model-order",
    "--collapse-root-models",
    "--use-subclass-enum",
    "--disable-timestamp",
    "--formatters=builtin",
    "--base-class=pytt_events._marks.SchemaModel",
    "--field-extra-keys",
    *FIELD_MARKS,
    "--model-extra-keys",
    *MODEL_MARKS,
]


class CodegenError(RuntimeError):
    """The schema could not be compiled, or the generator is not the pinned version."""


def schema_files(root: Path) -> dict[str, Path]:
    """Map each API version (a folder of schema/) to its one schema file."""
    found: dict[str, Path] = {}
    for folder in sorted((root / SCHEMA_DIR).iterdir()):
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("*" + SCHEMA_SUFFIX))
        if len(files) != 1:
            raise CodegenError(
                f"{folder}: expected exactly one *{SCHEMA_SUFFIX} file, found {len(files)}"
            )
        found[folder.name] = files[0]
    if not found:
        raise CodegenError(f"no schema folders under {root / SCHEMA_DIR}")
    return found


def module_name(api_version: str) -> str:
    """`v1.3` -> `v1_3`: the generated module of an API version."""
    return api_version.replace(".", "_").replace("-", "_")


def _check_generator() -> None:
    try:
        installed = metadata.version(GENERATOR)
    except metadata.PackageNotFoundError:
        raise CodegenError(
            f"{GENERATOR}=={GENERATOR_VERSION} is not installed: "
            "pip install -e '.[codegen]' (or '.[test]')"
        ) from None
    if installed != GENERATOR_VERSION:
        raise CodegenError(
            f"{GENERATOR} {installed} is installed but this project pins {GENERATOR_VERSION}"
        )


def _lift_model_rules(node: Any) -> Any:
    """Copy the JSON Schema keywords the generator drops into x- keys it carries.

    `minProperties` becomes `x-min-properties`, `not: {required: [...]}` becomes
    `x-forbidden-properties` and an `allOf` of if/then rules becomes `x-conditions`, so the
    models enforce what the schema says without the rule being written twice by hand.
    """
    if isinstance(node, list):
        return [_lift_model_rules(item) for item in node]
    if not isinstance(node, dict):
        return node
    lifted = {key: _lift_model_rules(value) for key, value in node.items()}
    if node.get("type") == "object":
        if "minProperties" in node:
            lifted["x-min-properties"] = node["minProperties"]
        negated = node.get("not")
        if isinstance(negated, dict) and set(negated) == {"required"}:
            lifted["x-forbidden-properties"] = list(negated["required"])
        conditions = node.get("allOf")
        if isinstance(conditions, list) and all(
            isinstance(rule, dict) and "if" in rule for rule in conditions
        ):
            # Rules between fields (if/then): the generator would merge them into the class;
            # the model checks them as JSON Schema instead (MarkedModel), so they are moved.
            lifted["x-conditions"] = lifted.pop("allOf")
    return lifted


MARKED_BASE = "pytt_events._marks.MarkedModel"


def _marked_models(schema: Mapping[str, Any]) -> dict[str, str]:
    """Models whose fields or objects carry marks the base class acts on get MarkedModel (with
    the validators); the others stay on SchemaModel and pay nothing for them."""
    definitions = schema.get("$defs", {})

    def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return resolve(definitions[ref.removeprefix("#/$defs/")])
        return node

    marked = {}
    for name, node in definitions.items():
        if node.get("type") != "object":
            continue
        fields = [resolve(child) for child in node.get("properties", {}).values()]
        raw = list(node.get("properties", {}).values())
        if (
            "minProperties" in node
            or "not" in node
            or "allOf" in node
            or node.get("x-warn-unknown")
            or any(key in child for child in [*fields, *raw] for key in FIELD_MARKS)
            or any(child.get("format") == "date-time" for child in fields)
        ):
            marked[str(node.get("title", name))] = MARKED_BASE
    return marked


def _header(schema_path: Path, digest: str) -> str:
    return (
        f"# GENERATED from {schema_path.as_posix()} by `python -m codegen`\n"
        f"# ({GENERATOR} {GENERATOR_VERSION}). DO NOT EDIT: change the schema and regenerate.\n"
        f"# schema-sha256: {digest}"
    )


def _compile(schema: Mapping[str, Any], header: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "schema.json"
        target = Path(tmp) / "models.py"
        source.write_text(json.dumps(_lift_model_rules(copy.deepcopy(schema))), "utf-8")
        command = [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            f"--input={source}",
            f"--output={target}",
            f"--custom-file-header={header}",
            f"--base-class-map={json.dumps(_marked_models(schema), sort_keys=True)}",
            *GENERATOR_OPTIONS,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CodegenError(f"{GENERATOR} failed:\n{done.stderr.strip()}")
        return target.read_text("utf-8")


def generate(root: Path) -> dict[Path, bytes]:
    """Compile every schema under root/schema into the files of the generated package.

    Returns a map from path (relative to root) to content; nothing is written.

    Raises:
        CodegenError: the generator is missing or not the pinned version, or it failed.
    """
    _check_generator()
    files: dict[Path, bytes] = {}
    versions: dict[str, tuple[str, str]] = {}
    for api_version, path in schema_files(root).items():
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        relative = path.relative_to(root)
        module = module_name(api_version)
        code = _compile(json.loads(raw), _header(relative, digest))
        files[GENERATED_DIR / f"{module}.py"] = code.encode("utf-8")
        # The sandbox and the validator read the schema at run time: ship a byte copy.
        files[GENERATED_DIR / "schema" / api_version / path.name] = raw
        versions[api_version] = (module, f"schema/{api_version}/{path.name}")
    files[GENERATED_DIR / "__init__.py"] = _index(versions).encode("utf-8")
    return files


def _index(versions: Mapping[str, tuple[str, str]]) -> str:
    lines = [
        '"""Models compiled from schema/ by `python -m codegen`. DO NOT EDIT: regenerate."""',
        "",
        "# API version -> (generated module, schema file inside this package)",
        "VERSIONS: dict[str, tuple[str, str]] = {",
        *(f"    {v!r}: ({m!r}, {s!r})," for v, (m, s) in versions.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


def _existing(root: Path) -> dict[Path, bytes]:
    folder = root / GENERATED_DIR
    if not folder.exists():
        return {}
    return {
        path.relative_to(root): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def write(root: Path) -> list[Path]:
    """Regenerate the generated package under root; return the paths that changed."""
    wanted = generate(root)
    existing = _existing(root)
    changed: list[Path] = []
    for relative in existing.keys() - wanted.keys():
        (root / relative).unlink()
        changed.append(relative)
    for relative, content in wanted.items():
        if existing.get(relative) != content:
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            changed.append(relative)
    return sorted(changed)


def check(root: Path) -> list[str]:
    """Describe every difference between the generated package and the schema (empty: current)."""
    import difflib

    wanted = generate(root)
    existing = _existing(root)
    problems: list[str] = []
    for relative in sorted(existing.keys() - wanted.keys()):
        problems.append(f"{relative}: stale file, no schema produces it")
    for relative, content in sorted(wanted.items()):
        have = existing.get(relative)
        if have is None:
            problems.append(f"{relative}: missing")
        elif have != content:
            diff = difflib.unified_diff(
                have.decode("utf-8", "replace").splitlines(),
                content.decode("utf-8", "replace").splitlines(),
                f"{relative} (on disk)",
                f"{relative} (from schema)",
                lineterm="",
                n=1,
            )
            problems.append("\n".join(list(diff)[:60]))
    return problems
