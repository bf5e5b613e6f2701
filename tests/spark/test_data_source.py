"""The `tiktok_events` data source (Spark >= 4.0) on the shared local Spark, against the
project's own sandbox over 127.0.0.1: the batch writer and the streaming sink deliver every
row once after TikTok's deduplication (the sandbox's), failed events land in failed_path as
`pytt-events send` reads them, a streaming query stopped in the middle of a micro-batch and
restarted from its checkpoint sends that micro-batch again under the same event_ids, and the
options refuse what must not travel as an option.

Skipped when pyspark is not installed; .ci/run installs it and runs these in its extras step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from pyspark.sql import SparkSession

from pytt_events import sha256_hex
from pytt_events import spark as tts
from pytt_events.testing import ReceivedRequest, SandboxServer
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, TOKEN

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning"),
]

EVENT_SET = "7123456789012345678"
#: Seconds a test waits at most for something that happens at once (a bound against a hang,
#: never a synchronisation: the tests wait on events).
BOUND = 120


@pytest.fixture(scope="module", autouse=True)
def registered(spark: SparkSession) -> None:
    tts.register(spark)


def track_line(key: str, *, with_id: bool = True, email: str | None = None) -> str:
    """A stored /event/track/ body of one event; its e-mail hashed unless given raw."""
    user = {"email": email if email is not None else sha256_hex(f"{key}@example.com")}
    event: dict[str, Any] = {"event": "Purchase", "event_time": 1_700_000_000, "user": user}
    if with_id:
        event["event_id"] = key
    body = {"event_source": "offline", "event_source_id": EVENT_SET, "data": [event]}
    return json.dumps(body)


def options(server: SandboxServer, failed: Path | None = None) -> dict[str, str]:
    found = {"pixel_id": PIXEL, "api_base_url": server.base_url}
    if failed is not None:
        found["failed_path"] = str(failed)
    return found


def counted_once(server: SandboxServer) -> Counter[str]:
    """The copies TikTok counted of each event, by its e-mail digest (a derived event_id is
    not known to the test): 1 each when every resend carried the same event_id."""
    return Counter(
        str(copy["user"]["email"]) for copies in server.counted_by_key().values() for copy in copies
    )


def failed_lines(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("failed-*.ndjson"))
        for line in path.read_text().splitlines()
    ]


def test_the_batch_writer_delivers_every_row_once_and_keeps_the_failed_ones(
    spark: SparkSession, tmp_path: Path
) -> None:
    keys = [f"b-{i}" for i in range(30)]
    # Every third event has no event_id: one is derived from its content, the same on a resend.
    lines = [track_line(key, with_id=i % 3 != 0) for i, key in enumerate(keys)]
    lines.append('{"event_source": "offline", "data": [')  # unreadable: counted invalid
    source = tmp_path / "sent.ndjson"
    source.write_text("".join(line + "\n" for line in lines))
    failed = tmp_path / "failed"
    frame = spark.read.text(str(source)).repartition(2)
    with SandboxServer(access_token=TOKEN, bad_events={"b-7"}) as server:
        frame.write.mode("append").format("tiktok_events").options(**options(server, failed)).save()
        # The same write again (a job run twice): every event resent under the same event_id.
        frame.write.mode("append").format("tiktok_events").options(**options(server, failed)).save()
        copies = counted_once(server)
        duplicates = server.duplicates
    expected = {sha256_hex(f"{key}@example.com") for key in keys if key != "b-7"}
    assert set(copies) == expected
    assert all(count == 1 for count in copies.values())  # each counted once
    assert duplicates == len(expected)  # the second write: all duplicates
    # The failed event, in failed_path, as `pytt-events send` takes it (each write's file).
    bodies = failed_lines(failed)
    assert [body["data"][0]["event_id"] for body in bodies] == ["b-7", "b-7"]
    reports = tts.summaries(str(failed))
    assert [(r["rows"], r["accepted"], r["failed"], r["invalid"]) for r in reports] == [
        (31, 29, 1, 1),
        (31, 29, 1, 1),
    ]
    invalid = [path.read_text() for path in (failed / "_invalid").glob("invalid-*.ndjson")]
    assert len(invalid) == 2  # the unreadable row's reason, once per write
    assert all('"event_id":null' in text for text in invalid)
    (part, _) = sorted(failed.glob("failed-*.ndjson"))
    with SandboxServer(access_token=TOKEN) as again:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("pytt-events")), "send", str(part)],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "TIKTOK_ACCESS_TOKEN": TOKEN,
                "TIKTOK_PIXEL_ID": PIXEL,
                "TIKTOK_API_BASE_URL": again.base_url,
            },
            timeout=BOUND,
            check=False,
        )
        resent = [str(event["event_id"]) for event in again.accepted_events()]
    assert done.returncode == 0, done.stderr
    assert resent == ["b-7"]


def test_event_columns_become_events_of_the_event_set_given(
    spark: SparkSession, tmp_path: Path
) -> None:
    rows = [
        ("Purchase", 1_700_000_000 + i, f"c-{i}", (sha256_hex(f"c-{i}@example.com"), None), 9.5)
        for i in range(6)
    ]
    frame = spark.createDataFrame(
        rows,
        "event string, event_time long, event_id string, "
        "user struct<email:string, phone:string>, value double",
    ).selectExpr(
        "event", "event_time", "event_id", "user", "named_struct('value', value) AS properties"
    )
    with SandboxServer(access_token=TOKEN) as server:
        frame.coalesce(1).write.mode("append").format("tiktok_events").options(
            **options(server, tmp_path / "failed"),
            event_source="offline",
            event_source_id=EVENT_SET,
        ).save()
        (request,) = server.received
    assert request.body["event_source"] == "offline"
    assert request.body["event_source_id"] == EVENT_SET
    assert [event["event_id"] for event in request.body["data"]] == [f"c-{i}" for i in range(6)]
    first = request.body["data"][0]
    assert first["user"] == {"email": sha256_hex("c-0@example.com")}  # the null phone left out
    assert first["properties"] == {"value": 9.5}
    assert tts.summaries(str(tmp_path / "failed"))[0]["accepted"] == 6


def test_a_payload_column_with_raw_personal_data_is_sent_hashed_and_refusals_are_kept(
    spark: SparkSession, tmp_path: Path
) -> None:
    lines = [track_line("p-0", email=RAW_PERSONAL_DATA[0]), track_line("p-1", with_id=False)]
    frame = spark.createDataFrame(
        [(i, line) for i, line in enumerate(lines)], "n int, payload string"
    )
    failed = tmp_path / "failed"
    with SandboxServer(access_token=TOKEN) as server:
        frame.coalesce(1).write.mode("append").format("tiktok_events").options(
            **options(server, failed), missing_event_ids="refuse"
        ).save()
        sent = [event for request in server.received for event in request.events]
    assert [event["event_id"] for event in sent] == ["p-0"]
    assert sent[0]["user"]["email"] == sha256_hex(RAW_PERSONAL_DATA[0])
    (reasons,) = (failed / "_invalid").glob("invalid-*.ndjson")
    text = reasons.read_text()
    assert "event_id" in text
    assert RAW_PERSONAL_DATA[0] not in text
    assert tts.summaries(str(failed))[0]["invalid"] == 1


def test_options_that_must_not_travel_are_refused(spark: SparkSession, tmp_path: Path) -> None:
    frame = spark.createDataFrame([(track_line("r-0"),)], "value string")
    secret = "do-not-show-me"
    with pytest.raises(Exception, match="option 'access_token' is refused") as refused:
        frame.write.mode("append").format("tiktok_events").option("access_token", secret).save()
    assert secret not in str(refused.value)
    with pytest.raises(Exception, match="unknown option"):
        frame.write.mode("append").format("tiktok_events").option(
            "failed_pth", str(tmp_path)
        ).save()
    with pytest.raises(Exception, match="missing_event_ids"):
        frame.write.mode("append").format("tiktok_events").option(
            "missing_event_ids", "guess"
        ).save()
    with pytest.raises(Exception, match="not text"):
        spark.range(1).withColumnRenamed("id", "value").write.mode("append").format(
            "tiktok_events"
        ).save()


def test_failures_without_a_failed_path_fail_the_write(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(track_line("x-0"),), (track_line("x-1"),)], "value string")
    with SandboxServer(access_token=TOKEN, bad_events={"x-1"}) as server:
        with pytest.raises(Exception, match=r"1 event\(s\) failed .* failed_path is not set"):
            frame.coalesce(1).write.mode("append").format("tiktok_events").options(
                **options(server)
            ).save()
        # Spark ran the task 4 times (local[2,4]): the good event counted once all the same.
        assert [key.event_id for key in server.counted_by_key()] == ["x-0"]


class HoldRequest:
    """A sandbox hook that holds the request carrying a given event (its answer waits) until
    released: a streaming query is stopped while that micro-batch is in flight."""

    def __init__(self, email_digest: str) -> None:
        self.email_digest = email_digest
        self.reached = threading.Event()
        self.released = threading.Event()

    def __call__(self, request: ReceivedRequest) -> None:
        if any(
            isinstance(event, dict) and event.get("user", {}).get("email") == self.email_digest
            for event in request.events
        ):
            self.reached.set()
            self.released.wait(BOUND)


def test_a_stream_stopped_mid_batch_and_restarted_delivers_every_event_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    inbox, failed, checkpoint = tmp_path / "in", tmp_path / "failed", tmp_path / "checkpoint"
    inbox.mkdir()
    keys: list[str] = []
    for number in range(4):  # four files, one micro-batch each (maxFilesPerTrigger=1)
        batch = [f"s{number}-{i}" for i in range(5)]
        keys += batch
        path = inbox / f"part-{number}.ndjson"
        path.write_text(
            "".join(track_line(key, with_id=i % 2 == 0) + "\n" for i, key in enumerate(batch))
        )
        os.utime(path, (1_000_000 + number, 1_000_000 + number))  # the order Spark reads them in
    hold = HoldRequest(sha256_hex("s2-0@example.com"))  # the third micro-batch

    def start(server: SandboxServer) -> Any:
        lines = spark.readStream.format("text").option("maxFilesPerTrigger", 1).load(str(inbox))
        return (
            lines.writeStream.format("tiktok_events")
            .options(**options(server, failed))
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start()
        )

    with SandboxServer(access_token=TOKEN, bad_events={"s3-2"}, on_request=hold) as server:
        try:
            query = start(server)
            assert hold.reached.wait(BOUND)
            query.stop()  # while micro-batch 2's request is in flight: it never commits
        finally:
            hold.released.set()
        assert sorted(p.name for p in (checkpoint / "commits").iterdir() if p.name.isdigit()) == [
            "0",
            "1",
        ]
        before = server.events_accepted
        assert before == 15  # batches 0, 1 and 2 reached the sandbox
        again = start(server)
        assert again.awaitTermination(BOUND)
        assert again.exception() is None
        copies = counted_once(server)
        duplicates = server.duplicates
    expected = {sha256_hex(f"{key}@example.com") for key in keys if key != "s3-2"}
    assert set(copies) == expected
    assert all(count == 1 for count in copies.values())
    assert duplicates == 5  # micro-batch 2, sent again under the same event_ids
    assert [body["data"][0]["event_id"] for body in failed_lines(failed)] == ["s3-2"]
    reports = tts.summaries(str(failed))
    assert [(r["batch_id"], r["accepted"], r["failed"]) for r in reports] == [
        (0, 5, 0), (1, 5, 0), (2, 5, 0), (3, 4, 1),
    ]  # fmt: skip


def test_register_says_it_needs_spark_4_without_the_data_source_api() -> None:
    # Spark 3.x has no pyspark.sql.datasource: the same import failing here stands for it.
    code = (
        "import sys; sys.modules['pyspark.sql.datasource'] = None\n"
        "from pytt_events import spark as tts\n"
        "try:\n    tts.register(None)\nexcept ValueError as error:\n    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=BOUND, check=True
    )
    assert "needs Spark >= 4.0" in done.stdout
    assert "pytt_events.spark.send" in done.stdout
