"""Round trips over real HTTP to the sandbox on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from pytt_events import (
    AuthenticationError,
    BulkSendError,
    InvalidRequestError,
    PayloadValidationError,
    sha256_hex,
)
from pytt_events.auth import TikTokAuth
from pytt_events.context import Context
from pytt_events.event import Event
from pytt_events.properties import Properties
from pytt_events.testing import SandboxServer
from pytt_events.tiktok_events_api import TikTokEventsApi
from pytt_events.validation import validate_payload
from tests.conftest import PIXEL, QUICK_START_DIGESTS, RAW_PERSONAL_DATA, TOKEN, errors


def many(count: int, event: Event) -> list[Event]:
    return [event.model_copy(update={"event_id": f"id-{i}"}) for i in range(count)]


def test_post_event_sends_hashed_personal_data(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    before = event.model_dump()
    response = api.post_event(event=event, auth=auth)
    assert (response.code, response.message) == (0, "OK")
    assert response.json()["code"] == 0
    assert response.request_id == sandbox.received[0].request_id
    received = sandbox.received[0]
    assert received.path == "/open_api/v1.3/pixel/track/"
    assert received.headers["content-type"] == "application/json"
    user = received.body["context"]["user"]
    assert {field: user[field] for field in QUICK_START_DIGESTS} == QUICK_START_DIGESTS
    assert not any(raw in json.dumps(received.body) for raw in RAW_PERSONAL_DATA)
    assert event.model_dump() == before  # the caller's event keeps its values


def test_post_event_refuses_a_list_and_sends_nothing(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    with pytest.raises(PayloadValidationError, match="expected Event or a dict, got list"):
        api.post_event(event=[event, event], auth=auth)  # type: ignore[arg-type]
    assert sandbox.received == []


def test_body_is_compact_json(api: TikTokEventsApi, auth: TikTokAuth, event: Event) -> None:
    seen: list[bytes] = []
    with SandboxServer(access_token=TOKEN) as server:
        original = server.respond

        def spy(method: str, path: str, headers: Any, body: bytes) -> Any:
            seen.append(body)
            return original(method, path, headers, body)

        server.respond = spy  # type: ignore[method-assign]
        api.post_event(event, auth.model_copy(update={"TIKTOK_API_BASE_URL": server.base_url}))
    assert b"\n" not in seen[0]
    assert b'": ' not in seen[0]
    assert json.loads(seen[0])["event"] == "ViewContent"


def test_bulk_of_three_goes_to_batch_in_one_request(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    result = api.post_events_in_bulk(events=[event, event, event], auth=auth)
    assert result.json()["code"] == 0
    assert result.accepted == (0, 1, 2)
    assert len(result.responses) == 1
    body = sandbox.received[0].body
    assert sandbox.received[0].path == "/open_api/v1.3/pixel/batch/"
    assert body["pixel_code"] == PIXEL
    assert errors(validate_payload(body, "pixel_batch", require_hashed=True)) == []


def test_bulk_beyond_the_maximum_is_split(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    result = api.post_events_in_bulk(many(120, event), auth=auth)
    # Requests run concurrently (max_concurrency=4): they may arrive in any order.
    assert sorted(len(request.events) for request in sandbox.received) == [20, 50, 50]
    assert result.accepted == tuple(range(120))
    assert len(result.request_ids) == 3
    received_ids = sorted(item["event_id"] for item in sandbox.accepted_events())
    assert received_ids == sorted(f"id-{i}" for i in range(120))


def test_empty_bulk_sends_nothing_and_says_so(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pytt_events"):
        result = api.post_events_in_bulk(events=[], auth=auth)
    assert sandbox.received == []
    assert result.responses == ()
    assert result.json()["message"] == "no events given: nothing was sent"
    assert "nothing was sent" in caplog.text


def test_dict_events_are_validated_and_sent(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    api.post_event(
        {"pixel_code": PIXEL, "event": "Search", "context": {"user": {"email": "A@B.co"}}}, auth
    )
    assert sandbox.received[0].body["context"]["user"]["email"] == sha256_hex("a@b.co")


def test_invalid_events_are_refused_before_anything_is_sent(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    with pytest.raises(PayloadValidationError) as caught:
        api.post_events_in_bulk([event, {"pixel_code": PIXEL, "context": {}}], auth=auth)
    assert caught.value.errors == [("events.1.event", "Field required")]
    assert sandbox.received == []


def test_wrong_token_raises_authentication_error_without_the_token(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    wrong = auth.model_copy(update={"TIKTOK_ACCESS_TOKEN": "wrong-token-abc"})
    with pytest.raises(AuthenticationError) as caught:
        api.post_event(event, wrong)
    error = caught.value
    assert error.code == 40105
    assert error.request_id == sandbox.received[0].request_id
    assert "wrong-token-abc" not in str(error)
    assert TOKEN not in str(error)


def test_bulk_failure_reports_every_event(
    auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    wrong = auth.model_copy(update={"TIKTOK_ACCESS_TOKEN": "nope"})
    with TikTokEventsApi(max_concurrency=1) as api, pytest.raises(BulkSendError) as caught:
        api.post_events_in_bulk(many(120, event), auth=wrong)
    result = caught.value.result
    assert result.accepted == ()
    assert [failed.index for failed in result.failed] == list(range(120))
    assert all(isinstance(failed.error, AuthenticationError) for failed in result.failed)
    assert len(sandbox.received) == 1  # an authentication error stops the remaining requests
    assert isinstance(caught.value.__cause__, AuthenticationError)


def test_hashing_off_sends_upstream_digests(auth: TikTokAuth, sandbox: SandboxServer) -> None:
    digest = sha256_hex("someone@example.com")
    with TikTokEventsApi(hash_personal_data=False) as api:
        api.post_event(
            {"pixel_code": PIXEL, "event": "Contact", "context": {"user": {"email": digest}}}, auth
        )
        with pytest.raises(PayloadValidationError, match="must already be a SHA-256"):
            api.post_event(
                {"pixel_code": PIXEL, "event": "Contact", "context": {"user": {"email": "x@y.co"}}},
                auth,
            )
    assert [request.body["context"]["user"]["email"] for request in sandbox.received] == [digest]


def test_sandbox_rejects_schema_violations_with_the_field_named(
    sandbox: SandboxServer,
) -> None:
    body = {
        "pixel_code": PIXEL,
        "event": "X",
        "context": {"ip": "nope"},
        "properties": {"value": -1},
    }
    answer = httpx.post(
        sandbox.base_url + "v1.3/pixel/track/", json=body, headers={"Access-Token": TOKEN}
    ).json()
    assert answer["code"] == 40002
    assert "context.ip: is not a valid ipv4" in answer["message"]
    assert "properties.value: must be at least 0" in answer["message"]


def test_sandbox_rejects_unhashed_personal_data_without_echoing_it(sandbox: SandboxServer) -> None:
    body = {"pixel_code": PIXEL, "event": "X", "context": {"user": {"email": "raw@example.com"}}}
    answer = httpx.post(
        sandbox.base_url + "v1.3/pixel/track/", json=body, headers={"Access-Token": TOKEN}
    ).json()
    assert answer["code"] == 40002
    assert (
        answer["message"] == "context.user.email: personal data (email) is not a SHA-256 hex digest"
    )


def test_sandbox_40002_reaches_the_caller_as_invalid_request_error(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    # model_construct skips validation: the schema check at "TikTok" still catches it.
    unchecked = Event.model_construct(
        pixel_code=PIXEL,
        event="Search",
        context=Context(user_agent="ua"),
        properties=Properties.model_construct(value=-5.0),
    )
    with pytest.raises(InvalidRequestError) as caught:
        api.post_event(unchecked, auth)
    assert caught.value.code == 40002
    assert caught.value.message == "properties.value: must be at least 0"
    assert sandbox.received[0].code == 40002


def test_sandbox_answers_unknown_paths_with_404(sandbox: SandboxServer) -> None:
    answer = httpx.post(
        sandbox.base_url + "v9.9/pixel/track/", json={}, headers={"Access-Token": TOKEN}
    )
    assert answer.status_code == 404


def test_logs_never_carry_the_token_or_raw_personal_data(
    api: TikTokEventsApi, auth: TikTokAuth, event: Event, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        api.post_event(event, auth)
        api.post_events_in_bulk([event] * 3, auth)
        with pytest.raises(AuthenticationError):
            api.post_event(event, auth.model_copy(update={"TIKTOK_ACCESS_TOKEN": "bad-token-xyz"}))
    assert "POST /open_api/v1.3/pixel/track/ -> HTTP 200 code 0" in caplog.text
    for secret in (*RAW_PERSONAL_DATA, TOKEN, "bad-token-xyz"):
        assert secret not in caplog.text


def test_normalize_data_gives_the_body_as_sent(event: Event) -> None:
    body = event.normalize_data()
    assert body["context"]["user"]["email"] == QUICK_START_DIGESTS["email"]


def test_a_sandbox_that_keeps_only_the_latest_requests(event: Event) -> None:
    for keep, kept in ((2, ["k-3", "k-4"]), (0, [])):
        with SandboxServer(access_token=TOKEN, keep=keep) as server:
            auth = TikTokAuth(
                TIKTOK_ACCESS_TOKEN=TOKEN,
                TIKTOK_PIXEL_ID=PIXEL,
                TIKTOK_API_BASE_URL=server.base_url,
            )
            with TikTokEventsApi() as api:
                for i in range(5):
                    api.post_event(event.model_copy(update={"event_id": f"k-{i}"}), auth)
            assert [r.body["event_id"] for r in server.received] == kept
            assert (server.requests_received, server.events_accepted) == (5, 5)
            server.reset()
            assert (server.requests_received, server.events_accepted, len(server.received)) == (
                0,
                0,
                0,
            )
