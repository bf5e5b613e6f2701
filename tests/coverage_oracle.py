"""An independent reading of match keys, for the coverage tests: the field paths of TikTok's
two event shapes written out by hand (not read from the schema's x-match-key marks), and the
grade rule the README states, written again."""

from __future__ import annotations

from collections import Counter
from typing import Any

#: Events 2.0 (an /event/track/ event): key -> the paths that carry it.
TRACK_PATHS = {
    "email": [("user", "email")],
    "phone": [("user", "phone")],
    "external_id": [("user", "external_id")],
    "ttclid": [("user", "ttclid"), ("ad", "callback")],
    "ttp": [("user", "ttp")],
    "ip": [("user", "ip")],
    "user_agent": [("user", "user_agent")],
    "idfa": [("user", "idfa")],
    "gaid": [("user", "gaid")],
}
#: Events 1.0 (a /pixel/track/ body, or a /pixel/batch/ item).
WEB_PATHS = {
    "email": [("context", "user", "email")],
    "phone": [("context", "user", "phone_number")],
    "external_id": [("context", "user", "external_id")],
    "ttclid": [("context", "ad", "callback")],
    "ttp": [("context", "user", "ttp")],
    "ip": [("context", "ip")],
    "user_agent": [("context", "user_agent")],
}


def _usable(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(isinstance(item, str) and item != "" for item in value)
    return False


def _at(event: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(event, dict):
            return None
        event = event.get(part)
    return event


def keys_of(event: Any, shape: str) -> frozenset[str]:
    """The keys an event carries; shape "track" (2.0) or "web" (1.0)."""
    paths = TRACK_PATHS if shape == "track" else WEB_PATHS
    return frozenset(
        key for key, places in paths.items() if any(_usable(_at(event, p)) for p in places)
    )


def grade(keys: frozenset[str]) -> str:
    ip_ua = "ip" in keys and "user_agent" in keys
    if "ttclid" in keys or "idfa" in keys or "gaid" in keys:
        return "strong"
    if ("email" in keys or "phone" in keys) and ip_ua:
        return "strong"
    if "email" in keys or "phone" in keys or "external_id" in keys:
        return "medium"
    if "ttp" in keys and ip_ua:
        return "medium"
    return "weak" if keys else "none"


def events_of(body: Any) -> list[tuple[Any, str]]:
    """(event, shape) of each event of a request body."""
    if isinstance(body.get("data"), list):
        return [(event, "track") for event in body["data"]]
    if isinstance(body.get("batch"), list):
        return [(event, "web") for event in body["batch"]]
    return [(body, "web")]


def expected(bodies: list[Any]) -> tuple[int, Counter[str], Counter[str]]:
    """Over the events of bodies: how many, how many carry each key (and the pairs), and how
    many have each grade."""
    keys: Counter[str] = Counter()
    grades: Counter[str] = Counter()
    events = 0
    for body in bodies:
        for event, shape in events_of(body):
            found = keys_of(event, shape)
            events += 1
            keys.update(found)
            if {"ip", "user_agent"} <= found:
                keys["ip+user_agent"] += 1
            if found & {"idfa", "gaid"}:
                keys["idfa|gaid"] += 1
            if found:
                keys["any key"] += 1
            grades[grade(found)] += 1
    return events, keys, grades


def assert_coverage(coverage: Any, bodies: list[Any]) -> None:
    """coverage (a pytt_events.coverage.Coverage) says exactly what the oracle says of bodies."""
    events, keys, grades = expected(bodies)
    table = coverage.as_dict()
    assert table["events"] == events
    assert {k: v for k, v in table["keys"].items() if v} == dict(keys)
    assert {k: v for k, v in table["grades"].items() if v} == dict(grades)
