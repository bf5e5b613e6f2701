"""pytt_events.spark under Spark Connect, as on Databricks serverless and Standard access
mode: a client process (connect_client.py, DataFrame code only) against the Connect server of
the shared local Spark (tests/spark/conftest.py), sending to the sandbox over 127.0.0.1:
validation, the batch writer and the streaming sink.

Needs the Connect client's packages (the spark-tests extra: grpcio, ...); .ci/run installs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("grpc")

from pytt_events import sha256_hex
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, TOKEN
from tests.spark.test_data_source import BOUND, track_line

pytestmark = [pytest.mark.spark]


def test_validation_and_both_writers_run_under_spark_connect(
    connect_url: str, tmp_path: Path
) -> None:
    (tmp_path / "batch").mkdir()
    (tmp_path / "stream").mkdir()
    batch = [f"cb-{i}" for i in range(6)]
    lines = [track_line(key, with_id=i % 2 == 0) for i, key in enumerate(batch)]
    (tmp_path / "batch" / "part-0.ndjson").write_text("\n".join([*lines, "not json"]) + "\n")
    stream = [f"cs-{i}" for i in range(4)]
    for number in range(2):
        path = tmp_path / "stream" / f"part-{number}.ndjson"
        path.write_text("".join(track_line(k) + "\n" for k in stream[number * 2 : number * 2 + 2]))
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
    secret = tmp_path / "secret"  # the token never travels in the plan: a file the executors read
    secret.write_text(TOKEN)
    client = Path(__file__).with_name("connect_client.py")
    with SandboxServer(access_token=TOKEN, bad_events={"cb-2"}) as server:
        done = subprocess.run(
            [sys.executable, str(client), connect_url, server.base_url, PIXEL, str(secret),
             str(tmp_path)],
            capture_output=True, text=True, timeout=4 * BOUND, check=False,
        )  # fmt: skip
        counted = Counter(
            str(copy["user"]["email"])
            for copies in server.counted_by_key().values()
            for copy in copies
        )
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["session"] == "pyspark.sql.connect.session"  # a Connect client, not classic
    assert seen["verdicts"] == {"valid": 6, "unreadable": 1}
    assert seen["stream_error"] is None
    expected = {sha256_hex(f"{key}@example.com") for key in batch + stream if key != "cb-2"}
    assert set(counted) == expected
    assert all(count == 1 for count in counted.values())
    failed = [
        json.loads(line)["data"][0]["event_id"]
        for path in (tmp_path / "failed").glob("failed-*.ndjson")
        for line in path.read_text().splitlines()
    ]
    assert failed == ["cb-2"]
