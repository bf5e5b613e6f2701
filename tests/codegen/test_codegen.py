"""The generated models are current, deterministic, traceable to their schema, and shipped."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from codegen import GENERATED_DIR, check, generate, schema_files
from pytt_events import _generated
from pytt_events._marks import SchemaModel
from pytt_events.models import v1_3
from tests.conftest import ROOT


def test_generated_package_matches_the_schema() -> None:
    assert check(ROOT) == []


def test_generation_is_deterministic() -> None:
    assert generate(ROOT) == generate(ROOT)


def test_header_names_the_schema_and_its_sha256() -> None:
    for version, path in schema_files(ROOT).items():
        module = ROOT / GENERATED_DIR / f"{version.replace('.', '_')}.py"
        header = module.read_text("utf-8").splitlines()[:3]
        assert header[0] == f"# GENERATED from schema/{version}/{path.name} by `python -m codegen`"
        assert "DO NOT EDIT" in header[1]
        assert header[2] == f"# schema-sha256: {hashlib.sha256(path.read_bytes()).hexdigest()}"


def test_imported_models_were_built_from_these_schema_files() -> None:
    """The models in use (installed or editable) carry the sha256 of today's schema files:
    editing schema/ without regenerating (or reinstalling) fails here."""
    import importlib

    for version, path in schema_files(ROOT).items():
        module_name, _ = _generated.VERSIONS[version]
        module = importlib.import_module(f"pytt_events._generated.{module_name}")
        assert module.__file__ is not None
        header = Path(module.__file__).read_text("utf-8").splitlines()[2]
        expected = hashlib.sha256(path.read_bytes()).hexdigest()
        assert header == f"# schema-sha256: {expected}", (
            f"{module.__file__} was built from another {path}: run `python -m codegen` "
            "(editable install) or reinstall the package"
        )


def test_installed_package_ships_the_schema_byte_for_byte() -> None:
    for version, path in schema_files(ROOT).items():
        _, relative = _generated.VERSIONS[version]
        shipped = resources.files(_generated).joinpath(relative).read_bytes()
        assert shipped == path.read_bytes()


def copy_project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    for name in ("schema", "codegen", "src"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run_codegen(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegen", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_check_fails_after_a_schema_change_until_regenerated(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    assert run_codegen(project, "--check").returncode == 0
    schema_path = project / "schema" / "v1.3" / "events_api.schema.json"
    schema = json.loads(schema_path.read_text("utf-8"))
    schema["$defs"]["Page"]["properties"]["url"]["description"] = "Where it happened."
    schema_path.write_text(json.dumps(schema, indent=2), "utf-8")

    failed = run_codegen(project, "--check")
    assert failed.returncode == 1
    assert "Run: python -m codegen" in failed.stderr
    assert "+    Where it happened." in failed.stderr

    regenerated = run_codegen(project)
    assert regenerated.returncode == 0, regenerated.stderr
    assert run_codegen(project, "--check").returncode == 0


def walk_objects(node: Any, path: str = "#") -> Any:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from walk_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_objects(value, f"{path}/{index}")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (ROOT / "schema" / "v1.3" / "events_api.schema.json").read_text("utf-8")
    )
    return loaded


def test_schema_lint_titles_and_descriptions(schema: dict[str, Any]) -> None:
    for name, definition in schema["$defs"].items():
        assert definition.get("title") == name, f"{name}: title must equal the $defs key"
        assert definition.get("description"), f"{name}: needs a description"
        for field, child in definition.get("properties", {}).items():
            described = child.get("description") or (
                "$ref" in child and schema["$defs"][child["$ref"].split("/")[-1]].get("description")
            )
            assert described, f"{name}.{field}: needs a description"


def test_schema_lint_request_objects_are_closed(schema: dict[str, Any]) -> None:
    # Open on purpose, each saying why in its description: custom properties (1.0 and 2.0),
    # and TikTok's device object, whose fields it defines.
    for path, node in walk_objects(schema):
        expected = node.get("title") in {"Properties", "TrackProperties", "Device"}
        assert node.get("additionalProperties") is expected, path


def test_content_type_is_per_content_item(schema: dict[str, Any]) -> None:
    definitions = schema["$defs"]
    assert definitions["Content"]["properties"]["content_type"] == {"$ref": "#/$defs/ContentType"}
    assert definitions["Properties"]["not"] == {"required": ["content_type"]}
    assert "content_type" not in definitions["Properties"]["properties"]


def test_models_module_reexports_every_generated_class() -> None:
    from enum import Enum

    from pytt_events._generated import v1_3 as generated

    classes = {
        name
        for name, value in vars(generated).items()
        if isinstance(value, type)
        and value.__module__ == generated.__name__
        and (issubclass(value, SchemaModel) or issubclass(value, Enum))
        and name != "TikTokEventsApiV13"
    }
    assert classes == set(v1_3.__all__)
