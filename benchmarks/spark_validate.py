"""Stored-payload validation on Spark next to single-process validation, on the same files:
`python benchmarks/spark_validate.py [--lines N] [--files K] [--masters local[1],local[2]]`.

Generates K gzip NDJSON files of N one-event payloads in all (validate.py's payloads: 1%
invalid, personal data hashed), then validates them with --require-hashed: with
`validation.validate_file` in this process, one file after the other, and with
pytt_events.spark.validate over `spark.read.text` on each master (local mode on this machine:
the same cores). Prints payloads/s, wall seconds and CPU-seconds per million payloads (this
process for validate_file; for Spark the JVM and its Python workers together during the job,
read from /proc: the JVM's start is left out, as on a cluster that runs many jobs), and checks that all found the same invalid count. The README's
estimate of a one-billion-event backfill is made from these figures.
Needs the spark extra: `pip install -e '.[spark]'`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validate import payload


def tree_cpu(root: int) -> float:
    """CPU seconds of root's descendants, alive or reaped by them (/proc, Linux): the JVM
    Spark starts and its Python workers, which our own rusage does not see."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(value) for value in fields[11:15]) / tick
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                total += times[child]
                frontier.append(child)
    return total


def in_process(paths: list[Path]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and invalid payloads of validate_file, in this process."""
    from pytt_events.validation import validate_file

    started, cpu = time.perf_counter(), time.process_time()
    invalid = 0
    for path in paths:
        for result in validate_file(path, require_hashed=True):
            invalid += not result.valid
    return time.perf_counter() - started, time.process_time() - cpu, invalid


def spark(paths: list[Path], master: str) -> tuple[float, float, int]:
    """Wall and CPU seconds of the job (the JVM and its Python workers; not their start) and
    invalid payloads of pytt_events.spark.validate."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from pytt_events import spark as tts

    session = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    before, started = tree_cpu(os.getpid()), time.perf_counter()
    verdicts = tts.validate(session.read.text([str(p) for p in paths]), require_hashed=True)
    counts = tts.summary(verdicts)
    wall = time.perf_counter() - started
    cpu = tree_cpu(os.getpid()) - before
    session.stop()
    return wall, cpu, int(counts["status"].get("invalid", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--masters", default="local[1],local[2]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"sent-{k}.ndjson.gz" for k in range(args.files)]
        per_file = args.lines // args.files
        for k, path in enumerate(paths):
            with gzip.open(path, "wt", compresslevel=1) as handle:
                for i in range(k * per_file, (k + 1) * per_file):
                    handle.write(json.dumps(payload(i), separators=(",", ":")) + "\n")
        total = per_file * args.files
        print(f"{total:,} payloads in {args.files} gzip NDJSON files, --require-hashed")
        print(f"{'':<34}{'payloads/s':>12}{'wall s':>9}{'CPU s/million':>15}")
        rows = [("validate_file (1 process)", *in_process(paths))]
        for master in args.masters.split(","):
            rows.append((f"pytt_events.spark ({master})", *spark(paths, master)))
        for label, wall, cpu, _ in rows:
            print(f"{label:<34}{total / wall:>12,.0f}{wall:>9.1f}{cpu / total * 1e6:>15,.0f}")
        invalid = {found for *_, found in rows}
        assert len(invalid) == 1, f"they disagree on the invalid count: {invalid}"
        print(f"invalid found by all: {invalid.pop():,}")
        print(
            "Spark's figures leave out starting its JVM; on a cluster, wall time divides by cores"
        )


if __name__ == "__main__":
    main()
