"""Stored-payload validation speed and memory: `python benchmarks/validate.py [--lines N]`.

Generates an NDJSON.gz file of N one-event payloads (default 1,000,000: Events 2.0 and 1.0
bodies, personal data hashed, 1% invalid), then validates it with the library's streaming API
(`validate_file`, --require-hashed) in a fresh process per size, and prints payloads/s and peak
memory (max RSS) next to a hand-written floor measured in the same run: reading the same file
and parsing each line with json.loads, nothing else. Two sizes show that memory does not grow
with the file. The timed part starts after `import pytt_events.validation` (its time is printed
apart: once per process, ~0.1 s); building the validators at the first payload is timed.
Target: at least half the floor's rate (>= 0.5x gzip + json.loads) at the largest size.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def payload(i: int) -> dict[str, object]:
    if i % 100 == 99:  # 1% invalid: event_time in milliseconds
        return {
            "event_source": "web",
            "event_source_id": "PIXEL",
            "data": [{"event": "Purchase", "event_time": 1709294400000 + i, "event_id": f"e{i}"}],
        }
    if i % 10 < 7:
        return {
            "event_source": "web",
            "event_source_id": "PIXEL",
            "data": [
                {
                    "event": "Purchase",
                    "event_time": 1709294400 + i,
                    "event_id": f"e{i}",
                    "user": {
                        "email": digest(f"c{i % 5000}@example.com"),
                        "phone": [digest(str(i))],
                        "ip": "13.57.97.131",
                        "user_agent": "Mozilla/5.0",
                    },
                    "page": {"url": "https://shop.example.com/checkout"},
                    "properties": {
                        "currency": "USD",
                        "value": 10.5,
                        "contents": [
                            {
                                "content_id": f"sku-{i % 97}",
                                "content_type": "product",
                                "quantity": 1,
                                "price": 10.5,
                            }
                        ],
                    },
                }
            ],
        }
    return {
        "pixel_code": "PIXEL",
        "event": "AddToCart",
        "event_id": f"e{i}",
        "timestamp": "2024-03-01T12:00:00-03:00",
        "context": {"ip": "13.57.97.131", "user": {"email": digest(f"c{i}@example.com")},
                    "page": {"url": "https://shop.example.com/p/1"}},
        "properties": {"currency": "BRL", "value": 5.0,
                       "contents": [{"content_id": "1", "content_type": "product", "quantity": 2}]},
    }  # fmt: skip


#: The target: validate_file at least this fraction of the floor's rate.
TARGET = 0.5


def generate(path: Path, lines: int) -> None:
    with gzip.open(path, "wt", compresslevel=1) as handle:
        for i in range(lines):
            handle.write(json.dumps(payload(i), separators=(",", ":")) + "\n")


def child(mode: str, path: str, limit: int) -> None:
    """Run in a fresh process: measure one mode over the first `limit` lines."""
    from itertools import islice

    imported = time.perf_counter()
    if mode != "floor":
        from pytt_events.validation import validate_file
    started = time.perf_counter()
    count = invalid = 0
    if mode == "floor":
        with gzip.open(path, "rt") as handle:
            for line in islice(handle, limit):
                json.loads(line)
                count += 1
    else:
        for result in islice(validate_file(path, require_hashed=True), limit):
            count += 1
            invalid += not result.valid
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    row = {"count": count, "invalid": invalid, "seconds": seconds, "peak_kib": peak_kib}
    print(json.dumps({**row, "import_seconds": started - imported}))


def measure(mode: str, path: Path, limit: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(limit)],
        capture_output=True, text=True, check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, limit = args.child
        child(mode, path, int(limit))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stored.ndjson.gz"
        started = time.perf_counter()
        generate(path, args.lines)
        print(f"generated {args.lines:,} payloads ({path.stat().st_size / 2**20:.1f} MiB gzip) "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        sizes = sorted({max(1, args.lines // 10), args.lines})
        print(f"{'run':<32}{'payloads':>12}{'payloads/s':>14}{'peak RSS':>12}{'vs floor':>10}")
        ratio = peaks = 0.0
        for size in sizes:
            floor = measure("floor", path, size)
            validated = measure("validate", path, size)
            floor_rate = floor["count"] / floor["seconds"]
            rate = validated["count"] / validated["seconds"]
            for name, row, ratio in (
                ("floor: gzip + json.loads", floor, ""),
                ("validate_file --require-hashed", validated, f"{rate / floor_rate:.2f}x"),
            ):
                print(f"{name:<32}{row['count']:>12,.0f}{row['count'] / row['seconds']:>14,.0f}"
                      f"{row['peak_kib'] / 1024:>10.1f} MB{ratio:>10}")  # fmt: skip
            print(f"  invalid found: {validated['invalid']:,.0f}; "
                  f"import pytt_events.validation: {validated['import_seconds']:.2f} s (not timed)")  # fmt: skip
            ratio = rate / floor_rate
            peaks = validated["peak_kib"] / peaks if peaks else validated["peak_kib"]
        growth = peaks if len(sizes) > 1 else 1.0  # largest size's peak / smallest's
        met = ratio >= TARGET and growth < 1.25
        print(f"target: >= {TARGET}x gzip + json.loads at {sizes[-1]:,} payloads, peak memory "
              f"flat in the file's size: {ratio:.2f}x, peak x{growth:.2f} -> "
              f"{'met' if met else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
