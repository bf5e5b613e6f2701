"""The retry policy's decisions and waits, with the random source injected."""

from __future__ import annotations

import pytest

from pytt_events import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    PayloadValidationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from pytt_events._retry import NO_RETRIES, RetryPolicy, is_retryable
from pytt_events._transport import parse_response, retry_after_seconds
from pytt_events.sender import ResendPolicy


def api_error(cls: type[APIError], code: int) -> APIError:
    return cls("m", code=code)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (api_error(RateLimitError, 40100), True),
        (api_error(ServerError, 50000), True),
        (api_error(ServerError, 40700), True),
        (APITimeoutError("t"), True),
        (APIConnectionError("c"), True),
        (api_error(PermissionDeniedError, 40001), False),
        (api_error(InvalidRequestError, 40002), False),
        (api_error(AuthenticationError, 40105), False),
        (api_error(APIError, 41234), False),
        (PayloadValidationError("p"), False),
        (ValueError("v"), False),
    ],
)
def test_what_is_retried(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable
    assert RetryPolicy().should_retry(error, 0) is retryable
    assert RetryPolicy().should_retry(error, 3) is False  # budget spent
    assert NO_RETRIES.should_retry(error, 0) is False


def test_full_jitter_exponential_backoff_with_a_cap() -> None:
    top = RetryPolicy(initial_delay=0.5, max_delay=3.0, random=lambda: 1.0)
    assert [top.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    half = RetryPolicy(initial_delay=0.5, max_delay=3.0, random=lambda: 0.5)
    assert [half.delay(n) for n in range(4)] == [0.25, 0.5, 1.0, 1.5]
    assert RetryPolicy(random=lambda: 0.0).delay(2) == 0.0


def test_retry_after_is_honoured_up_to_a_cap() -> None:
    policy = RetryPolicy(max_retry_after=10.0, random=lambda: 1.0)
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.delay(0, retry_after=120.0) == 10.0


def test_policy_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="delays"):
        RetryPolicy(initial_delay=-1)


def test_the_senders_resend_policy_doubles_from_one_second_to_five_minutes() -> None:
    policy = ResendPolicy()
    assert [policy.delay(n) for n in range(11)] == [
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0,
    ]  # fmt: skip
    assert policy.delay(10_000) == 300.0  # never overflows
    assert [policy.gives_up(n) for n in (1, 7, 8, 9)] == [False, False, True, True]
    short = ResendPolicy(first_delay=0.25, max_delay=1.0, max_attempts=2)
    assert [short.delay(n) for n in range(4)] == [0.25, 0.5, 1.0, 1.0]
    assert (short.gives_up(1), short.gives_up(2)) == (False, True)


def test_resend_policy_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        ResendPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="delays"):
        ResendPolicy(first_delay=-1)


def test_retry_after_header_forms() -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds({"retry-after": "3"}, now) == 3.0
    assert retry_after_seconds({"Retry-After": "1.5"}, now) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now) == 0.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, now) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


def test_errors_carry_retry_after() -> None:
    body = b'{"code": 40100, "message": "Too many requests", "request_id": "r"}'
    with pytest.raises(RateLimitError) as caught:
        parse_response(200, body, 1, {"retry-after": "7"})
    assert caught.value.retry_after == 7.0
    with pytest.raises(ServerError) as server:
        parse_response(503, b"busy", 1, {"retry-after": "2"})
    assert server.value.retry_after == 2.0


def test_a_policy_that_stops_while_waiting_starts_no_new_attempt() -> None:
    from dataclasses import dataclass, field

    from pytt_events._retry import Send, Sleep, attempt_flow

    @dataclass(frozen=True)
    class Stopping(RetryPolicy):
        flag: list[bool] = field(default_factory=list)

        def stopped(self) -> bool:
            return bool(self.flag)

    policy = Stopping(max_retries=3, random=lambda: 0.5)
    flow = attempt_flow("request", policy, None, "/path")
    assert isinstance(next(flow), Send)
    assert isinstance(flow.send(RateLimitError("slow down", code=40100)), Sleep)
    policy.flag.append(True)  # it stops during the wait
    with pytest.raises(RateLimitError):
        flow.send(None)
