"""TikTok's envelope -> response or typed exception: one table, read first."""

from __future__ import annotations

import json

import pytest

from pytt_events import (
    ERROR_CODES,
    APIConnectionError,
    APIError,
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    PyttEventsError,
    RateLimitError,
    ServerError,
)
from pytt_events._transport import parse_response


def envelope(code: int, message: str = "msg", request_id: str = "RID1") -> bytes:
    return json.dumps(
        {"code": code, "message": message, "request_id": request_id, "data": {}}
    ).encode()


def test_code_zero_is_a_response_and_json_keeps_the_original_shape() -> None:
    response = parse_response(200, envelope(0, "OK"), 1)
    assert (response.code, response.message, response.request_id) == (0, "OK", "RID1")
    assert response.json()["code"] == 0
    assert response.status_code == 200
    assert not response.partial_success


def test_partial_success_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    response = parse_response(200, envelope(20001, "Partial success"), 3)
    assert response.partial_success
    assert response.events == 3
    assert "partial success" in caplog.text


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (40001, PermissionDeniedError, False),
        (40002, InvalidRequestError, False),
        (40100, RateLimitError, True),
        (40105, AuthenticationError, False),
        (40700, ServerError, True),
        (50000, ServerError, True),
        (51234, ServerError, True),
        (41234, APIError, False),
    ],
)
def test_codes_map_to_their_classes(code: int, cls: type[APIError], retryable: bool) -> None:
    with pytest.raises(cls) as caught:
        parse_response(200, envelope(code, "bad thing"), 1)
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, PyttEventsError)
    assert (error.code, error.message, error.request_id, error.http_status) == (
        code,
        "bad thing",
        "RID1",
        200,
    )
    assert error.retryable is retryable
    assert str(error) == f"TikTok code {code}: bad thing (request_id RID1)"


def test_the_table_is_data() -> None:
    assert ERROR_CODES[40105] is AuthenticationError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (404, APIError),
    ],
)
def test_http_errors_without_an_envelope(status: int, cls: type[APIError]) -> None:
    with pytest.raises(cls) as caught:
        parse_response(status, b"<html>oops</html>", 1)
    assert caught.value.http_status == status
    assert caught.value.code is None


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"message": "no code"}'])
def test_answers_that_are_not_tiktoks_are_connection_errors(content: bytes) -> None:
    with pytest.raises(APIConnectionError, match="not TikTok's JSON envelope"):
        parse_response(200, content, 1)
