"""Per-event cost: `python benchmarks/events.py [--events N]`.

Builds N events through the public API — the original Events 1.0 shape (Event/Context/User/
Properties/Content, as in the Quick Start) and Events 2.0 (TrackEvent) — validates them, hashes
their personal data and serializes the exact request body; and, in the same process, a
hand-written floor doing the same normalization and hashing with plain dicts, hashlib,
phonenumbers and the fastest JSON encoder the SDK ships with (pydantic_core.to_json), without
validation. Prints events/s, microseconds per event and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from pydantic_core import to_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import raw_events

from pytt_events import _hashing
from pytt_events._plan import track_body, track_chunks
from pytt_events.context import Ad, Context, Page, User
from pytt_events.event import Event
from pytt_events.properties import Content, Properties
from pytt_events.track import TrackEvent


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def e164(phone: str) -> str:
    number = phonenumbers.parse(phone, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def floor_v1(raw: dict[str, Any]) -> bytes:
    """Hand-written: the same body as the SDK's, no validation."""
    return to_json(
        {
            "pixel_code": "PIXEL",
            "event": raw["event"],
            "event_id": raw["event_id"],
            "timestamp": "2024-03-01T12:00:00-03:00",
            "context": {
                "user_agent": raw["user_agent"],
                "ip": raw["ip"],
                "ad": {"callback": raw["ttclid"]},
                "page": {"url": raw["url"]},
                "user": {
                    "external_id": sha(raw["external_id"].strip()),
                    "email": sha(raw["email"].strip().lower()),
                    "phone_number": sha(e164(raw["phone"])),
                },
            },
            "properties": {
                "currency": raw["currency"],
                "value": raw["value"],
                "contents": [{"content_type": "product", **c} for c in raw["contents"]],
            },
        }
    )


def sdk_v1(raw: dict[str, Any]) -> bytes:
    event = Event(
        pixel_code="PIXEL",
        event=raw["event"],
        event_id=raw["event_id"],
        timestamp="2024-03-01T12:00:00-03:00",
        context=Context(
            user_agent=raw["user_agent"],
            ip=raw["ip"],
            ad=Ad(callback=raw["ttclid"]),
            page=Page(url=raw["url"]),
            user=User(
                external_id=raw["external_id"], email=raw["email"], phone_number=raw["phone"]
            ),
        ),
        properties=Properties(
            currency=raw["currency"],
            value=raw["value"],
            contents=[Content(content_type="product", **c) for c in raw["contents"]],
        ),
    )
    return to_json(track_body(event))


def floor_v2(raw: dict[str, Any]) -> bytes:
    return to_json(
        {
            "event_source": "web",
            "event_source_id": "PIXEL",
            "data": [
                {
                    "event": raw["event"],
                    "event_time": raw["unix"],
                    "event_id": raw["event_id"],
                    "user": {
                        "email": sha(raw["email"].strip().lower()),
                        "phone": sha(e164(raw["phone"])),
                        "external_id": sha(raw["external_id"].strip()),
                        "first_name": sha("".join(raw["first_name"].split()).lower()),
                        "last_name": sha("".join(raw["last_name"].split()).lower()),
                        "city": re.sub("[^A-Za-z0-9]", "", raw["city"]).lower(),
                        "ttclid": raw["ttclid"],
                        "ip": raw["ip"],
                        "user_agent": raw["user_agent"],
                    },
                    "page": {"url": raw["url"]},
                    "properties": {
                        "contents": [{"content_type": "product", **c} for c in raw["contents"]],
                        "currency": raw["currency"],
                        "value": raw["value"],
                    },
                }
            ],
        }
    )


def sdk_v2(raw: dict[str, Any]) -> bytes:
    event = TrackEvent(
        event=raw["event"],
        event_time=raw["unix"],
        event_id=raw["event_id"],
        user={
            "email": raw["email"],
            "phone": raw["phone"],
            "external_id": raw["external_id"],
            "first_name": raw["first_name"],
            "last_name": raw["last_name"],
            "city": raw["city"],
            "ip": raw["ip"],
            "user_agent": raw["user_agent"],
            "ttclid": raw["ttclid"],
        },
        page={"url": raw["url"]},
        properties={
            "currency": raw["currency"],
            "value": raw["value"],
            "contents": [{**c, "content_type": "product"} for c in raw["contents"]],
        },
    )
    (chunk,) = track_chunks([(0, event)], event_source="web", event_source_id="PIXEL")
    return to_json(chunk.body)


def rate(build: Callable[[dict[str, Any]], bytes], events: list[dict[str, Any]]) -> float:
    """Events per second of one pass (caches cleared first: each pass starts cold)."""
    _hashing.register_normalizer("phone", None)  # clears the SDK's normalization caches
    gc.collect()
    started = time.perf_counter()
    for raw in events:
        build(raw)
    return len(events) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    events = raw_events(args.events, args.customers)
    assert sdk_v1(events[0]) == floor_v1(events[0]), (
        "the SDK and the floor must send the same bytes"
    )
    assert sdk_v2(events[0]) == floor_v2(events[0]), (
        "the SDK and the floor must send the same bytes"
    )
    print(f"{args.events:,} events from {args.customers:,} customers; median of {args.runs} runs")
    print(f"{'':<26}{'events/s':>12}{'us/event':>10}{'vs floor':>10}")
    for label, sdk, floor in (("Events 1.0", sdk_v1, floor_v1), ("Events 2.0", sdk_v2, floor_v2)):
        floor_rate = statistics.median(rate(floor, events) for _ in range(args.runs))
        sdk_rate = statistics.median(rate(sdk, events) for _ in range(args.runs))
        print(f"{label + ' floor (hand-written)':<26}{floor_rate:>12,.0f}{1e6 / floor_rate:>10.1f}")
        print(
            f"{label + ' SDK':<26}{sdk_rate:>12,.0f}{1e6 / sdk_rate:>10.1f}{sdk_rate / floor_rate:>9.2f}x"
        )
    print("target: >= 0.8x the floor (stretch: >= 1.0x), full validation on")


if __name__ == "__main__":
    main()
