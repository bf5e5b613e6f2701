"""`pytt-events validate`, `send` and `schema`, run as users run them, on stored payload files
built from the corpus of real request bodies (valid and broken, all three families)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytt_events.testing import Fault, FaultPlan, SandboxServer
from pytt_events.validation import validate_file
from tests.conftest import TOKEN

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def body(name: str) -> Any:
    return json.loads((CORPUS / name).read_text())


VALID = [
    body("pixel_track/tiktok-gtm-template-eapi__v1-TestGA.json"),
    body("pixel_track/rudder-transformer__processor-test45-empty-contents.json"),
    body("event_track/segment-action-destinations__crm-lead.json"),
    body("event_track/segment-action-destinations__app-multi-product.json"),
    {
        **body("pixel_batch/rudder-transformer__router-test00-batch-4-events.json"),
        "batch": [
            body("pixel_track/rudder-transformer__processor-test26-product-group.json")
            | {"pixel_code": None}
        ],
    },
]
for item in VALID[4]["batch"]:
    item.pop("pixel_code", None)
    item.pop("partner_name", None)
INVALID = {
    "wrong types": (
        body("invalid/pixel_track__wrong-types.json"),
        "/properties/contents/0/price: must be of type number",
    ),
    "missing event": (
        body("invalid/event_track__missing-event.json"),
        "/data/0: 'event' is a required property",
    ),
    "ISO event_time": (
        body("invalid/event_track__event-time-iso-string.json"),
        "/data/0/event_time: must be of type integer",
    ),
    "1.0 content_type": (
        body("invalid/pixel_track__content-type-at-properties-level.json"),
        "/properties: must not contain 'content_type'",
    ),
    "too many events": (
        body("invalid/event_track__1001-events.json"),
        "/data: must have at most 1000 item(s)",
    ),
    "empty batch": (
        body("invalid/pixel_batch__empty-batch.json"),
        "/batch: must have at least 1 item(s)",
    ),
}
UNHASHED = body("invalid/event_track__unhashed-email-phone.json")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def ndjson(path: Path, payloads: list[Any], extra: str = "") -> Path:
    text = "".join(json.dumps(p) + "\n" for p in payloads) + extra
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def test_all_valid_exits_0_with_a_summary(tmp_path: Path) -> None:
    path = ndjson(tmp_path / "good.ndjson.gz", VALID)
    done = run("validate", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # These real bodies are valid, and TikTok takes them, but some earn warnings: warnings are
    # printed and do not change the exit status.
    assert lines[-1].startswith("5 payload(s): 5 valid, 0 invalid, 0 unreadable; ")
    assert lines[:-1]
    assert all(": warning: " in line for line in lines[:-1])
    assert done.stderr == ""  # piped: no progress bar


def test_warnings_are_printed_and_fail_only_with_strict(tmp_path: Path) -> None:
    digest = "a" * 64
    event = {
        "event": "Lead",
        "event_time": int(time.time()) - 3600,  # an hour ago: no age warning, ever
        "event_id": "e1",
        "user": {"email": digest},
    }
    clean = {"event_source": "crm", "event_source_id": "7123456789012345678", "data": [event]}

    def variant(**changes: Any) -> dict[str, Any]:
        return clean | {"data": [event | changes]}

    payloads = [
        clean,  # no warning
        variant(event="CompletePayment"),
        variant(properties={"currency": "XTS", "value": 0}),
        variant(event_time=1_600_000_000),
        variant(properties={"colour": "red"}),
        clean | {"event_source_id": "test"},
    ]
    path = ndjson(tmp_path / "warned.ndjson", payloads)
    done = run("validate", str(path))
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[:-1] == [
        f"{path}:2: warning: /data/0/event: 'CompletePayment' is renamed Purchase by TikTok in "
        "2025 (still converted on TikTok's side); send Purchase",
        f"{path}:3: warning: /data/0/properties/currency: is not one of the 67 values TikTok "
        "supports (SupportedCurrency); it is sent as given",
        f"{path}:4: warning: /data/0/event_time: is more than 28 days old: TikTok matches "
        "events within 28 days, so it will probably not be matched; it is sent as given",
        f"{path}:5: warning: /data/0/properties: 'colour' is not a field TikTok documents here; "
        "it is sent, but TikTok may ignore it",
        f"{path}:6: warning: /event_source_id: is not shaped like an event set ID (19 digits), "
        "which offline and crm events take; it is sent as given",
    ]
    assert lines[-1] == (
        "6 payload(s): 6 valid, 0 invalid, 0 unreadable; 5 warning(s) in 5 payload(s)"
    )
    assert run("validate", "--strict", str(path)).returncode == 1
    as_json = run("validate", "--format", "json", str(path)).stdout.splitlines()
    records = [json.loads(line) for line in as_json]
    assert {record.get("severity") for record in records[:-1]} == {"warning"}
    assert records[-1]["summary"]["warnings"] == 5


def test_a_pixel_code_for_an_offline_event_is_an_error(tmp_path: Path) -> None:
    offline = VALID[2] | {"event_source": "offline", "event_source_id": "COQDA8RC77U2TMR44LI0"}
    done = run("validate", str(ndjson(tmp_path / "offline.ndjson", [offline])))
    assert done.returncode == 1
    assert (
        f"{tmp_path / 'offline.ndjson'}:1: /event_source_id: is a pixel code, which only web "
        "events take: offline and crm events take an event set ID (19 digits); TikTok answers "
        "40002"
    ) in done.stdout.splitlines()


def test_invalid_payloads_are_listed_by_file_line_and_pointer(tmp_path: Path) -> None:
    payloads = [VALID[0], *(payload for payload, _ in INVALID.values())]
    path = ndjson(tmp_path / "mixed.jsonl", payloads, extra=json.dumps(VALID[0])[:30] + "\n")
    done = run("validate", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    for number, (_, expected) in enumerate(INVALID.values(), start=2):
        assert any(line.startswith(f"{path}:{number}: {expected}") for line in lines), expected
    assert any(line.startswith(f"{path}:8: /: not valid JSON") for line in lines)
    assert lines[-1].startswith("8 payload(s): 1 valid, 6 invalid, 1 unreadable")


def test_require_hashed_reports_raw_personal_data(tmp_path: Path) -> None:
    path = ndjson(tmp_path / "raw.ndjson", [UNHASHED])
    assert run("validate", str(path)).returncode == 0
    done = run("validate", "--require-hashed", str(path))
    assert done.returncode == 1
    assert f"{path}:1: /data/0/user/email/0: personal data (email) is not a SHA-256" in done.stdout
    for raw in UNHASHED["data"][0]["user"]["email"]:
        assert raw not in done.stdout


def test_json_output_and_json_arrays(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text(json.dumps([VALID[0], INVALID["missing event"][0]], indent=2))
    done = run("validate", "--format", "json", str(path))
    assert done.returncode == 1
    records = [json.loads(line) for line in done.stdout.splitlines()]
    errors = [record for record in records[:-1] if record["severity"] == "error"]
    assert errors == [
        {
            "file": str(path),
            "line": errors[0]["line"],
            "path": "/data/0",
            "severity": "error",
            "message": "'event' is a required property",
        }
    ]
    summary = records[-1]["summary"]
    assert {key: summary[key] for key in ("payloads", "valid", "invalid", "unreadable")} == {
        "payloads": 2,
        "valid": 1,
        "invalid": 1,
        "unreadable": 0,
    }


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    bad_gz = tmp_path / "bad.ndjson.gz"
    bad_gz.write_bytes(b"this is not gzip")
    good = ndjson(tmp_path / "good.ndjson", VALID[:1])
    done = run("validate", str(good), str(bad_gz), str(tmp_path / "missing.ndjson"))
    assert done.returncode == 2
    assert f"{bad_gz}: cannot read: " in done.stderr
    assert f"{tmp_path / 'missing.ndjson'}: cannot read: No such file or directory" in done.stderr
    assert "1 payload(s): 1 valid" in done.stdout


def test_truncated_gzip_is_reported_as_unreadable_payload(tmp_path: Path) -> None:
    data = gzip.compress(("".join(json.dumps(VALID[0]) + "\n" for _ in range(3000))).encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    done = run("validate", str(path))
    assert done.returncode == 1
    assert "damaged or truncated" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("validate", "--schema", "nope", "x.ndjson"),
            "'nope' is not one of pixel_track, pixel_batch, event_track",
        ),
        (("validate", "--api-version", "v9.9", "x.ndjson"), "known versions: v1.3"),
        (("validate",), "Missing argument"),
        (("schema", "nope"), "is not a request family or API version"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_schema_lists_and_prints(tmp_path: Path) -> None:
    listing = run("schema")
    assert listing.returncode == 0
    assert "v1.3  event_track  POST event/track/   up to 1000 events" in listing.stdout
    assert "v1.3  pixel_batch  POST pixel/batch/   up to 50 events" in listing.stdout
    family = json.loads(run("schema", "event_track").stdout)
    assert family["$ref"] == "#/$defs/EventTrackRequest"
    whole = json.loads(run("schema", "v1.3").stdout)
    assert whole["x-api-version"] == "v1.3"


@pytest.mark.parametrize("command", ["validate", "send", "schema"])
def test_help_with_examples(command: str) -> None:
    done = run(command, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout


def sandbox_env(sandbox: SandboxServer) -> dict[str, str]:
    return {
        "TIKTOK_ACCESS_TOKEN": TOKEN,
        "TIKTOK_PIXEL_ID": "CLIPIXEL",
        "TIKTOK_API_BASE_URL": sandbox.base_url,
    }


def test_send_replays_valid_payloads_and_reports_the_rest(tmp_path: Path) -> None:
    source = ndjson(
        tmp_path / "sent.ndjson",
        [*VALID, INVALID["missing event"][0], UNHASHED],
        extra="{truncated\n",
    )
    with SandboxServer(access_token=TOKEN) as sandbox:
        dry = run("send", "--dry-run", str(source), env=sandbox_env(sandbox))
        assert sandbox.received == []
        done = run("send", str(source), env=sandbox_env(sandbox))
        received = sandbox.accepted_events()
    assert dry.returncode == 1
    assert "dry run: 6 event(s) would go in 6 request(s); 1 invalid and 1 unreadable" in dry.stdout
    assert done.returncode == 1
    assert (
        "6 of 6 event(s) accepted, 0 failed; 1 invalid and 1 unreadable payload(s) skipped"
        in done.stdout
    )
    # In validate's words (issue 20, item 14).
    assert f"{source}:6: /data/0: 'event' is a required property" in done.stderr
    assert f"{source}:8: /: not valid JSON" in done.stderr
    assert len(received) == 6
    sent = json.dumps(received)
    for raw in UNHASHED["data"][0]["user"]["email"]:
        assert raw not in sent  # hashed on the way


def test_send_writes_failed_events_that_send_accepts_again(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    failed = tmp_path / "failed.ndjson"
    # Retry-After: 0 lets the command retry at once instead of waiting out its backoff (3.5 s).
    down_for_good = FaultPlan(Fault.SERVER_ERROR, first=1000, retry_after=0)
    with SandboxServer(access_token=TOKEN, faults=down_for_good) as down:
        done = run("send", str(source), "--failed-out", str(failed), env=sandbox_env(down))
    assert done.returncode == 1
    assert "0 of 5 event(s) accepted, 5 failed" in done.stdout
    assert len(failed.read_text().splitlines()) == 5
    assert [result.valid for result in validate_file(failed, require_hashed=True)] == [True] * 5
    with SandboxServer(access_token=TOKEN) as up:
        again = run("send", str(failed), env=sandbox_env(up))
        assert len(up.accepted_events()) == 5
    assert again.returncode == 0, again.stderr
    assert "5 of 5 event(s) accepted, 0 failed" in again.stdout


def test_send_without_credentials_is_a_usage_error(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID[:1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    done = subprocess.run(
        [COMMAND, "send", str(source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert (
        "missing or invalid settings: set TIKTOK_ACCESS_TOKEN, TIKTOK_PIXEL_ID (environment "
        "variable or .env key)"
    ) in done.stderr.replace("\n", " ")


def test_send_warns_about_events_older_than_the_dedup_window(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "old.ndjson", VALID)  # the corpus bodies are years old
    with SandboxServer(access_token=TOKEN) as up:
        done = run("send", str(source), env=sandbox_env(up))
    assert done.returncode == 0, done.stderr
    assert "event(s) happened more than 48 hours ago" in done.stderr
    assert "may be counted twice" in done.stderr
    recent = ndjson(tmp_path / "new.ndjson", [
        VALID[2] | {"data": [VALID[2]["data"][0] | {"event_time": int(time.time())}]}
    ])  # fmt: skip
    with SandboxServer(access_token=TOKEN) as up:
        again = run("send", str(recent), env=sandbox_env(up))
    assert again.returncode == 0, again.stderr
    assert "48 hours" not in again.stderr


def test_failed_out_that_is_the_input_is_refused_before_sending(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    before = source.read_bytes()
    with SandboxServer(access_token=TOKEN) as sandbox:
        env = sandbox_env(sandbox) | {"TIKTOK_ACCESS_TOKEN": "wrong"}
        done = run("send", str(source), "--failed-out", str(source), env=env)
        assert sandbox.received == []  # refused before the first request
    assert done.returncode == 2
    assert "is the input file" in done.stderr
    assert source.read_bytes() == before  # nothing lost


def test_an_unwritable_failed_out_is_found_before_sending(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    target = tmp_path / "missing-folder" / "failed.ndjson"
    with SandboxServer(access_token=TOKEN) as sandbox:
        done = run("send", str(source), "--failed-out", str(target), env=sandbox_env(sandbox))
        assert sandbox.received == []
    assert done.returncode == 2
    assert f"cannot write --failed-out {target}" in done.stderr


def test_failed_out_is_written_whole_and_nothing_is_left_behind(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    failed = tmp_path / "failed.ndjson"
    with SandboxServer(access_token=TOKEN) as sandbox:
        env = sandbox_env(sandbox) | {"TIKTOK_ACCESS_TOKEN": "wrong"}
        done = run("send", str(source), "--failed-out", str(failed), "--batch-size", "2", env=env)
    assert done.returncode == 1
    assert len(failed.read_text().splitlines()) == 5  # every event, across three batches
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.ndjson", "sent.ndjson"]


def test_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    done = subprocess.run(
        [COMMAND, "send", "--dry-run", str(source)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dry run: 5 event(s) would go in" in done.stdout


def test_dry_run_with_an_invalid_setting_is_a_usage_error(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    env["TIKTOK_API_BASE_URL"] = "ftp://example.invalid/"
    done = subprocess.run(
        [COMMAND, "send", "--dry-run", str(source)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "fix TIKTOK_API_BASE_URL (invalid value)" in done.stderr
    assert "Traceback" not in done.stderr


def test_standard_input_is_read_for_a_dash(tmp_path: Path) -> None:
    data = gzip.compress("".join(json.dumps(p) + "\n" for p in VALID).encode())
    done = subprocess.run([COMMAND, "validate", "-"], input=data, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[-1].startswith("5 payload(s): 5 valid")
    broken = subprocess.run(
        [COMMAND, "validate", "-"], input=b"not json\n", capture_output=True, check=False
    )
    assert broken.returncode == 1
    assert "<stdin>:1: /: not valid JSON" in broken.stdout.decode()


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytt_events", "--help"], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert "Usage: pytt-events" in done.stdout


def test_verbose_shows_only_the_sdk_log_and_vv_adds_httpx(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID[:1])
    with SandboxServer(access_token=TOKEN) as up:
        one = run("-v", "send", str(source), env=sandbox_env(up))
        two = run("-vv", "send", str(source), env=sandbox_env(up))
    assert "pytt_events DEBUG POST /open_api/v1.3/pixel/batch/" in one.stderr
    assert "httpx" not in one.stderr
    assert "httpx" in two.stderr
    for done in (one, two):
        assert TOKEN not in done.stdout + done.stderr


def test_failures_are_grouped_by_reason(tmp_path: Path) -> None:
    events = [
        VALID[2] | {"data": [VALID[2]["data"][0] | {"event_id": f"e{i}"}]} for i in range(300)
    ]
    source = ndjson(tmp_path / "sent.ndjson", events)
    with SandboxServer(access_token=TOKEN) as sandbox:
        env = sandbox_env(sandbox) | {"TIKTOK_ACCESS_TOKEN": "wrong"}
        done = run("send", str(source), "--batch-size", "100", env=env)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if " event(s) failed: " in line]
    assert len(lines) == 3  # one per batch of 100, not one per event
    assert lines[0].startswith(f"{source}: 100 event(s) failed: TikTok code 40105")
    assert lines[0].endswith("(events 0, 1, 2, ...)")
    assert lines[1].endswith("(events 100, 101, 102, ...)")
    assert "wrong" not in done.stderr  # the token given is never repeated


def test_random_binary_input_stops_early_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "binary.ndjson"
    path.write_bytes(b"\x00\xff garbage\n" * 5000)
    done = run("validate", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 1002  # 1,000 reported, the stop, the summary
    assert "stopped reading: 1000 unreadable lines in a row" in lines[-2]


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_send_writes_every_event_not_accepted(
    tmp_path: Path, stop_signal: int
) -> None:
    events = [VALID[2] | {"data": [VALID[2]["data"][0] | {"event_id": f"e{i}"}]} for i in range(30)]
    source = ndjson(tmp_path / "sent.ndjson", events)
    first_request = threading.Event()
    # Every request is slow, so the signal reliably arrives while the first batch is in flight.
    delay = FaultPlan(Fault.DELAY, attempts=99, delay=1.0)
    with SandboxServer(
        access_token=TOKEN, faults=delay, on_request=lambda record: first_request.set()
    ) as sandbox:
        process = subprocess.Popen(
            [COMMAND, "send", str(source), "--batch-size", "10"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **sandbox_env(sandbox)},
        )  # fmt: skip
        try:
            assert first_request.wait(60)  # answered: the first batch's request is done
            process.send_signal(stop_signal)
            _out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        accepted = {event["event_id"] for event in sandbox.accepted_events()}
    assert process.returncode == 130, err
    unsent = tmp_path / "sent.ndjson.unsent.ndjson"
    lines = unsent.read_text().splitlines() if unsent.exists() else []  # none: all accepted
    written = [json.loads(line)["data"][0]["event_id"] for line in lines]
    # Nothing lost, nothing twice: accepted plus written is the input.
    assert sorted(accepted | set(written)) == sorted(f"e{i}" for i in range(30))
    assert accepted.isdisjoint(written)
    assert f"not sent; the {len(written)} not accepted are written to {unsent}" in err
