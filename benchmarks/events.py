"""Per-event cost: `python benchmarks/events.py [--events N] [--mode new|repeat|both]`.

Builds N events through the public API — the original Events 1.0 shape (Event/Context/User/
Properties/Content, as in the Quick Start, then `Event.normalize_data()`), Events 2.0
(TrackEvent objects), and Events 2.0 from plain dicts planned as `track` plans them (1,000 per
request) — validates them, hashes their personal data and serializes the exact request body.
In the same process: a hand-written floor doing the same normalization and hashing with plain
dicts, hashlib, phonenumbers and pydantic_core.to_json, without validation; and, when it is
installed (`pip install -e '.[bench]'`), Meta's facebook-business Conversions API SDK building,
normalizing and serializing the same events (the peer a user would pick instead).

Two modes: "new", where every event is a customer never seen before (a nightly backfill, most
checkout traffic: nothing is in the SDK's normalization memo), and "repeat", where 20,000
events come from 2,000 customers (90% of identities already normalized once). Prints events/s,
microseconds per event and the ratios, medians of --runs runs.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from pydantic_core import to_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import raw_events

from pytt_events import _hashing
from pytt_events._families import family
from pytt_events._plan import Top, items, plan_bodies, track_chunks
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
    return to_json(event.normalize_data())


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
    return chunk.content or to_json(chunk.body)  # the bytes it sends


def track_dict(raw: dict[str, Any]) -> dict[str, Any]:
    """An Events 2.0 event as an application has it: a plain dict."""
    return {
        "event": raw["event"],
        "event_time": raw["unix"],
        "event_id": raw["event_id"],
        "user": {
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
        "page": {"url": raw["url"]},
        "properties": {
            "currency": raw["currency"],
            "value": raw["value"],
            "contents": [{**c, "content_type": "product"} for c in raw["contents"]],
        },
    }


TRACK_TOP = Top({"event_source": "web", "event_source_id": "PIXEL"})


def sdk_v2_track(raws: list[dict[str, Any]]) -> list[bytes]:
    """Dicts planned as TikTokEventsApi.track plans them: validated, hashed, 1,000 a request."""
    chunks = plan_bodies(items([track_dict(raw) for raw in raws], top=TRACK_TOP), EVENT_TRACK)
    return [chunk.content or to_json(chunk.body) for chunk in chunks]  # the bytes it sends


EVENT_TRACK = family("event_track")


def meta_builder() -> tuple[str, Callable[[dict[str, Any]], bytes]] | None:
    """Meta's Conversions API SDK building, normalizing (hashing) and serializing the same
    event, as its EventRequest does; None when facebook-business is not installed."""
    try:
        from facebook_business import __version__ as version
        from facebook_business.adobjects.serverside.action_source import ActionSource
        from facebook_business.adobjects.serverside.content import Content as MetaContent
        from facebook_business.adobjects.serverside.custom_data import CustomData
        from facebook_business.adobjects.serverside.event import Event as MetaEvent
        from facebook_business.adobjects.serverside.user_data import UserData
    except ImportError:
        return None

    def meta(raw: dict[str, Any]) -> bytes:
        event = MetaEvent(
            event_name=raw["event"],
            event_time=raw["unix"],
            event_id=raw["event_id"],
            event_source_url=raw["url"],
            action_source=ActionSource.WEBSITE,
            user_data=UserData(
                emails=[raw["email"]],
                phones=[raw["phone"].replace(".", "")],  # its normalizer refuses dots
                external_ids=[raw["external_id"]],
                client_ip_address=raw["ip"],
                client_user_agent=raw["user_agent"],
            ),
            custom_data=CustomData(
                currency=raw["currency"].lower(),
                value=raw["value"],
                contents=[
                    MetaContent(
                        product_id=c["content_id"],
                        title=c["content_name"],
                        item_price=c["price"],
                        quantity=c["quantity"],
                    )
                    for c in raw["contents"]
                ],
            ),
        )
        return json.dumps({"data": [event.normalize()]}).encode()

    return f"Meta facebook-business {version}", meta


def cold() -> None:
    """Empty the SDK's normalization memo: the next pass starts cold."""
    _hashing.register_normalizer("phone", None)
    gc.collect()


def rate(build: Callable[[dict[str, Any]], bytes], events: list[dict[str, Any]]) -> float:
    """Events per second of one pass (caches cleared first: each pass starts cold)."""
    cold()
    started = time.perf_counter()
    for raw in events:
        build(raw)
    return len(events) / (time.perf_counter() - started)


def rate_all(build: Callable[[list[dict[str, Any]]], Any], events: list[dict[str, Any]]) -> float:
    """Events per second of one pass over the whole list at once (caches cleared first)."""
    cold()
    started = time.perf_counter()
    build(events)
    return len(events) / (time.perf_counter() - started)


Row = tuple[str, float, float | None, float | None]


def measure(
    events: list[dict[str, Any]],
    peer: tuple[str, Callable[[dict[str, Any]], bytes]] | None,
    runs: int,
) -> list[Row]:
    """Each row: label, events/s (median of runs), its floor's events/s, Meta's events/s."""

    def median(measure: Callable[[], float]) -> float:
        return statistics.median(measure() for _ in range(runs))

    floor1 = median(lambda: rate(floor_v1, events))
    floor2 = median(lambda: rate(floor_v2, events))
    meta = median(lambda: rate(peer[1], events)) if peer else None
    rows: list[Row] = [
        ("floor 1.0 (hand-written)", floor1, None, None),
        ("floor 2.0 (hand-written)", floor2, None, None),
    ]
    if peer is not None and meta is not None:
        rows.append((peer[0], meta, floor1, None))
    rows += [
        ("Events 1.0 SDK (Quick Start classes)", median(lambda: rate(sdk_v1, events)), floor1, meta),
        ("Events 2.0 SDK (TrackEvent objects)", median(lambda: rate(sdk_v2, events)), floor2, meta),
        ("Events 2.0 SDK (dicts, as track)", median(lambda: rate_all(sdk_v2_track, events)), floor2, meta),
    ]  # fmt: skip
    return rows


def peak_holding(build: Callable[[dict[str, Any]], Any], events: list[dict[str, Any]]) -> float:
    """Peak traced memory, in MB, while building a body for every event and holding them all
    (what an application holds when it builds a backfill before sending it)."""
    cold()
    tracemalloc.start()
    held = [build(raw) for raw in events]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    return peak / 1e6


def memory(count: int) -> None:
    """Peak memory holding `count` built bodies (the bytes sent), SDK against the floor."""
    events = raw_events(count, fresh=True)
    floor = peak_holding(floor_v1, events)
    sdk = peak_holding(sdk_v1, events)
    print(f"peak memory holding {count:,} built 1.0 bodies (tracemalloc, new customers):")
    print(f"  floor {floor:,.1f} MB   SDK {sdk:,.1f} MB   SDK/floor {sdk / floor:.2f}x")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=2_000, help="in repeat mode")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["new", "repeat", "both"], default="both")
    parser.add_argument(
        "--memory", type=int, default=100_000, help="bodies held for the peak-memory figure"
    )
    args = parser.parse_args()
    peer = meta_builder()
    modes = ["new", "repeat"] if args.mode == "both" else [args.mode]
    for mode in modes:
        fresh = mode == "new"
        events = raw_events(args.events, args.customers, fresh=fresh)
        assert sdk_v1(events[0]) == floor_v1(events[0]), "SDK and floor must send the same bytes"
        assert sdk_v2(events[0]) == floor_v2(events[0]), "SDK and floor must send the same bytes"
        (body,) = sdk_v2_track(events[:1])
        assert body == floor_v2(events[0]), "SDK and floor must send the same bytes"
        if fresh:
            print(f"mode new: {args.events:,} events, each a customer never seen before", end="")
        else:
            print(f"mode repeat: {args.events:,} events from {args.customers:,} customers", end="")
        print(f"; median of {args.runs} runs")
        print(f"{'':<40}{'events/s':>10}{'us/event':>10}{'vs floor':>10}{'vs Meta':>9}")

        for label, value, floor, meta in measure(events, peer, args.runs):
            ratio = f"{value / floor:>9.2f}x" if floor else f"{'':>10}"
            versus = f"{value / meta:>8.2f}x" if meta else ""
            print(f"{label:<40}{value:>10,.0f}{1e6 / value:>10.1f}{ratio}{versus}")
        if peer is None:
            print("(Meta's SDK not installed: pip install -e '.[bench]' to compare with it)")
        print()
    if args.memory:
        memory(args.memory)
    print("targets, new customers: 1.0 >= 0.5x the floor and >= 1.2x Meta; 2.0 via track >= 0.6x;")
    print("repeat: >= 0.8x the floor; full validation on in every SDK row")


if __name__ == "__main__":
    main()
