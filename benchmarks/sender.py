"""The request-path cost of sending an event: `python benchmarks/sender.py [--events N]`.

What a web handler waits for, per event (µs, p50 and p99): EventSender.track with a SQLite
outbox (validated, hashed and committed to disk before it returns), with the in-memory outbox,
and a synchronous TikTokEventsApi.track to the sandbox on 127.0.0.1 (the network round trip
included: against TikTok it is 100-500 ms more). The background worker sends meanwhile; the
figures are the handler's wait only.
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
from send import track_event

from pytt_events import TikTokAuth, TikTokEventsApi
from pytt_events.sender import EventSender
from pytt_events.testing import SandboxServer


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000)
    args = parser.parse_args()
    events = [track_event(raw) for raw in raw_events(args.events, fresh=True)]
    with SandboxServer() as server, tempfile.TemporaryDirectory() as tmp:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=server.access_token,
            TIKTOK_PIXEL_ID="PIXEL",
            TIKTOK_API_BASE_URL=server.base_url,
        )
        print(f"{args.events:,} events, each a new customer; the wait of the calling thread")
        print(f"{'':<44}{'p50 µs':>10}{'p99 µs':>10}")
        with EventSender(auth, outbox=Path(tmp) / "outbox.sqlite3") as sender:
            print(line("EventSender.track, SQLite outbox", waits(sender.track, events)))
            sender.flush(timeout=120)
        with EventSender(auth) as sender:
            print(line("EventSender.track, in-memory outbox", waits(sender.track, events)))
            sender.flush(timeout=120)
        with TikTokEventsApi() as api:
            some = events[: max(1, args.events // 5)]
            print(line("TikTokEventsApi.track (sync, 127.0.0.1)", waits(
                lambda event: api.track(event, auth=auth), some
            )))  # fmt: skip
        print(f"events the sandbox accepted: {server.events_accepted:,}")


if __name__ == "__main__":
    main()
