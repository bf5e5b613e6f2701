"""A Spark Connect client, run by test_connect.py in a process of its own (as a notebook on
Databricks serverless is: DataFrame code only, the server elsewhere):

    python connect_client.py SC_URL SANDBOX_BASE_URL PIXEL SECRET_FILE WORK_DIR

Validates, writes in a batch and writes a stream through pytt_events.spark over Connect, the
credentials from an auth_factory that reads the token from a file (a secret store's stand-in),
and prints what it saw as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(url: str, base_url: str, pixel: str, secret_file: str, work: str) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    from pytt_events import TikTokAuth
    from pytt_events import spark as tts

    session = SparkSession.builder.remote(url).getOrCreate()
    folder = Path(work)

    def credentials() -> TikTokAuth:  # runs on the executors
        return TikTokAuth(
            TIKTOK_ACCESS_TOKEN=Path(secret_file).read_text().strip(),
            TIKTOK_PIXEL_ID=pixel,
            TIKTOK_API_BASE_URL=base_url,
        )

    tts.register(session, auth_factory=credentials)
    lines = session.read.text(str(folder / "batch"))
    verdicts = tts.summary(tts.validate(lines))
    lines.write.mode("append").format("tiktok_events").option(
        "failed_path", str(folder / "failed")
    ).save()
    query = (
        session.readStream.format("text")
        .option("maxFilesPerTrigger", 1)
        .load(str(folder / "stream"))
        .writeStream.format("tiktok_events")
        .option("failed_path", str(folder / "stream-failed"))
        .option("checkpointLocation", str(folder / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return {
        "session": type(session).__module__,
        "verdicts": verdicts["status"],
        "stream_error": None if query.exception() is None else str(query.exception()),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:6])))
