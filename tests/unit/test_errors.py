"""TikTok's envelope -> response or typed exception: one table, read first."""

from __future__ import annotations

import json

import pytest

from pytt_events import (
    CODE_TABLE,
    ERROR_CODES,
    APIConnectionError,
    APIError,
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    PyttEventsError,
    RateLimitError,
    RetiredError,
    ServerError,
)
from pytt_events._transport import parse_response
from tests.conftest import ROOT


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
        (40000, InvalidRequestError, False),
        (40001, PermissionDeniedError, False),
        (40002, InvalidRequestError, False),
        (40003, PermissionDeniedError, False),
        (40061, InvalidRequestError, False),
        (40062, InvalidRequestError, False),
        (40063, InvalidRequestError, False),
        (40100, RateLimitError, True),
        (40102, AuthenticationError, False),
        (40104, AuthenticationError, False),
        (40105, AuthenticationError, False),
        (40132, RateLimitError, True),
        # RPC_VALIDATION_ERROR in TikTok's own code table: a validation error, never retried.
        (40700, InvalidRequestError, False),
        (60001, ServerError, True),
        (61000, RateLimitError, True),
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


@pytest.mark.parametrize("code", [41001, 41002])
def test_retired_endpoints_and_fields_raise_their_own_error(code: int) -> None:
    with pytest.raises(RetiredError) as caught:
        parse_response(200, envelope(code, "offline"), 1)
    assert isinstance(caught.value, APIError)
    assert not caught.value.retryable
    assert str(caught.value) == (
        f"TikTok code {code}: offline (request_id RID1); TikTok retired this endpoint or field"
    )


def code_table_markdown() -> str:
    """The README's code table, made from pytt_events.CODE_TABLE."""
    rows = [
        "| code | TikTok's name | meaning | raises | retried |",
        "| --- | --- | --- | --- | --- |",
        "| 0 | OK | OK | — | — |",
        "| 20001 | PARTIAL_OK | some events were rejected | nothing: returned, "
        "`response.partial_success`, logged as a warning | no |",
    ]
    for entry in CODE_TABLE:
        retried = "yes" if entry.error.retryable else "no"
        rows.append(
            f"| {entry.code} | {entry.name} | {entry.meaning} | `{entry.error.__name__}` "
            f"| {retried} |"
        )
    rows += [
        "| other 5xxxx | | TikTok internal error | `ServerError` | yes |",
        "| any other | | | `APIError` | no |",
    ]
    return "\n".join(rows) + "\n"


def test_the_readme_code_table_is_made_from_the_data() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    start = readme.index("<!-- code-table:start -->\n") + len("<!-- code-table:start -->\n")
    end = readme.index("<!-- code-table:end -->")
    assert readme[start:end] == code_table_markdown(), (
        "README.md's code table is out of date; replace it with:\n" + code_table_markdown()
    )


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


def test_the_repr_of_a_bulk_result_is_a_summary() -> None:
    from pytt_events import BulkResponse, FailedEvent

    error = APIError("wrong", code=40105)
    failed = tuple(FailedEvent(i, error, {"event_id": f"e{i}"}) for i in range(10_000))
    result = BulkResponse(responses=(), accepted=(), failed=failed)
    assert repr(result) == "BulkResponse(accepted=0, failed=10000, requests=0, invalid=0, code=0)"
    assert result.failures_by_reason() == [("TikTok code 40105: wrong", 10_000, (0, 1, 2))]
