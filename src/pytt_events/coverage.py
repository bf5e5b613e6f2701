"""Match-key coverage: the share of events carrying each match key, over a batch, and a coarse
match-strength grade per event.

TikTok matches an event to a TikTok user by its match keys: e-mail address, phone number,
external_id, the ttclid of the ad click, the _ttp cookie, the IP address with the user agent,
and on apps the advertising IDs (idfa, gaid). Which fields carry them is marked in the schema
(x-match-key); a key counts when its value is sent: not empty, and not a value the SDK left out
because it cannot be a match key (a phone number that cannot exist).

Every batch reports its coverage: `BulkResponse.coverage` and `PreparedEvents.coverage` (the
events sent), `PayloadPreview.coverage`, `ValidationSummary.coverage` (validate_file's valid
payloads, with coverage=True), `SendReport.coverage`, and through OpenTelemetry
(`tiktok.events_api.match_keys`, `tiktok.events_api.match_strength`) for every client and
EventSender. A drop in one key's share (a deploy that stopped reading the ttclid cookie)
shows as a drop in its row.

The grade is a heuristic of this SDK, not TikTok's: TikTok publishes no formula of how much
each key weighs. The rule:

    strong  a ttclid; or an advertising ID (idfa or gaid); or an e-mail address or a phone
            number together with the IP address and the user agent
    medium  an e-mail address, a phone number or an external_id; or the _ttp cookie together
            with the IP address and the user agent
    weak    anything less: the IP address and/or the user agent, or the _ttp cookie alone
    none    no match key

    from pytt_events.coverage import body_coverage
    print(body_coverage(bodies).table())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytt_events import _families
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._coverage import (
    GRADE_RULE,
    GRADES,
    KEYS,
    ROWS,
    Coverage,
    grade_of,
    names_of,
)

__all__ = [
    "GRADES",
    "GRADE_RULE",
    "KEYS",
    "ROWS",
    "Coverage",
    "EventKeys",
    "body_coverage",
    "event_keys",
]


@dataclass(frozen=True)
class EventKeys:
    """The match keys one event carries (KEYS' names) and its match-strength grade (GRADES;
    a heuristic)."""

    keys: frozenset[str]
    grade: str


def _masks(body: Mapping[str, Any], api_version: str) -> tuple[int, ...]:
    family = _families.detect(body, api_version)
    if family is None:
        raise ValueError("not a request body of a known family")
    return family.match_keys(body)


def event_keys(
    body: Mapping[str, Any], api_version: str = DEFAULT_API_VERSION
) -> tuple[EventKeys, ...]:
    """The match keys and grade of each event of a request body (as sent: its personal data
    hashed), in order; one for a body of one event.

    Raises:
        ValueError: body is not a request body of a known family.
    """
    return tuple(EventKeys(names_of(mask), grade_of(mask)) for mask in _masks(body, api_version))


def body_coverage(
    bodies: Iterable[Mapping[str, Any]], api_version: str = DEFAULT_API_VERSION
) -> Coverage:
    """The coverage of the events of request bodies (a body that is of no known family, or
    whose events are not a list, carries no events here: validate such bodies first).
    """
    coverage = Coverage()
    for body in bodies:
        try:
            masks = _masks(body, api_version)
        except ValueError:
            continue
        for mask in masks:
            coverage.add(mask)
    return coverage
