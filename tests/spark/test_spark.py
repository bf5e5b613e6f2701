"""pytt_events.spark on a local[2] Spark (driver on 127.0.0.1, UI off), against the project's
own sandbox: parity with validate_file, sends under server faults matched against the
sandbox's record, a task Spark retries (no event_id delivered twice in a way TikTok cannot
merge), and the failures replayed through `pytt-events send`.

Skipped when pyspark is not installed (`pip install -e '.[spark]'`); .ci/run installs it and runs
these in a step of their own.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from pyspark.sql import SparkSession  # noqa: E402

from pytt_events import Event, sha256_hex  # noqa: E402
from pytt_events import spark as tts  # noqa: E402
from pytt_events.testing import Fault, FaultPlan, SandboxServer  # noqa: E402
from pytt_events.validation import validate_file  # noqa: E402
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, TOKEN  # noqa: E402

pytestmark = [
    pytest.mark.spark,
    # pyspark's own warnings (pandas version notices), by name: not ours, not wholesale.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning"),
]

EVENT_SET = "7123456789012345678"


def track_body(event_id: str, email: str | None = None) -> dict[str, Any]:
    user = {"email": sha256_hex(email or f"{event_id}@example.com")}
    event = {"event": "Purchase", "event_time": 1_900_000_000, "event_id": event_id, "user": user}
    return {"event_source": "offline", "event_source_id": EVENT_SET, "data": [event]}


def pixel_body(event: Event, event_id: str) -> dict[str, Any]:
    return event.model_copy(update={"event_id": event_id}).normalize_data()


def lines_of(bodies: list[Any]) -> list[str]:
    return [body if isinstance(body, str) else json.dumps(body) for body in bodies]


def test_validate_gives_what_validate_file_gives(
    spark: SparkSession, event: Event, tmp_path: Path
) -> None:
    unhashed = pixel_body(event, "u-1")
    unhashed["context"]["user"]["email"] = RAW_PERSONAL_DATA[0]
    lines = lines_of(
        [
            pixel_body(event, "h-1"),  # hashed: valid
            track_body("h-2"),
            unhashed,  # unhashed personal data: invalid with require_hashed
            '{"event_source": "web", "data": [',  # truncated
            {"pixel_code": PIXEL, "event": "ViewContent"},  # no context: invalid
            {"event_source": "web", "event_source_id": PIXEL, "data": []},
        ]
    )
    path = tmp_path / "sent.ndjson.gz"
    path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    expected = [
        (
            "valid" if result.valid and not result.unreadable else
            "unreadable" if result.unreadable else "invalid",
            [(problem.path or "/", problem.message) for problem in result.problems],
        )
        for result in validate_file(path, require_hashed=True)
    ]  # fmt: skip
    frame = spark.read.text(str(path))  # raw text, a row a line (gzip read by Spark)
    verdicts = tts.validate(frame, require_hashed=True).collect()
    got = [(row.status, [(p.path, p.message) for p in row.problems]) for row in verdicts]
    assert got == expected
    assert [row.status for row in verdicts] == [
        "valid", "valid", "invalid", "unreadable", "invalid", "invalid",
    ]  # fmt: skip
    assert not any(RAW_PERSONAL_DATA[0] in str(row) for row in verdicts)
    files = tts.validate_files(spark, [str(path)], require_hashed=True).collect()
    by_files = [(row.status, [(p.path, p.message) for p in row.problems]) for row in files]
    assert by_files == expected
    assert [row.line for row in files] == [1, 2, 3, 4, 5, 6]
    counted = tts.summary(tts.validate(frame, require_hashed=True))
    assert counted["status"] == {"valid": 2, "invalid": 3, "unreadable": 1}
    assert counted["rows"] == 6


def test_validate_keeps_the_columns_asked_for(spark: SparkSession, event: Event) -> None:
    frame = spark.createDataFrame(
        [("a", json.dumps(pixel_body(event, "k-1"))), ("b", "nope")], "id string, value string"
    )
    rows = tts.validate(frame, keep=["id"]).collect()
    assert [(row.id, row.status, row.severity) for row in rows] == [
        ("a", "valid", None),
        ("b", "unreadable", "error"),
    ]


def settings_of(server: SandboxServer) -> dict[str, str]:
    return {
        "TIKTOK_ACCESS_TOKEN": server.access_token,
        "TIKTOK_PIXEL_ID": PIXEL,
        "TIKTOK_API_BASE_URL": server.base_url,
    }


def test_send_under_faults_matches_the_sandbox_record(
    spark: SparkSession, event: Event, tmp_path: Path
) -> None:
    ids = [f"s-{i}" for i in range(40)]
    bodies: list[Any] = [track_body(i) for i in ids[:30]] + [pixel_body(event, i) for i in ids[30:]]
    bodies += ["not json", {"event_source": "tv", "event_source_id": "1", "data": [{}]}]
    frame = spark.createDataFrame([(line,) for line in lines_of(bodies)], "value string")
    faults = [
        FaultPlan(Fault.SERVER_ERROR, attempts=1, share=0.5, seed=3),  # retried, then accepted
    ]
    with SandboxServer(access_token=TOKEN, faults=faults, bad_events={"s-7", "s-33"}) as server:
        outcomes = tts.send(frame.repartition(2), settings=settings_of(server), batch_size=10)
        rows = outcomes.collect()
        accepted_by_sandbox = Counter(
            str(e["event_id"]) for e in server.accepted_events() if isinstance(e, dict)
        )
    statuses = Counter(row.status for row in rows)
    assert statuses == {"accepted": 38, "failed": 2, "invalid": 2}
    accepted = {row.event_id for row in rows if row.status == "accepted"}
    assert accepted == set(accepted_by_sandbox) == set(ids) - {"s-7", "s-33"}
    assert all(count == 1 for count in accepted_by_sandbox.values())
    failed = {row.event_id: row for row in rows if row.status == "failed"}
    assert set(failed) == {"s-7", "s-33"}
    assert all(row.code == 40002 and row.payload for row in failed.values())
    assert all(row.request_id for row in rows if row.status == "accepted")
    # The failures, written and sent again by the CLI to a sandbox that takes them.
    out = tmp_path / "failed"
    tts.write_failed(outcomes_frame(spark, rows), str(out))
    (part,) = [p for p in out.iterdir() if p.name.startswith("part-") and p.stat().st_size]
    with SandboxServer(access_token=TOKEN) as again:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("pytt-events")), "send", str(part)],
            capture_output=True,
            text=True,
            env={**os.environ, **settings_of(again)},
            timeout=120,
            check=False,
        )
        resent = sorted(str(e["event_id"]) for e in again.accepted_events())
    assert done.returncode == 0, done.stderr
    assert resent == ["s-33", "s-7"]


def test_a_partial_success_is_reported_and_the_lazy_outcomes_are_never_sent_twice(
    spark: SparkSession, tmp_path: Path
) -> None:
    ids = [f"ps-{i}" for i in range(4)]
    frame = spark.createDataFrame(
        [(line,) for line in lines_of([track_body(i) for i in ids])], "value string"
    )
    partial = [FaultPlan(Fault.PARTIAL, attempts=1, share=1.0, seed=1)]  # every request
    with SandboxServer(access_token=TOKEN, faults=partial) as server:
        outcomes = tts.send(frame.coalesce(1), settings=settings_of(server))
        with pytest.raises(ValueError, match="send every event again"):
            tts.write_failed(outcomes, str(tmp_path / "failed"))
        rows = outcomes.collect()
        assert len(server.received) == 1  # one action, one send; the refusal sent nothing
    assert sorted((row.event_id, row.status, row.code) for row in rows) == [
        (i, "partial", 20001) for i in ids
    ]
    out = tmp_path / "failed"
    tts.write_failed(outcomes_frame(spark, rows), str(out))
    with pytest.raises(Exception, match="already exists"):
        tts.write_failed(outcomes_frame(spark, rows), str(out))  # never replaced unasked
    tts.write_failed(outcomes_frame(spark, rows), str(out), mode="overwrite")


def outcomes_frame(spark: SparkSession, rows: list[Any]) -> Any:
    return spark.createDataFrame(rows, tts.OUTCOME_SCHEMA).coalesce(1)


def test_a_retried_task_sends_no_event_id_twice_in_a_way_tiktok_cannot_merge(
    spark: SparkSession, event: Event
) -> None:
    # Half the stored events have no event_id: send derives one from their content, the same
    # on the retry, so TikTok can merge the second delivery.
    bodies: list[Any] = []
    for i in range(20):
        body = track_body(f"r-{i}")
        if i % 2:
            del body["data"][0]["event_id"]
        bodies.append(body)
    frame = spark.createDataFrame([(line,) for line in lines_of(bodies)], "value string")

    def fail_first_attempt(batches: Iterator[Any]) -> Iterator[Any]:
        from pyspark import TaskContext

        held = list(batches)  # the sends of this task are done
        context = TaskContext.get()
        if context is not None and context.attemptNumber() == 0:
            raise RuntimeError("the first attempt of every task fails (test)")
        yield from held

    with SandboxServer(access_token=TOKEN) as server:
        outcomes = tts.send(frame.repartition(2), settings=settings_of(server))
        rows = outcomes.mapInArrow(fail_first_attempt, tts.OUTCOME_SCHEMA).collect()
        delivered = [e for r in server.received for e in r.events]
    assert len(rows) == 20
    assert all(row.status == "accepted" for row in rows)
    by_id: dict[str, list[str]] = {}
    for delivered_event in delivered:
        by_id.setdefault(delivered_event["event_id"], []).append(json.dumps(delivered_event))
    assert len(by_id) == 20  # every event, each under one event_id
    assert any(len(copies) > 1 for copies in by_id.values())  # the retry did resend
    # Every resend carries the same event_id and the same event: TikTok merges them.
    assert all(len(set(copies)) == 1 for copies in by_id.values())
    assert {row.event_id for row in rows} == set(by_id)


def test_send_can_refuse_events_without_an_event_id(spark: SparkSession) -> None:
    bodies: list[Any] = [track_body(f"m-{i}") for i in range(4)]
    for body in bodies[1::2]:
        del body["data"][0]["event_id"]
    frame = spark.createDataFrame([(line,) for line in lines_of(bodies)], "value string")
    with SandboxServer(access_token=TOKEN) as server:
        outcomes = tts.send(
            frame.coalesce(1), settings=settings_of(server), missing_event_ids="refuse"
        )
        rows = outcomes.collect()
        sent = sorted(str(e["event_id"]) for e in server.accepted_events())
    assert sent == ["m-0", "m-2"]
    assert Counter(row.status for row in rows) == {"accepted": 2, "invalid": 2}
    assert all("event_id" in row.reason for row in rows if row.status == "invalid")
    with pytest.raises(ValueError, match="missing_event_ids"):
        tts.send(frame, settings={"TIKTOK_ACCESS_TOKEN": TOKEN}, missing_event_ids="guess")  # type: ignore[arg-type]
