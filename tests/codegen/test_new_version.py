"""The procedure for a new API version, end to end, in a copy of the repository: add
schema/v1.4 (v1.3 with a personal-data field added and a field removed), run the documented
regeneration command, and use the copy: the client posts to /v1.4/, the new field is accepted
and hashed, the removed one is refused, and stored-payload validation follows the version."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codegen._diff import diff
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NEW_FIELD = {
    "type": "string",
    "minLength": 1,
    "x-pii": "name",
    "description": "First name. Trimmed and lowercased, then SHA-256-hashed.",
}


def make_v14(schema: dict) -> dict:  # type: ignore[type-arg]
    changed = json.loads(json.dumps(schema))
    changed["x-api-version"] = "v1.4"
    changed["$id"] = changed["$id"].replace("v1.3", "v1.4")
    user = changed["$defs"]["User"]["properties"]
    user["first_name"] = NEW_FIELD
    del user["lead_id"]
    return changed


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("repo")
    for name in ("schema", "codegen", "src"):
        shutil.copytree(
            ROOT / name,
            copy / name,
            ignore=shutil.ignore_patterns("__pycache__", "_generated"),
        )
    v13 = copy / "schema" / "v1.3" / "events_api.schema.json"
    v14 = copy / "schema" / "v1.4" / "events_api.schema.json"
    v14.parent.mkdir()
    v14.write_text(json.dumps(make_v14(json.loads(v13.read_text())), indent=2) + "\n")
    done = subprocess.run(  # the documented regeneration command
        [sys.executable, "-m", "codegen"], cwd=copy, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "src/pytt_events/_generated/v1_4.py" in done.stdout
    return copy


def run_in(project: Path, code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(project / "src"), **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_diff_reports_the_change(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "diff", "v1.3", "v1.4"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "schema diff schema/v1.3/events_api.schema.json -> schema/v1.4/events_api.schema.json:"
        " 2 change(s)",
        "- User.lead_id: removed",
        "+ User.first_name: added (string, personal data: name)",
    ]


def test_the_copy_uses_the_new_version_end_to_end(project: Path) -> None:
    out = run_in(
        project,
        """
        import json, os
        import pytt_events
        from pytt_events import PayloadValidationError, TikTokEventsApi, known_versions
        from pytt_events.testing import SandboxServer
        from pytt_events.validation import validate_payload

        assert pytt_events.__file__.startswith(os.getcwd()), pytt_events.__file__
        event = {"pixel_code": "P", "event": "ViewContent",
                 "context": {"user": {"first_name": " Ana ", "email": "Ana@Example.com"}}}
        old = {"pixel_code": "P", "event": "ViewContent",
               "context": {"user": {"lead_id": "L1", "email": "ana@example.com"}}}
        with SandboxServer(access_token="t") as sandbox:
            os.environ.update(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID="P",
                              TIKTOK_API_BASE_URL=sandbox.base_url, TIKTOK_API_VERSION="v1.4")
            with TikTokEventsApi() as api:
                code = api.post_event(event).code
                try:
                    api.post_event(old)
                    refused = ""
                except PayloadValidationError as error:
                    refused = str(error)
            received = [(r.path, r.body) for r in sandbox.received]
        print(json.dumps({
            "versions": known_versions(), "code": code, "refused": refused, "received": received,
            "old_v13": [str(p) for p in validate_payload(old, api_version="v1.3")],
            "old_v14": [str(p) for p in validate_payload(old, api_version="v1.4")],
            "new_v13": [str(p) for p in validate_payload(event, api_version="v1.3")],
        }))
        """,
    )
    result = json.loads(out)
    assert result["versions"] == ["v1.3", "v1.4"]
    assert result["code"] == 0
    ((path, body),) = result["received"]
    assert path == "/open_api/v1.4/pixel/track/"
    assert body["context"]["user"]["first_name"] == hashlib.sha256(b"ana").hexdigest()
    assert body["context"]["user"]["email"] == hashlib.sha256(b"ana@example.com").hexdigest()
    assert "context.user.lead_id: Extra inputs are not permitted" in result["refused"]
    assert result["old_v13"] == []
    assert result["old_v14"] == [
        "/context/user: Additional properties are not allowed ('lead_id' was unexpected)"
    ]
    assert result["new_v13"] == [
        "/context/user: Additional properties are not allowed ('first_name' was unexpected)"
    ]


def test_the_cli_follows_the_version(project: Path, tmp_path: Path) -> None:
    stored = tmp_path / "sent.ndjson"
    stored.write_text(
        json.dumps({"pixel_code": "P", "event": "X", "context": {"user": {"lead_id": "L1"}}}) + "\n"
    )
    code = "import sys; from pytt_events.cli import main; sys.argv[0] = 'pytt-events'; main()"
    base = [sys.executable, "-c", code, "validate", str(stored)]
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    v13 = subprocess.run(base, env=env, capture_output=True, text=True, timeout=60)
    v14 = subprocess.run(
        base, env={**env, "TIKTOK_API_VERSION": "v1.4"}, capture_output=True, text=True, timeout=60
    )
    assert v13.returncode == 0, v13.stdout + v13.stderr
    assert v14.returncode == 1
    assert "'lead_id' was unexpected" in v14.stdout


def test_unknown_versions_are_refused_with_the_known_ones(project: Path) -> None:
    out = run_in(
        project,
        """
        from pytt_events import TikTokEventsApi, UnknownApiVersionError
        try:
            TikTokEventsApi(api_version="v2.0")
        except UnknownApiVersionError as error:
            print(error)
        """,
    )
    assert (
        out.strip() == "API version 'v2.0' has no schema in this build; known versions: v1.3, v1.4"
    )


def test_diff_of_documents_covers_types_limits_enums_and_marks() -> None:
    old = {
        "$defs": {
            "A": {
                "type": "object",
                "required": ["x"],
                "properties": {
                    "x": {"type": "string", "maxLength": 5},
                    "y": {"type": "string", "enum": ["a", "b"]},
                    "z": {"type": "string", "x-pii": "email"},
                },
            },
            "Gone": {"type": "object", "properties": {}},
        }
    }
    new = {
        "$defs": {
            "A": {
                "type": "object",
                "required": [],
                "properties": {
                    "x": {"type": "integer", "maxLength": 9},
                    "y": {"type": "string", "enum": ["b", "c"]},
                    "z": {"type": "string"},
                },
            },
        }
    }
    assert diff(old, new) == [
        "- Gone: definition removed",
        "~ A.x: type string -> integer",
        "~ A.x: no longer required",
        "~ A.x: maxLength 5 -> 9",
        "~ A.y: enum values added 'c'",
        "~ A.y: enum values removed 'a'",
        "~ A.z: personal data email -> none",
    ]
