"""The fast validator (jsonschema-rs) gives the same verdicts as the reference (jsonschema) on
the whole corpus and on generated payloads; only then may it answer first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytt_events.validation import _fast_verdict, _validator

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
FAMILIES = ("pixel_track", "pixel_batch", "event_track")


def verdicts(payload: Any) -> list[tuple[bool, bool]]:
    return [
        (
            _fast_verdict(family, "v1.3", payload),
            _validator(family, "v1.3").is_valid(payload),
        )
        for family in FAMILIES
    ]


@pytest.mark.parametrize(
    "name", sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.json"))
)
def test_same_verdict_on_every_corpus_body(name: str) -> None:
    body = json.loads((CORPUS / name).read_text())
    for fast, reference in verdicts(body):
        assert fast == reference


STRINGS = st.sampled_from(
    [
        "",
        " ",
        "ViewContent",
        "2023-02-01T00:00:00-03:00",
        "2023-02-01 00:00:00Z",
        "2021-09-2T15:21:15Z",
        "2023-02-01T00:00:00",
        "13.57.97.131",
        "::1",
        "999.1.1.1",
        "USD",
        "usd",
        "product",
        "PRODUCT",
        "web",
        "website",
        "br",
        "BRA",
        "a" * 64,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "https://a b",
        "https://example.com",
        "ünïcode",
        "E.C.P.x",
    ]
) | st.text(max_size=8)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10_000_000_000)
    | st.floats(allow_nan=False)
    | STRINGS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(STRINGS, children, max_size=3)
    ),
    max_leaves=8,
)


def shaped(schema_keys: dict[str, Any]) -> Any:
    return st.fixed_dictionaries({}, optional={k: v for k, v in schema_keys.items()})


USER = shaped(
    {k: VALUES | STRINGS for k in ["email", "phone", "external_id", "country", "ip", "ttp"]}
)
CONTENT = shaped(
    {"content_type": STRINGS, "content_id": VALUES, "price": VALUES, "quantity": VALUES}
)
PROPERTIES = shaped(
    {
        "currency": STRINGS,
        "value": VALUES,
        "contents": st.lists(CONTENT, max_size=2),
        "content_type": STRINGS,
    }
)
TRACK_EVENT = shaped(
    {
        "event": STRINGS,
        "event_time": VALUES,
        "event_id": STRINGS,
        "user": USER,
        "properties": PROPERTIES,
        "page": shaped({"url": STRINGS}),
    }
)
PAYLOADS = st.one_of(
    shaped(
        {
            "event_source": STRINGS,
            "event_source_id": STRINGS,
            "data": st.lists(TRACK_EVENT, max_size=2),
        }
    ),
    shaped(
        {
            "pixel_code": STRINGS,
            "event": STRINGS,
            "timestamp": STRINGS | VALUES,
            "context": shaped(
                {"ip": STRINGS, "user": USER, "page": shaped({"url": STRINGS, "referrer": STRINGS})}
            ),
            "properties": PROPERTIES,
        }
    ),
    shaped(
        {
            "pixel_code": STRINGS,
            "batch": st.lists(
                shaped({"event": STRINGS, "type": STRINGS, "context": shaped({"user": USER})}),
                max_size=2,
            ),
        }
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAYLOADS)
def test_same_verdict_on_generated_payloads(payload: Any) -> None:
    for fast, reference in verdicts(payload):
        assert fast == reference
