"""TikTok's event statistics, without I/O: the query of GET pixel/event/stats/, its answer as
EventStats, and the key an accepted event is counted under (by the outboxes and the sandbox).

The request (settled): TikTok's own SDK sends `advertiser_id`, `pixel_ids` and `date_range`
as query parameters, the list and the object as JSON text (tiktok/tiktok-business-api-sdk,
python_sdk/business_api_client/api/measurement_api.py `pixel_event_stats`, whose
api_client.parameters_to_tuples json.dumps them; docs/DateRange.md: `start_date`,
`end_date`). Dates are UTC days, `YYYY-MM-DD`; at most 10 pixel ids and 30 days a request
(TikTok's documentation as bububa/tiktok-business carries it, pixel/event_stats.go).

The answer (unsettled: TikTok's SDK types it as a bare object; these fields are those of
bububa/tiktok-business's EventStatsResponse, which translates TikTok's documentation, and
of several TypeScript clients that agree with it):

    {"list": [{"pixel_id": "...", "statistics": [{
        "pixel_event_type": "...",        standard events (TikTok may name them by its own
        "custom_event_type": "...",       enum, e.g. ON_WEB_DETAIL); custom events by name
        "total_count": 3,                 = browser_event_total_count + server_event_total_count
        "server_event_total_count": 3, "browser_event_total_count": 0,
        "attributed_count": 0, "preview_count": 0}]}]}

Counts are over the whole date range, with no day in a row: the SDK asks one day a request,
so each count is that day's. It reads the answer tolerantly: a row's name from
custom_event_type, pixel_event_type, event, event_type or event_name; its count from
total_count, count, or server + browser counts; numbers given as strings; a day of its own
(`date`, `stat_time_day`) when a row carries one; flat rows (a pixel_id beside the counts)
and `stats` in place of `list`. A row it cannot read is left out and counted
(EventStats.unreadable), never guessed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytt_events._constants import STATS_MAX_PIXEL_IDS
from pytt_events._exceptions import ConfigurationError, PermissionDeniedError

__all__ = ["CountKey", "DailyCount", "EventStats"]

#: What an accepted event is counted under: (event source id: the pixel code of a web event,
#: the event name, the UTC day of the event's time as YYYY-MM-DD).
CountKey = tuple[str, str, str]

_EPOCH = dt.date(1970, 1, 1)
_NAME_FIELDS = ("custom_event_type", "pixel_event_type", "event", "event_type", "event_name")
_DAY_FIELDS = ("date", "stat_time_day", "day")


@dataclass(frozen=True)
class DailyCount:
    """TikTok's count of one event of one pixel (or event set) on one UTC day.

    `count` is TikTok's total_count (browser and server events); `server` and `browser` split
    it when TikTok says so (None: not in the answer)."""

    source: str
    event: str
    day: dt.date
    count: int
    server: int | None = None
    browser: int | None = None


@dataclass(frozen=True)
class EventStats:
    """What TikTok answered GET pixel/event/stats/ for some pixels and days: one DailyCount an
    event, pixel and day it named (days and events it did not name had no events)."""

    advertiser_id: str
    pixel_ids: tuple[str, ...]
    start: dt.date
    end: dt.date
    counts: tuple[DailyCount, ...]
    #: The request_id of each answer, in order (for TikTok's support).
    request_ids: tuple[str, ...] = ()
    #: Rows of TikTok's answers that named no event or no count: left out.
    unreadable: int = 0

    def by_key(self) -> dict[tuple[str, str, dt.date], int]:
        """The counts by (pixel, event, day), summed (TikTok may repeat a row)."""
        found: dict[tuple[str, str, dt.date], int] = {}
        for row in self.counts:
            key = (row.source, row.event, row.day)
            found[key] = found.get(key, 0) + row.count
        return found


def stats_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from start to end, both included.

    Raises:
        ConfigurationError: end is before start.
    """
    if end < start:
        raise ConfigurationError(f"the end date {end} is before the start date {start}")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def pixel_groups(pixel_ids: Sequence[str]) -> list[tuple[str, ...]]:
    """The pixel ids, at most STATS_MAX_PIXEL_IDS a request, duplicates left out.

    Raises:
        ConfigurationError: no pixel id, or an empty one.
    """
    unique = tuple(dict.fromkeys(str(pixel).strip() for pixel in pixel_ids))
    if not unique or "" in unique:
        raise ConfigurationError("event statistics need at least one pixel id (none empty)")
    size = STATS_MAX_PIXEL_IDS
    return [unique[n : n + size] for n in range(0, len(unique), size)]


def stats_query(advertiser_id: str, pixel_ids: Sequence[str], day: dt.date) -> dict[str, str]:
    """The query parameters of one day's statistics, as TikTok's own SDK sends them."""
    iso = day.isoformat()
    return {
        "advertiser_id": advertiser_id,
        "pixel_ids": json.dumps(list(pixel_ids)),
        "date_range": json.dumps({"start_date": iso, "end_date": iso}),
    }


def parse_stats(data: Mapping[str, Any], day: dt.date) -> tuple[list[DailyCount], int]:
    """The DailyCounts of one answer's `data` (for a request of one day), and how many rows it
    could not read (see the module's documentation)."""
    counts: list[DailyCount] = []
    unreadable = 0
    for pixel, row in _rows(data):
        name = next((row[f] for f in _NAME_FIELDS if isinstance(row.get(f), str) and row[f]), None)
        server = _number(row.get("server_event_total_count"))
        browser = _number(row.get("browser_event_total_count"))
        total = _number(row.get("total_count"))
        if total is None:
            total = _number(row.get("count"))
        if total is None and (server is not None or browser is not None):
            total = (server or 0) + (browser or 0)
        source = pixel or row.get("pixel_id") or row.get("pixel_code")
        if name is None or total is None or not isinstance(source, str):
            unreadable += 1
            continue
        counts.append(DailyCount(source, name, _day_of(row) or day, total, server, browser))
    return counts, unreadable


def _rows(data: Mapping[str, Any]) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """(pixel id, one statistics row) of an answer, nested under each pixel or flat."""
    entries = data.get("list")
    if not isinstance(entries, list):
        entries = data.get("stats")
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        statistics = entry.get("statistics")
        if isinstance(statistics, list):
            pixel = entry.get("pixel_id") or entry.get("pixel_code")
            for row in statistics:
                if isinstance(row, Mapping):
                    yield (str(pixel) if pixel is not None else None), row
        else:
            yield None, entry


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _day_of(row: Mapping[str, Any]) -> dt.date | None:
    for name in _DAY_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


def permission_error(
    error: PermissionDeniedError, advertiser_id: str, pixel_ids: Sequence[str]
) -> PermissionDeniedError:
    """TikTok's refusal of the statistics (40001 no permission, 40003 forbidden, 40130 scope
    not authorized: TikTok's code table), saying what they need; code and request_id kept."""
    needed = (
        f"reading event statistics needs an access token authorized for advertiser "
        f"{advertiser_id} (TIKTOK_ADVERTISER_ID) with the Measurement permission scope (pixel "
        f"data: TikTok's SDK places pixel/event/stats/ in its MeasurementApi), and pixel(s) "
        f"{', '.join(pixel_ids)} owned by that advertiser; authorize the developer app on the "
        f"advertiser with that scope, or check TIKTOK_ADVERTISER_ID. TikTok said: "
        f"{error.message}"
    )
    refused = PermissionDeniedError(
        needed,
        code=error.code,
        request_id=error.request_id,
        http_status=error.http_status,
        retry_after=error.retry_after,
    )
    refused.attempts = error.attempts
    return refused


# -- the key an accepted event is counted under ----------------------------------------------


def count_key(top: Mapping[str, Any], event: Mapping[str, Any], now: float) -> CountKey | None:
    """The key one accepted event is counted under: its pixel (pixel_code) or event source
    (event_source_id; a request-level field, in top), its name, and the UTC day of its time
    (event_time, Unix seconds; or timestamp, ISO 8601), or of now when it has none that can be
    read as a day. None: no source or no name (such a body is not TikTok's to take)."""
    source = event.get("pixel_code") or top.get("pixel_code") or top.get("event_source_id")
    name = event.get("event")
    if not isinstance(source, str) or not isinstance(name, str):
        return None
    moment = _seconds(event.get("event_time"))
    if moment is None:
        moment = _iso_seconds(event.get("timestamp"))
    try:
        return source, name, _utc_day(int(moment // 86_400))  # type: ignore[operator]
    except (TypeError, ValueError, OverflowError):  # none, NaN, or past the year 9999
        return source, name, _utc_day(int(now // 86_400))


@functools.lru_cache(maxsize=64)
def _utc_day(days: int) -> str:
    """The UTC day that many days after 1970-01-01, as YYYY-MM-DD (a sender settles many
    events of the same few days: worked out once each)."""
    return (_EPOCH + dt.timedelta(days=days)).isoformat()


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _iso_seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def day_text(day: dt.date | str) -> str:
    """A day as the counts keep it (YYYY-MM-DD)."""
    return day if isinstance(day, str) else day.isoformat()
