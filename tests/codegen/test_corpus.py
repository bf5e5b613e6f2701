"""Real request bodies (tests/fixtures/corpus, see its README): the schema's verdict on each,
and the same verdict from the models, but for the repairs the models make on purpose."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pytt_events.models import v1_3
from pytt_events.validation import detect_family, validate_payload
from tests.conftest import errors

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
MODELS: dict[str, type[BaseModel]] = {
    "pixel_track": v1_3.PixelTrackRequest,
    "pixel_batch": v1_3.PixelBatchRequest,
    "event_track": v1_3.EventTrackRequest,
}

SEGMENT_SHAPES = (
    "web-purchase",
    "app-purchase-ios",
    "offline-complete-payment",
    "crm-lead",
    "web-travel",
    "web-vehicle",
)
# Bodies the schema accepts. Every other body of the corpus is refused (reasons are checked below).
VALID = {
    "event_track/rudder-transformer__processor-test46-v2-no-properties.json",
    "event_track/segment-action-destinations__app-multi-product.json",
    "event_track/segment-action-destinations__crm-lead.json",
    "event_track/segment-action-destinations__offline-contact.json",
    "event_track/segment-action-destinations__offline-snapshot-required-fields.json",
    "event_track/segment-action-destinations__web-initiatecheckout.json",
    "event_track/segment-action-destinations__web-test-event-code-exact.json",
    "event_track/segment-action-destinations__web-travel-fields.json",
    "event_track/segment-action-destinations__web-vehicle-fields.json",
    "invalid/event_track__unhashed-email-phone.json",
    "pixel_track/rudder-transformer__processor-test12-no-properties.json",
    "pixel_track/rudder-transformer__processor-test26-product-group.json",
    "pixel_track/rudder-transformer__processor-test45-empty-contents.json",
    "pixel_track/tiktok-gtm-template-eapi__v1-TestGA.json",
    "pixel_track/tiktok-gtm-template-eapi__v1-TestManualSingleContentUrlTtclid.json",
    # Valid in shape; --require-hashed catches it (see the test below).
    "invalid/pixel_track__unhashed-email-phone.json",
    # Rule "location fields are not hashed": country is no longer held to a 2-letter code or a
    # digest, so RudderStack's raw country 'dummycountry' is taken, with a warning.
    "event_track/rudder-transformer__processor-test42-v2-full-user-properties.json",
    # Written in the shape of TikTok-maintained code (Segment's TikTok destinations): each would
    # have been refused before the rules of "take what TikTok takes" (att_status, raw location
    # fields, price and value 0, travel and vehicle fields, 19-digit event set IDs).
    *(f"event_track/segment-shape__{name}.json" for name in SEGMENT_SHAPES),
}
REASONS = {
    "content_type": "must be one of 'product', 'product_group'",  # categories such as 'socks'
    "timestamp": "is not a valid date-time",  # Segment's 1-digit day: 2021-09-2T...
    "not content_type": "must not contain 'content_type'",
}
# Mistakes the models repair on purpose, for callers of the original API: content_type given on
# Properties moves onto the contents (with a DeprecationWarning); a Unix-seconds timestamp
# becomes an ISO 8601 date-time; a 2.0 event_time given as an ISO string, a float or in
# milliseconds becomes whole Unix seconds. The schema (what TikTok receives) refuses them all.
REPAIRED = {
    "event_track/posthog__tiktok-ads-template-snapshot.json",
    "invalid/event_track__event-time-iso-string.json",
    "invalid/event_track__event-time-milliseconds.json",
    "invalid/pixel_track__content-type-at-properties-level.json",
    "invalid/pixel_track__timestamp-unix-int.json",
    "pixel_track/rudder-transformer__processor-test28-content-type-in-properties.json",
}


def bodies() -> list[str]:
    found = []
    for path in sorted(CORPUS.rglob("*.json")):
        name = path.relative_to(CORPUS).as_posix()
        if name != "README.md":
            found.append(name)
    return found


def endpoint_family(name: str) -> str:
    """The family of the endpoint the body was sent to (its folder, or its name's prefix)."""
    for family in ("pixel_batch", "pixel_track", "event_track"):
        if name.startswith((f"{family}/", f"invalid/{family}__")):
            return family
    raise AssertionError(name)


# Sent to one endpoint though shaped for another: detection goes by the shape.
SHAPE_OF = {
    "pixel_batch/rudder-transformer__dataDelivery-business00-track-body-to-batch.json": (
        "pixel_track"
    ),
    "pixel_batch/rudder-transformer__dataDelivery-business01-content-id-int.json": "pixel_track",
    "invalid/event_track__events1.0-body-on-2.0-endpoint.json": "pixel_track",
}


def load(name: str) -> Any:
    return json.loads((CORPUS / name).read_text("utf-8"))


def model_accepts(family: str, body: Any) -> BaseModel | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # content_type moved off Properties
        try:
            return MODELS[family].model_validate(body)
        except ValidationError:
            return None


def test_the_corpus_is_there() -> None:
    assert len(bodies()) == 61  # the 55 of ../shared/corpus and 6 in the shape of TikTok's code


@pytest.mark.parametrize("name", bodies())
def test_schema_verdict(name: str) -> None:
    body = load(name)
    family = endpoint_family(name)
    shape = SHAPE_OF.get(name, family)
    assert detect_family(body) == shape
    problems = errors(validate_payload(body, family))
    if name in VALID:
        assert problems == []
    else:
        assert problems, name
        assert all(problem.message for problem in problems)


@pytest.mark.parametrize("name", bodies())
def test_models_agree_with_the_schema_but_for_repairs(name: str) -> None:
    body = load(name)
    family = endpoint_family(name)
    schema_accepts = errors(validate_payload(body, family)) == []
    model = model_accepts(family, body)
    if name in REPAIRED:
        assert not schema_accepts
        assert model is not None
        repaired = model.model_dump(mode="json", exclude_none=True)
        assert errors(validate_payload(repaired, family)) == []
    else:
        assert (model is not None) == schema_accepts, name


def test_reasons_name_the_field() -> None:
    messages = {str(problem) for name in bodies() for problem in validate_payload(load(name))}
    assert "/properties/contents/0/content_type: " + REASONS["content_type"] in messages
    assert "/timestamp: " + REASONS["timestamp"] in messages
    assert any(REASONS["not content_type"] in message for message in messages)
    assert "/batch: must have at least 1 item(s)" in messages
    assert "/: 'event' is a required property" in messages
    assert "/timestamp: must be of type string" in messages
    assert "/data/0/event_time: must be at most 9999999999" in messages
    assert "/data/0/event_time: must be at least 1000000000" in messages
    assert "/data: must have at most 1000 item(s)" in messages
    assert "/event_source: must be one of 'web', 'app', 'offline', 'crm'" in messages
    assert any("'test_event_code' was unexpected" in message for message in messages)


def test_unhashed_personal_data_is_reported_only_when_required() -> None:
    body = load("invalid/pixel_track__unhashed-email-phone.json")
    assert errors(validate_payload(body)) == []
    problems = errors(validate_payload(body, require_hashed=True))
    assert [str(problem) for problem in problems] == [
        "/context/user/email: personal data (email) is not a SHA-256 hex digest",
        "/context/user/phone_number: personal data (phone) is not a SHA-256 hex digest",
    ]


def test_location_fields_earn_warnings_not_errors() -> None:
    body = load("event_track/rudder-transformer__processor-test42-v2-full-user-properties.json")
    problems = validate_payload(body, require_hashed=True, warn=True)
    assert errors(problems) == []  # --require-hashed never reports location fields
    assert [str(p) for p in problems if p.path.startswith("/data/0/user/")] == [
        "/data/0/user/country: is neither an ISO 3166-1 alpha-2 code nor a country name; it is "
        "sent normalized (TikTok may not match it) (warning)"
    ]
    hashed = body | {"data": [body["data"][0] | {"user": {"city": "a" * 64, "state": "NY"}}]}
    located = [str(p) for p in validate_payload(hashed, warn=True) if "/user/" in p.path]
    assert located == [
        "/data/0/user/city: looks like a SHA-256 digest, but TikTok takes this field raw "
        "(normalized, not hashed): it will probably not match (warning)",
        "/data/0/user/state: is not normalized as TikTok's code does it (ASCII letters and "
        "digits only, lowercase); it is sent as given (warning)",
    ]


def test_unhashed_2_0_personal_data_and_the_empty_digest_are_reported() -> None:
    body = load("invalid/event_track__unhashed-email-phone.json")
    problems = [str(problem) for problem in errors(validate_payload(body, require_hashed=True))]
    assert problems
    assert all("/data/0/user/" in problem for problem in problems)
    posthog = load("event_track/posthog__tiktok-ads-template-snapshot.json")
    assert "/data/0/user/phone: is the SHA-256 of an empty string: it matches nobody" in [
        str(problem) for problem in validate_payload(posthog, require_hashed=True)
    ]
