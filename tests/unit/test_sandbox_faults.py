"""The sandbox's by-content fault plans: which request meets which fault depends on the request
alone, never on the order in which concurrent requests arrive."""

from __future__ import annotations

import json
import re

import pytest

from pytt_events import ConfigurationError
from pytt_events.testing import Fault, FaultPlan, Sandbox, request_key
from tests.conftest import PIXEL, TOKEN

PATH = "/open_api/v1.3/pixel/batch/"


def body(index: int) -> bytes:
    items = [{"event": "AddToCart", "event_id": f"evt-{index}-{j}"} for j in range(3)]
    return json.dumps({"pixel_code": PIXEL, "batch": items}).encode()


def faults_met(plans: list[FaultPlan], order: list[int]) -> dict[int, list[Fault | None]]:
    """Deliver each request of `order` three times, round by round, and say what each met."""
    sandbox = Sandbox(access_token=TOKEN, faults=plans)
    met: dict[int, list[Fault | None]] = {}
    for _ in range(3):
        for index in order:
            answer = sandbox.respond("POST", PATH, {"Access-Token": TOKEN}, body(index))
            assert answer.record is not None
            met.setdefault(index, []).append(answer.record.fault)
    return met


BY_CONTENT = [
    FaultPlan(Fault.RATE_LIMIT, attempts=1, share=0.5, seed=3),
    FaultPlan(Fault.DROP, attempts=2, share=0.3, seed=4),
]


def test_by_content_faults_do_not_depend_on_arrival_order() -> None:
    forward = faults_met(BY_CONTENT, list(range(20)))
    assert forward == faults_met(BY_CONTENT, list(reversed(range(20))))
    shuffled = [7, 3, 19, 0, 1, 2, 4, 5, 6, *range(8, 19)]
    assert forward == faults_met(BY_CONTENT, shuffled)
    # Each picked request meets its faults on its first deliveries, then goes through.
    for faults in forward.values():
        assert faults[-1] is None
    assert {fault for faults in forward.values() for fault in faults} == {
        Fault.RATE_LIMIT,
        Fault.DROP,
        None,
    }


def test_arrival_order_plans_do_depend_on_it() -> None:
    """Why the fault tests no longer use them with concurrent requests."""
    by_arrival = [FaultPlan(Fault.RATE_LIMIT, first=3, every=5)]
    assert faults_met(by_arrival, list(range(20))) != faults_met(
        by_arrival, list(reversed(range(20)))
    )


def test_selects_matches_what_the_sandbox_does() -> None:
    plan = FaultPlan(Fault.SERVER_ERROR, attempts=9, share=0.5, seed=11)
    met = faults_met([plan], list(range(20)))
    for index, faults in met.items():
        expected = Fault.SERVER_ERROR if plan.selects(json.loads(body(index))) else None
        assert faults == [expected] * 3


def test_request_key_is_the_event_ids_or_the_bytes() -> None:
    assert request_key(json.loads(body(1)), body(1)) == "ids:evt-1-0\nevt-1-1\nevt-1-2"
    no_ids = {"pixel_code": PIXEL, "batch": [{"event": "AddToCart"}]}
    raw = json.dumps(no_ids).encode()
    assert request_key(no_ids, raw).startswith("sha256:")
    assert request_key(None, b"not json") != request_key(None, b"other")


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_share_out_of_range_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        FaultPlan(Fault.DROP, attempts=1, share=share)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"delay": 3}, "picks no request: give attempts="),
        ({}, "every=1: every request"),
        ({"share": 0.5, "seed": 2}, "give attempts= too"),
        ({"attempts": 2, "first": 3}, "one or the other"),
        ({"attempts": 2, "every": 5}, "one or the other"),
        ({"every": 1, "retry_after": 2}, "retry_after is for RATE_LIMIT and SERVER_ERROR"),
    ],
)
def test_a_plan_that_would_not_do_what_it_says_is_refused(
    options: dict[str, float], named: str
) -> None:
    """FaultPlan(Fault.DELAY, delay=3) used to delay nothing, silently."""
    with pytest.raises(ConfigurationError, match=re.escape(named)) as refused:
        FaultPlan(Fault.DELAY, **options)  # type: ignore[arg-type]
    assert "FaultPlan(Fault.DELAY)" in str(refused.value)


def test_every_1_is_every_request() -> None:
    met = faults_met([FaultPlan(Fault.DELAY, every=1, delay=0.0)], list(range(4)))
    assert all(faults == [Fault.DELAY] * 3 for faults in met.values())
