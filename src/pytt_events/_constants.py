"""Every default and fixed number of the SDK, in one place (as in the Stainless SDKs'
_constants.py). Modules import them from here; none writes a second copy.

What the schema says (endpoints, per-request maximums, field limits) is not here: it is read
from the schema at run time (see _schema and _families).
"""

from __future__ import annotations

from importlib import metadata

try:
    #: The installed package's version (the User-Agent carries it).
    VERSION = metadata.version("pytt-events-api")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0"

#: The API version used when neither TIKTOK_API_VERSION nor api_version says otherwise.
DEFAULT_API_VERSION = "v1.3"
#: TikTok's Business API root; TIKTOK_API_BASE_URL replaces it (the sandbox, a proxy).
DEFAULT_BASE_URL = "https://business-api.tiktok.com/open_api/"
#: Sent with every request.
USER_AGENT = f"pytt-events-api/{VERSION}"

#: Seconds to wait for TikTok per attempt.
DEFAULT_TIMEOUT = 10.0
#: Retries after the first attempt, the cap of the first backoff wait, the cap of any backoff
#: wait, and the longest Retry-After honoured (seconds): see RetryPolicy.
DEFAULT_MAX_RETRIES = 3
DEFAULT_INITIAL_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0
DEFAULT_MAX_RETRY_AFTER = 60.0
#: Requests of one bulk send in flight at once.
DEFAULT_CONCURRENCY = 4
#: The most bytes one request body may carry, as sent (compact JSON, UTF-8): past it, the
#: planner starts a new request, and an event whose own body is larger is refused, naming it.
#: TikTok states no size limit. Tealium's TikTok Events connector caps its batched requests at
#: 1 MB ("Max size of requests: 1 MB", docs.tealium.com/server-side-connectors/
#: tiktok-events-connector, Batch Limits): the one figure a production TikTok integration
#: documents, read as 1,000,000 bytes (the smaller reading). A full request of 1,000 typical
#: events (some 660 bytes each, hashed) stays within it.
REQUEST_BYTE_BUDGET = 1_000_000
#: Stored payloads read and sent at a time by send_file (memory stays bounded by it).
DEFAULT_BATCH_SIZE = 10_000

#: TikTok's code for "partial success": the request was taken, some of its events were
#: rejected. It does not raise.
PARTIAL_SUCCESS = 20001
#: The codes a multi-event request may be refused with because of one of its events (40002,
#: 40700), or because it is too big (40061): worth sending again in parts. Others (a wrong
#: partner_name, unhashed data everywhere) are about the request: every part would fail too.
ISOLATED_CODES = frozenset({40002, 40061, 40700})
#: How many bad events per request isolation looks for before it gives up on the rest: the
#: extra requests stay within 2·k·log2(n) for k up to this many.
MAX_ISOLATED = 8
#: TikTok deduplicates an event_id within this many seconds (48 hours): an event sent again
#: later may be counted twice.
DEDUP_WINDOW_SECONDS = 48 * 3600
