"""Bulk sending throughput: `python benchmarks/send.py [--events N]`.

Sends N events (default 100,000, built from realistic raw values) to the sandbox on 127.0.0.1,
running in a process of its own so that only the client's CPU is counted: Events 2.0 through
`track` (1,000 per request) and Events 1.0 through `post_events_in_bulk` (50 per request), with
the sync and the async client (each run once on one request's events first, untimed: what a
mode loads on first use is not a cost per event). Prints events/s, requests/s and the client's
CPU seconds per 1,000 events, next to the per-event cost of building, validating, hashing and
serializing the same events without sending (measured in the same run): the ratio is the
transport's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import raw_events
from pydantic_core import to_json

from pytt_events import AsyncTikTokEventsApi, TikTokAuth, TikTokEventsApi
from pytt_events._plan import batch_chunks, track_chunks
from pytt_events.event import Event
from pytt_events.track import TrackEvent

TOKEN = "bench-token"


def track_event(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": raw["event"],
        "event_time": raw["unix"],
        "event_id": raw["event_id"],
        "user": {
            "email": raw["email"], "phone": raw["phone"], "external_id": raw["external_id"],
            "ip": raw["ip"], "user_agent": raw["user_agent"], "ttclid": raw["ttclid"],
        },
        "page": {"url": raw["url"]},
        "properties": {"currency": raw["currency"], "value": raw["value"],
                       "contents": [{"content_type": "product", **c} for c in raw["contents"]]},
    }  # fmt: skip


def web_event(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "pixel_code": "PIXEL",
        "event": raw["event"],
        "event_id": raw["event_id"],
        "timestamp": "2024-03-01T12:00:00-03:00",
        "context": {
            "ip": raw["ip"], "user_agent": raw["user_agent"], "ad": {"callback": raw["ttclid"]},
            "page": {"url": raw["url"]},
            "user": {"email": raw["email"], "phone_number": raw["phone"], "external_id": raw["external_id"]},
        },
        "properties": {"currency": raw["currency"], "value": raw["value"],
                       "contents": [{"content_type": "product", **c} for c in raw["contents"]]},
    }  # fmt: skip


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    command = str(Path(sys.executable).with_name("pytt-events"))
    process = subprocess.Popen(
        [command, "sandbox", "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    base_url = process.stdout.readline().strip().split("=", 1)[1]
    process.stdout.readline()
    # The sandbox prints a line per request: drain them in the background.
    import threading

    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, base_url


def offline_cost(events: list[dict[str, Any]], family: str) -> float:
    """CPU seconds per event to build, validate, hash and serialize, without sending."""
    started = time.process_time()
    if family == "event_track":
        models = [(i, TrackEvent.model_validate(e)) for i, e in enumerate(events)]
        for chunk in track_chunks(models, event_source="web", event_source_id="PIXEL"):
            chunk.content or to_json(chunk.body)
    else:
        models = [(i, Event.model_validate(e)) for i, e in enumerate(events)]
        for chunk in batch_chunks(models):
            chunk.content or to_json(chunk.body)
    return (time.process_time() - started) / len(events)


def run(label: str, send: Callable[[], Any], count: int) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = send()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(result.accepted) == count, result.message
    return wall, cpu, len(result.responses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    raw = raw_events(args.events)
    sandbox, base_url = start_sandbox()
    try:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID="PIXEL", TIKTOK_API_BASE_URL=base_url
        )
        print(f"{args.events:,} events to the sandbox on 127.0.0.1 (its own process), "
              f"{args.concurrency} requests in flight")  # fmt: skip
        print(
            f"{'run':<28}{'events/s':>10}{'requests/s':>12}{'CPU s/1k':>10}{'offline':>10}{'ratio':>8}"
        )
        for family, build, per_request in (
            ("event_track", track_event, 1000),
            ("pixel_batch", web_event, 50),
        ):
            events = [build(r) for r in raw]
            offline = offline_cost(events, family)
            for mode in ("sync", "async"):

                def send(mode: str = mode, family: str = family, events: list[Any] = events) -> Any:
                    if mode == "sync":
                        with TikTokEventsApi(max_concurrency=args.concurrency) as api:
                            if family == "event_track":
                                return api.track(events, auth=auth)
                            return api.post_events_in_bulk(events, auth)

                    async def go() -> Any:
                        async with AsyncTikTokEventsApi(max_concurrency=args.concurrency) as api:
                            if family == "event_track":
                                return await api.track(events, auth=auth)
                            return await api.post_events_in_bulk(events, auth)

                    return asyncio.run(go())

                # Untimed first: what a mode loads on first use (the async HTTP stack's modules)
                # is a process's one-off cost, not a cost per event.
                send(events=events[:per_request])
                wall, cpu, requests = run(f"{family} {mode}", send, args.events)
                per_event = cpu / args.events
                print(
                    f"{family + ' (' + str(per_request) + '/req) ' + mode:<28}"
                    f"{args.events / wall:>10,.0f}{requests / wall:>12,.1f}"
                    f"{per_event * 1000:>10.3f}{offline * 1000:>10.3f}{per_event / offline:>7.2f}x"
                )
        print("CPU s/1k: the client's CPU seconds per 1,000 events sent; offline: the same work "
              "without sending; target ratio <= 1.25x, async at least as fast as sync")  # fmt: skip
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
