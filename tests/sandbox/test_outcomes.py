"""BulkResponse.outcomes: one outcome per event sent, worked out once (the sender, Spark and
the replay of a file read it), over real HTTP to the sandbox."""

from __future__ import annotations

from typing import Any

from pytt_events import BulkSendError, RetryPolicy, sha256_hex
from pytt_events._response import retry_later
from pytt_events.auth import TikTokAuth
from pytt_events.testing import Fault, FaultPlan, SandboxServer
from pytt_events.tiktok_events_api import TikTokEventsApi
from tests.conftest import PIXEL, TOKEN, auth_for


def event(event_id: str, **user: Any) -> dict[str, Any]:
    return {
        "event": "Purchase",
        "event_time": 1_900_000_000,
        "event_id": event_id,
        "user": {"email": f"{event_id}@example.com", **user},
    }


def test_each_event_has_one_outcome_in_input_order() -> None:
    with SandboxServer(access_token=TOKEN, bad_events={"bad"}) as sandbox:
        auth: TikTokAuth = auth_for(sandbox)
        with TikTokEventsApi() as api:
            try:
                result = api.track(
                    [event("a"), event("bad"), event("c", phone="+1234567890")],
                    auth=auth,
                    event_source_id=PIXEL,
                )
            except BulkSendError as error:
                result = error.result
    first, bad, third = result.outcomes
    assert (first.index, first.status, first.event_id, first.code) == (0, "accepted", "a", 0)
    assert first.request_id is not None
    assert first.reason is None
    assert first.payload is None
    assert (bad.index, bad.status, bad.event_id, bad.code) == (1, "failed", "bad", 40002)
    assert bad.retry_later is False  # TikTok refused it for good
    assert bad.reason is not None
    assert "40002" in bad.reason
    assert bad.payload is not None
    assert bad.payload["data"][0]["user"]["email"] == sha256_hex("bad@example.com")
    assert (third.status, third.event_id) == ("accepted", "c")
    assert third.dropped_keys == ("user.phone: not a possible phone number for its country code",)


def test_a_partial_success_is_partial_with_tiktoks_message() -> None:
    with (
        SandboxServer(access_token=TOKEN, faults=[FaultPlan(Fault.PARTIAL, every=1)]) as sandbox,
        TikTokEventsApi() as api,
    ):
        result = api.track([event("p-1"), event("p-2")], auth=auth_for(sandbox),
                           event_source_id=PIXEL)  # fmt: skip
    assert [(o.status, o.code, o.event_id) for o in result.outcomes] == [
        ("partial", 20001, "p-1"),
        ("partial", 20001, "p-2"),
    ]
    reason = result.outcomes[0].reason
    assert reason is not None
    assert reason.startswith("TikTok answered 20001 (partial success: ")


def test_a_failure_a_later_attempt_may_cure_is_retry_later() -> None:
    with (
        SandboxServer(
            access_token=TOKEN, faults=[FaultPlan(Fault.SERVER_ERROR, every=1)]
        ) as sandbox,
        TikTokEventsApi(max_concurrency=1) as api,
    ):
        try:
            api.track([event("s-1")], auth=auth_for(sandbox), event_source_id=PIXEL,
                      retry=RetryPolicy(max_retries=0))  # fmt: skip
            raise AssertionError("the sandbox answers every request with a server error")
        except BulkSendError as error:
            (outcome,) = error.result.outcomes
    assert outcome.status == "failed"
    assert outcome.retry_later is True
    assert outcome.error is not None
    assert retry_later(outcome.error)


def test_wrong_credentials_wait_for_a_fix() -> None:
    with SandboxServer(access_token=TOKEN) as sandbox, TikTokEventsApi() as api:
        try:
            api.track([event("w-1")], auth=auth_for(sandbox, token="wrong"),
                      event_source_id=PIXEL)  # fmt: skip
            raise AssertionError("a wrong token is refused")
        except BulkSendError as error:
            (outcome,) = error.result.outcomes
    assert (outcome.status, outcome.code, outcome.retry_later) == ("failed", 40105, True)
