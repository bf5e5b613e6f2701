"""_stats without I/O: the statistics query as TikTok's own SDK sends it, the answer read
tolerantly (tables: TikTok's documented shape and the variants public clients read), and the
key an accepted event is counted under."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from pytt_events import ConfigurationError, DailyCount, PermissionDeniedError
from pytt_events._stats import (
    count_key,
    parse_stats,
    permission_error,
    pixel_groups,
    stats_days,
    stats_query,
)

DAY = dt.date(2026, 12, 4)


def test_the_query_is_json_text_as_tiktok_s_sdk_sends_it() -> None:
    query = stats_query("7001", ["PIXA", "PIXB"], DAY)
    assert query["advertiser_id"] == "7001"
    assert json.loads(query["pixel_ids"]) == ["PIXA", "PIXB"]
    assert json.loads(query["date_range"]) == {"start_date": "2026-12-04", "end_date": "2026-12-04"}


def test_pixels_go_ten_a_request_without_duplicates() -> None:
    groups = pixel_groups([f"P{i}" for i in range(23)] + ["P0"])
    assert [len(group) for group in groups] == [10, 10, 3]
    with pytest.raises(ConfigurationError, match="at least one pixel"):
        pixel_groups([])
    with pytest.raises(ConfigurationError, match="none empty"):
        pixel_groups(["P", " "])


def test_days_are_inclusive_and_ordered() -> None:
    assert stats_days(DAY, DAY) == [DAY]
    assert stats_days(DAY, DAY + dt.timedelta(days=2))[-1] == DAY + dt.timedelta(days=2)
    with pytest.raises(ConfigurationError, match="before the start date"):
        stats_days(DAY, DAY - dt.timedelta(days=1))


DOCUMENTED = {
    "list": [
        {
            "pixel_id": "PIXA",
            "statistics": [
                {"pixel_event_type": "ViewContent", "total_count": 7,
                 "server_event_total_count": 5, "browser_event_total_count": 2,
                 "attributed_count": 1, "preview_count": 0},
                {"custom_event_type": "MyEvent", "total_count": 3},
            ],
        },
        {"pixel_id": "PIXB", "statistics": []},
    ]
}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "counts", "unreadable"),
    [
        (
            DOCUMENTED,
            [
                DailyCount("PIXA", "ViewContent", DAY, 7, 5, 2),
                DailyCount("PIXA", "MyEvent", DAY, 3),
            ],
            0,
        ),
        (  # numbers as strings; only the split given
            {"list": [{"pixel_id": "P", "statistics": [
                {"pixel_event_type": "Lead", "server_event_total_count": "4",
                 "browser_event_total_count": 1}]}]},
            [DailyCount("P", "Lead", DAY, 5, 4, 1)],
            0,
        ),
        (  # flat rows with a day of their own, under `stats`, `count`, `event_type`
            {"stats": [{"pixel_id": "P", "event_type": "Search", "count": 2,
                        "date": "2026-12-01"}]},
            [DailyCount("P", "Search", dt.date(2026, 12, 1), 2)],
            0,
        ),
        (  # no name, no count, not an object: left out and counted, never guessed
            {"list": [{"pixel_id": "P", "statistics": [
                {"total_count": 3}, {"pixel_event_type": "Lead"}, "junk",
                {"pixel_event_type": "Lead", "total_count": True}]}]},
            [],
            3,
        ),
        ({}, [], 0),
        ({"list": "nothing"}, [], 0),
    ],
    ids=["documented", "strings-and-split", "flat", "unreadable", "empty", "not-a-list"],
)  # fmt: skip
def test_the_answer_is_read_tolerantly(
    data: dict[str, Any], counts: list[DailyCount], unreadable: int
) -> None:
    assert parse_stats(data, DAY) == (counts, unreadable)


@pytest.mark.parametrize(
    ("top", "event", "key"),
    [
        ({"event_source_id": "PIX"}, {"event": "Purchase", "event_time": 1764892800},
         ("PIX", "Purchase", "2025-12-05")),
        ({"event_source_id": "PIX"}, {"event": "Purchase", "event_time": 1764892799},
         ("PIX", "Purchase", "2025-12-04")),  # one second before midnight UTC
        ({}, {"pixel_code": "PIX", "event": "ViewContent",
              "timestamp": "2025-12-04T23:30:00-02:00"},
         ("PIX", "ViewContent", "2025-12-05")),  # 01:30 UTC
        ({}, {"pixel_code": "PIX", "event": "ViewContent", "timestamp": "2025-12-04T10:00:00Z"},
         ("PIX", "ViewContent", "2025-12-04")),
        ({"pixel_code": "PIX"}, {"event": "Lead"}, ("PIX", "Lead", "2026-12-05")),  # now's day
        ({"event_source_id": "PIX"}, {"event": "Lead", "timestamp": "yesterday"},
         ("PIX", "Lead", "2026-12-05")),
        ({"event_source_id": "PIX"}, {"event": "Lead", "event_time": 1.7e15},
         ("PIX", "Lead", "2026-12-05")),  # past the year 9999: now's day
        ({"event_source_id": "PIX"}, {"event": "Lead", "event_time": "nan"},
         ("PIX", "Lead", "2026-12-05")),
        ({}, {"event": "Lead"}, None),
        ({"event_source_id": "PIX"}, {"event_time": 1}, None),
    ],
)  # fmt: skip
def test_the_key_an_accepted_event_counts_under(
    top: dict[str, Any], event: dict[str, Any], key: tuple[str, str, str] | None
) -> None:
    now = dt.datetime(2026, 12, 5, 12, tzinfo=dt.timezone.utc).timestamp()
    assert count_key(top, event, now) == key


def test_a_permission_refusal_says_what_the_statistics_need() -> None:
    error = PermissionDeniedError("No permission", code=40001, request_id="r-1")
    error.attempts = 1
    said = permission_error(error, "7001", ["PIXA"])
    assert (said.code, said.request_id, said.attempts) == (40001, "r-1", 1)
    text = str(said)
    assert "advertiser 7001 (TIKTOK_ADVERTISER_ID)" in text
    assert "Measurement permission scope" in text
    assert "PIXA" in text
    assert text.endswith("TikTok said: No permission (request_id r-1)")
