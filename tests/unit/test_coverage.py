"""Match-key coverage (pytt_events.coverage): which keys an event carries, read through the
schema's x-match-key marks, checked against a hand-written reading of TikTok's two event
shapes over every body of the corpus; the grade rule as a table; the Coverage arithmetic and
table; and a value that cannot be a match key, left out, not counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytt_events import TikTokAuth, TikTokEventsApi
from pytt_events.coverage import (
    GRADES,
    KEYS,
    Coverage,
    EventKeys,
    body_coverage,
    event_keys,
)
from pytt_events.schema import load_schema
from tests.coverage_oracle import assert_coverage, events_of, grade, keys_of

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
BODIES = sorted(
    path for path in CORPUS.glob("*/*.json") if path.parent.name != "invalid"
)  # the bodies of the three families (invalid/ holds bodies broken on purpose)


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("path", BODIES, ids=[f"{p.parent.name}/{p.stem}" for p in BODIES])
def test_each_corpus_event_carries_the_keys_its_fields_hold(path: Path) -> None:
    body = load(path)
    found = event_keys(body)
    assert found == tuple(
        EventKeys(keys_of(event, shape), grade(keys_of(event, shape)))
        for event, shape in events_of(body)
    )


def test_the_corpus_coverage_is_what_its_fields_hold() -> None:
    bodies = [load(path) for path in BODIES]
    coverage = body_coverage(bodies)
    assert_coverage(coverage, bodies)
    assert coverage.events == 53  # every event of the corpus's 45 bodies
    # The corpus exercises every grade but none, and every key but gaid.
    assert {grade for grade, n in coverage.grades.items() if n} == {"strong", "medium", "weak"}
    assert {key for key in KEYS if coverage.count(key)} == set(KEYS) - {"gaid"}


def test_every_match_key_is_marked_in_both_event_shapes() -> None:
    definitions = load_schema()["$defs"]

    def marks(name: str) -> dict[str, str]:
        return {
            field: spec["x-match-key"]
            for field, spec in definitions[name]["properties"].items()
            if "x-match-key" in spec
        }

    assert marks("TrackUser") == {key: key for key in KEYS}
    assert marks("TrackAd") == {"callback": "ttclid"}
    web = {**marks("Context"), **marks("User"), **marks("Ad")}
    assert web == {
        "user_agent": "user_agent", "ip": "ip", "callback": "ttclid", "external_id":
        "external_id", "email": "email", "phone_number": "phone", "ttp": "ttp",
    }  # fmt: skip


# keys -> grade, one row for each clause of the rule (README: "Match-key coverage").
GRADE_TABLE = [
    ({"ttclid"}, "strong"),
    ({"idfa"}, "strong"),
    ({"gaid"}, "strong"),
    ({"email", "ip", "user_agent"}, "strong"),
    ({"phone", "ip", "user_agent"}, "strong"),
    ({"email"}, "medium"),
    ({"phone"}, "medium"),
    ({"external_id"}, "medium"),
    ({"external_id", "ip", "user_agent"}, "medium"),
    ({"email", "ip"}, "medium"),
    ({"ttp", "ip", "user_agent"}, "medium"),
    ({"ip", "user_agent"}, "weak"),
    ({"ip"}, "weak"),
    ({"user_agent"}, "weak"),
    ({"ttp"}, "weak"),
    ({"ttp", "ip"}, "weak"),
    (set(), "none"),
]


@pytest.mark.parametrize(
    ("keys", "expected"), GRADE_TABLE, ids=[str(sorted(k)) for k, _ in GRADE_TABLE]
)
def test_the_grade_rule(keys: set[str], expected: str) -> None:
    user = {key: "E.C.P.x" if key == "ttclid" else "a" * 64 for key in keys}
    if "ip" in user:
        user["ip"] = "13.57.1.2"
    body = {"event_source": "web", "event_source_id": "X", "data": [{"event": "Purchase",
            "event_time": 1_900_000_000, "user": user}]}  # fmt: skip
    assert event_keys(body) == (EventKeys(frozenset(keys), expected),)


@pytest.mark.parametrize(
    "value", ["", [], [""], None, 0, {"a": "b"}], ids=["empty", "[]", "['']", "null", "0", "object"]
)
def test_a_key_counts_only_when_its_value_is_sent(value: Any) -> None:
    body = {"event_source": "web", "event_source_id": "X", "data": [
        {"event": "Purchase", "event_time": 1_900_000_000, "user": {"email": value}},
        {"event": "Purchase", "event_time": 1_900_000_000, "user": {"email": ["", "a" * 64]}},
    ]}  # fmt: skip
    assert [found.keys for found in event_keys(body)] == [frozenset(), frozenset({"email"})]


def test_a_body_of_no_family_is_refused_by_name_and_skipped_in_a_batch() -> None:
    with pytest.raises(ValueError, match="not a request body of a known family"):
        event_keys({"nothing": 1})
    assert body_coverage([{"nothing": 1}, {"data": "not a list"}]).events == 0


def test_coverage_counts_adds_and_renders() -> None:
    ttclid, email, ip_ua = (
        1 << KEYS.index("ttclid"),
        1 << KEYS.index("email"),
        (1 << KEYS.index("ip") | 1 << KEYS.index("user_agent")),
    )
    first = Coverage([ttclid | email, email, 0])
    second = Coverage([ip_ua, email | ip_ua])
    total = first + second
    assert total == Coverage.merge([first, second]) == Coverage([ttclid | email, email, 0, ip_ua,
                                                                  email | ip_ua])  # fmt: skip
    assert total.events == 5
    assert total.count("email") == 3
    assert total.count("ip+user_agent") == 2
    assert total.count("any key") == 4
    assert total.share("email") == 3 / 5
    assert total.grades == {"strong": 2, "medium": 1, "weak": 1, "none": 1}
    assert list(total.grades) == list(GRADES)
    assert Coverage().share("email") == 0.0
    with pytest.raises(KeyError, match="'mail': no match key"):
        total.count("mail")
    first += second
    assert first == total
    assert total.as_dict()["keys"]["email"] == 3
    json.dumps(total.as_dict())  # JSON-ready
    lines = total.table().splitlines()
    assert lines[0] == "match-key coverage of 5 event(s)"
    assert lines[1].split() == ["match", "key", "events", "share"]
    rows = {line.rsplit(None, 2)[0].strip(): line.split()[-2:] for line in lines[2:]}
    assert rows["email"] == ["3", "60.0%"]
    assert rows["ip+user_agent"] == ["2", "40.0%"]
    assert rows["none"] == ["1", "20.0%"]
    assert "  grade (heuristic)" in lines
    assert repr(total) == "Coverage(events=5, email=3, ttclid=1, ip=2, user_agent=2)"


def test_a_value_that_cannot_be_a_match_key_is_left_out_and_not_counted() -> None:
    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID="C" * 20, TIKTOK_API_BASE_URL="http://127.0.0.1:9"
    )
    events = [
        {"event": "Purchase", "event_time": 1_900_000_000, "user": {"phone": "+1 000",
         "external_id": "a"}},
        {"event": "Purchase", "event_time": 1_900_000_000, "user": {"phone": "+5541998862934"}},
    ]  # fmt: skip
    with TikTokEventsApi() as api:
        prepared = api.prepare_track(events, auth=auth)
    assert prepared.dropped_keys  # the first one's phone number
    assert prepared.coverage.count("phone") == 1
    assert prepared.coverage.count("external_id") == 1
    assert prepared.coverage.events == 2
    bodies = [chunk.body for chunk in prepared.requests]
    assert_coverage(prepared.coverage, bodies)
