"""Property-based tests: whatever comes in, models and normalizers fail only with validation
errors; hashing is idempotent; equivalent inputs hash the same."""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pytt_events import hash_value, is_sha256_hex
from pytt_events._hashing import DEFAULT_NORMALIZERS
from pytt_events.event import Event
from pytt_events.models import v1_3
from pytt_events.track import TrackEvent, TrackUser
from pytt_events.validation import validate_payload

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["event", "event_time", "event_id", "user", "properties", "page", "pixel_code", "context",
     "email", "phone", "phone_number", "external_id", "country", "contents", "value", "timestamp"]
)  # fmt: skip
SHAPED = st.recursive(
    JSON, lambda children: st.dictionaries(KEYS, children, max_size=6), max_leaves=25
)
RELAXED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(SHAPED)
def test_models_raise_only_validation_errors(data: Any) -> None:
    for model in (Event, TrackEvent, TrackUser, v1_3.EventTrackRequest, v1_3.PixelBatchRequest):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # legacy content_type input
            with contextlib.suppress(ValidationError):
                model.model_validate(data)


@RELAXED
@given(SHAPED)
def test_the_validator_never_raises(data: Any) -> None:
    for family in (None, "pixel_track", "pixel_batch", "event_track"):
        problems = validate_payload(data, family, require_hashed=True)
        assert all(problem.message for problem in problems)


@RELAXED
@given(st.sampled_from(sorted(DEFAULT_NORMALIZERS)), st.text())
def test_normalizers_raise_only_value_errors_and_hashing_is_idempotent(
    mark: str, text: str
) -> None:
    message = ""
    try:
        digest = hash_value(mark, text)
    except ValueError as error:
        message = str(error)
    if message:
        if len(text.strip()) >= 8:  # shorter values may appear in a message by coincidence
            assert text.strip() not in message  # the value is never echoed
        return
    assert is_sha256_hex(digest)
    assert digest == digest.lower()
    assert hash_value(mark, digest) == digest


@RELAXED
@given(
    st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True),
    st.sampled_from(["", " ", "\t", "\n"]),
    st.sampled_from([str.lower, str.upper, str.title, lambda s: s]),
)
def test_equivalent_emails_hash_the_same(email: str, pad: str, case: Any) -> None:
    expected = hashlib.sha256(email.encode()).hexdigest()
    assert hash_value("email", f"{pad}{case(email)}{pad}") == expected


@RELAXED
@given(
    st.sampled_from(
        [
            ("+5541998862934", ["+55 41 99886-2934", "+55 (41) 9.9886-2934", "+55-41-998862934"]),
            ("+14155550132", ["+1 415 555 0132", "+1 (415) 555-0132", "+1.415.555.0132"]),
            ("+442079460958", ["+44 20 7946 0958", "+44 (0)20 7946 0958", "+442079460958"]),
        ]
    ),
    st.sampled_from(["", " ", "  "]),
)
def test_equivalent_phone_formats_hash_the_same(case: Any, pad: str) -> None:
    e164, variants = case
    expected = hashlib.sha256(e164.encode()).hexdigest()
    for variant in variants:
        assert hash_value("phone", f"{pad}{variant}{pad}") == expected
