"""Nothing leaks: input values stay out of every validation error (text, errors(), json(),
chained exceptions), non-finite numbers are refused everywhere, the access token stays out of
dumps, errors and the frames of a connection error, and every error is a PyttEventsError."""

from __future__ import annotations

import asyncio
import json
import traceback
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pytt_events import (
    APIConnectionError,
    AsyncTikTokEventsApi,
    ClientClosedError,
    PayloadValidationError,
    PyttEventsError,
    TikTokEventsApi,
    UnknownApiVersionError,
)
from pytt_events.auth import TikTokAuth
from pytt_events.context import User
from pytt_events.models.v1_3 import Content, TrackProperties
from pytt_events.properties import Properties
from pytt_events.stored import read_payloads
from pytt_events.track import TrackEvent

RAW = "+447700900123"
EMAIL = "someone@example.org"
TOKEN = "secret-token-0123456789"

REFUSED: list[tuple[str, Any]] = [
    ("a list for a string", lambda: User(phone_number=[RAW])),
    ("an unknown key", lambda: User(email="a@b.co", emial=EMAIL)),
    ("through model_validate", lambda: User.model_validate({"phone_number": {"x": RAW}})),
    ("nested", lambda: TrackEvent.model_validate(
        {"event": "X", "event_time": 1_900_000_000, "user": {"email": [[EMAIL]], "x": RAW}})),
    ("from JSON", lambda: User.model_validate_json(json.dumps({"external_id": [RAW]}))),
]  # fmt: skip


def everything_said(error: BaseException) -> str:
    """Every text an error tracker or a framework could record of an error and its chain."""
    parts = [str(error), repr(error)]
    if isinstance(error, ValidationError):
        parts += [repr(error.errors()), error.json()]
    for linked in (error.__context__, error.__cause__):
        if linked is not None:
            parts.append(everything_said(linked))
    parts.append("".join(traceback.format_exception(error)))
    return "\n".join(parts)


@pytest.mark.parametrize(("case", "build"), REFUSED, ids=[case for case, _ in REFUSED])
def test_validation_errors_never_carry_the_input(case: str, build: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    said = everything_said(caught.value)
    assert RAW not in said
    assert EMAIL not in said
    assert all(item["input"] is None for item in caught.value.errors())
    assert caught.value.errors()[0]["loc"]  # the field is still named


def test_payload_validation_errors_carry_no_chained_input() -> None:
    with TikTokEventsApi() as api, pytest.raises(PayloadValidationError) as caught:
        api.post_event(
            {"pixel_code": "P", "event": "X", "context": {"user": {"emial": EMAIL}}},
            _unreachable(),
        )
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert EMAIL not in everything_said(caught.value)
    assert "context.user.emial" in str(caught.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Properties(value=float("inf")),
        lambda: Properties(value=float("nan")),
        lambda: Content(price=float("-inf")),
        lambda: TrackProperties(value=float("inf")),
        lambda: Properties(custom={"nested": [float("nan")]}),  # a custom property
    ],
)
def test_non_finite_numbers_are_refused(build: Any) -> None:
    with pytest.raises(ValidationError, match="finite"):
        build()


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
def test_stored_non_finite_numbers_are_unreadable(
    constant: str, suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"stored{suffix}"
    path.write_text(
        '{"pixel_code": "P", "event": "X", "properties": {"value": ' + constant + "}}\n"
    )
    (item,) = list(read_payloads(path))
    assert item.error == f"not valid JSON: {constant} is not a JSON value"


def test_an_empty_json_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("  \n")
    (item,) = list(read_payloads(path))
    assert item.error == "the file is empty: no JSON value"


@pytest.mark.parametrize("token", ["with\nnewline", "non-ascii-é", "with space", "tab\there"])
def test_a_malformed_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TikTokAuth(TIKTOK_ACCESS_TOKEN=token, TIKTOK_PIXEL_ID="P")
    assert token not in everything_said(caught.value)
    assert caught.value.errors()[0]["loc"] == ("TIKTOK_ACCESS_TOKEN",)


def test_dumps_of_the_settings_never_carry_the_token() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID="P")
    assert auth.TIKTOK_ACCESS_TOKEN == TOKEN  # the attribute is the token
    for said in (auth.model_dump(), auth.model_dump(mode="json"), auth.model_dump_json()):
        assert TOKEN not in str(said)
    assert TOKEN not in repr(auth) + str(auth)


def _unreachable() -> TikTokAuth:
    # Port 9 (discard) on 127.0.0.1: nothing listens, the connection is refused at once.
    return TikTokAuth(
        TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID="P", TIKTOK_API_BASE_URL="http://127.0.0.1:9/"
    )


def test_a_connection_error_carries_no_token_in_its_chain_or_frames() -> None:
    event = {"pixel_code": "P", "event": "X", "context": {"user": {"email": "a@b.co"}}}
    with TikTokEventsApi(retry=None) as api, pytest.raises(APIConnectionError) as caught:
        api.post_event(event, _unreachable(), retry=_no_retry())
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None
    frames = traceback.walk_tb(error.__traceback__)
    for frame, _ in frames:
        for value in frame.f_locals.values():
            assert TOKEN not in repr(value)


def _no_retry() -> Any:
    from pytt_events import RetryPolicy

    return RetryPolicy(max_retries=0)


def test_a_closed_client_raises_a_library_error() -> None:
    event = {"pixel_code": "P", "event": "X", "context": {"user": {"email": "a@b.co"}}}
    api = TikTokEventsApi()
    api.close()
    with pytest.raises(ClientClosedError, match="the client was closed"):
        api.post_event(event, _unreachable(), retry=_no_retry())

    async def closed() -> None:
        client = AsyncTikTokEventsApi()
        await client.aclose()
        await client.post_event(event, _unreachable(), retry=_no_retry())

    with pytest.raises(ClientClosedError):
        asyncio.run(closed())


def test_an_unknown_api_version_is_a_library_error() -> None:
    with pytest.raises(UnknownApiVersionError) as caught:
        TikTokEventsApi(api_version="v9")
    assert isinstance(caught.value, PyttEventsError)
    assert isinstance(caught.value, ValueError)  # as it was


@pytest.mark.parametrize(
    "build",
    [
        lambda: TikTokEventsApi(max_concurrency=0),
        lambda: TikTokEventsApi(events_api="3.0"),  # type: ignore[arg-type]
        lambda: __import__("pytt_events").RetryPolicy(max_retries=-1),
        lambda: TikTokEventsApi(default_phone_region="XX"),
    ],
)
def test_configuration_mistakes_are_library_errors(build: Any) -> None:
    from pytt_events import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        build()
    assert isinstance(caught.value, PyttEventsError)
    assert isinstance(caught.value, ValueError)  # as before


def test_the_frames_of_a_validation_error_keep_no_input() -> None:
    for build in (
        lambda: User(phone_number=[RAW]),
        lambda: User.model_validate({"phone_number": [RAW]}),
        lambda: TikTokAuth(TIKTOK_ACCESS_TOKEN="bad token " + TOKEN, TIKTOK_PIXEL_ID="P"),
    ):
        with pytest.raises(ValidationError) as caught:
            build()
        for frame, _ in traceback.walk_tb(caught.value.__traceback__):
            if "pytt_events" not in frame.f_code.co_filename:
                continue  # the caller's own frames hold what the caller passed
            for value in frame.f_locals.values():
                assert RAW not in repr(value)
                assert TOKEN not in repr(value)
