"""The request-path cost of sending an event: `python benchmarks/sender.py [--events N]
[--mode new|repeat|both]`.

What a web handler waits for, per event (µs, p50 and p99): EventSender.track with a SQLite
outbox (validated, hashed and committed to disk before it returns), with the in-memory outbox,
and a synchronous TikTokEventsApi.track to the sandbox on 127.0.0.1 (the network round trip
included: against TikTok it is 100-500 ms more). The background worker sends meanwhile; the
figures are the handler's wait only, which the worker lengthens whenever it holds the GIL or
the outbox (see sender.py's `_batch` and SQLiteOutbox's slices). The sandbox runs in a process
of its own (`pytt-events sandbox`), as TikTok would: in this one it would hold the GIL the
handler waits for.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import raw_events
from send import TOKEN, start_sandbox, track_event

from pytt_events import TikTokAuth, TikTokEventsApi
from pytt_events.sender import EventSender


def waits(call: Callable[[dict[str, Any]], Any], events: list[dict[str, Any]]) -> list[float]:
    found = []
    for event in events:
        started = time.perf_counter()
        call(event)
        found.append((time.perf_counter() - started) * 1e6)
    return found


def line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{label:<44}{p50:>10.0f}{p99:>10.0f}"


def batches(mode: str, count: int, customers: int) -> list[list[dict[str, Any]]]:
    """The events of the three runs. new: each run its own new customers (none is in the
    hashing memo of an earlier run); repeat: every run from the same `customers` customers,
    seen once before the runs (the memo is warm, as for returning customers)."""
    if mode == "new":
        every = [track_event(raw) for raw in raw_events(3 * count, fresh=True)]
        return [every[n * count : (n + 1) * count] for n in range(3)]
    events = [track_event(raw) for raw in raw_events(count, customers)]
    return [events, events, events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--customers", type=int, default=2_000, help="in repeat mode")
    parser.add_argument("--mode", choices=["new", "repeat", "both"], default="both")
    args = parser.parse_args()
    sandbox, base_url = start_sandbox()
    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID="PIXEL", TIKTOK_API_BASE_URL=base_url
    )
    accepted: list[int] = []
    validated_again = 0

    def count(result: Any) -> None:
        accepted.append(result.status == "accepted")

    for mode in ["new", "repeat"] if args.mode == "both" else [args.mode]:
        runs = batches(mode, args.events, args.customers)
        if mode == "new":
            print(f"mode new: {args.events:,} events per run, each a new customer")
        else:
            print(f"mode repeat: {args.events:,} events per run from {args.customers:,} customers")
            with EventSender(auth) as warm:  # each customer seen once before the runs
                for event in raw_events(args.customers, args.customers, fresh=True):
                    warm.track(track_event(event))
                warm.flush(timeout=120)
        print(f"{'the wait of the calling thread':<44}{'p50 µs':>10}{'p99 µs':>10}")
        with (
            tempfile.TemporaryDirectory() as tmp,
            EventSender(auth, outbox=Path(tmp) / "o.sqlite3", on_result=count) as sender,
        ):
            print(line("EventSender.track, SQLite outbox", waits(sender.track, runs[0])))
            sender.flush(timeout=120)
            validated_again += getattr(sender, "validated_again", 0)
        with EventSender(auth, on_result=count) as sender:
            print(line("EventSender.track, in-memory outbox", waits(sender.track, runs[1])))
            sender.flush(timeout=120)
            validated_again += getattr(sender, "validated_again", 0)
        with TikTokEventsApi() as api:
            some = runs[2][: max(1, args.events // 5)]
            print(line("TikTokEventsApi.track (sync, 127.0.0.1)", waits(
                lambda event: api.track(event, auth=auth), some
            )))  # fmt: skip
    print(f"events the senders saw accepted: {sum(accepted):,} of {len(accepted):,}")
    print(f"events the workers validated again: {validated_again:,} (track's are sent as kept)")
    sandbox.terminate()
    sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
