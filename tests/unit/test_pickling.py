"""Errors and results cross process boundaries (multiprocessing, Spark executors): every error
class, a FailedEvent and a whole BulkResponse (from a real bulk send to the sandbox, with a
failure) come back from pickle equal in every field."""

from __future__ import annotations

import pickle

import pytest

from pytt_events import (
    CODE_TABLE,
    APIConnectionError,
    APIError,
    APITimeoutError,
    BulkSendError,
    ClientClosedError,
    ConfigurationError,
    Event,
    PayloadValidationError,
    TikTokAuth,
    TikTokEventsApi,
    UnknownApiVersionError,
)
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, TOKEN


def again(value: object) -> object:
    return pickle.loads(pickle.dumps(value))  # noqa: S301 - bytes this test just made


@pytest.mark.parametrize("cls", sorted({entry.error for entry in CODE_TABLE} | {APIError}, key=str))
def test_api_errors_pickle_with_every_field(cls: type[APIError]) -> None:
    error = cls("refused", code=40002, request_id="req-1", http_status=429, retry_after=2.5)
    error.attempts = 3
    copy = again(error)
    assert type(copy) is cls
    assert isinstance(copy, APIError)
    fields = ("message", "code", "request_id", "http_status", "retry_after", "attempts")
    assert [getattr(copy, name) for name in fields] == [getattr(error, name) for name in fields]
    assert str(copy) == str(error)


@pytest.mark.parametrize(
    "error",
    [
        PayloadValidationError("events.0.event: Field required", [("events.0.event", "required")]),
        ConfigurationError("max_concurrency must be at least 1"),
        UnknownApiVersionError("no v9"),
        ClientClosedError("closed"),
        APIConnectionError("reset"),
        APITimeoutError("timed out"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_other_errors_pickle(error: Exception) -> None:
    copy = again(error)
    assert (type(copy), str(copy)) == (type(error), str(error))
    assert getattr(copy, "errors", None) == getattr(error, "errors", None)


def test_a_bulk_send_error_and_its_result_pickle(event: Event) -> None:
    events = [event.model_copy(update={"event_id": f"p-{i}"}) for i in range(4)]
    with SandboxServer(access_token=TOKEN, bad_events={"p-2"}) as server:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=server.base_url
        )
        with TikTokEventsApi() as api, pytest.raises(BulkSendError) as caught:
            api.post_events_in_bulk(events, auth)
    error = caught.value
    copy = again(error)
    assert isinstance(copy, BulkSendError)
    assert str(copy) == str(error)
    result, restored = error.result, copy.result  # type: ignore[attr-defined]
    assert restored.accepted == result.accepted == (0, 1, 3)
    assert [(f.index, str(f.error), f.payload) for f in restored.failed] == [
        (f.index, str(f.error), f.payload) for f in result.failed
    ]
    assert [r.request_id for r in restored.responses] == [r.request_id for r in result.responses]
    assert restored.responses[0].json() == result.responses[0].json()
    assert again(result.failed[0]).index == 2  # a FailedEvent alone too
