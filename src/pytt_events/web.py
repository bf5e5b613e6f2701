"""What a web request tells about the event it causes: the client IP, the user agent, the
ttclid (TikTok's click ID), the `_ttp` cookie, the page URL and referrer. For Django,
Flask/Werkzeug and Starlette/FastAPI requests, told apart by type (each framework is an
optional extra: `pytt-events-api[django]`, `[flask]`, `[fastapi]`).

    from pytt_events.web import from_request, persist_ttclid

    fields = from_request(request)                  # {"user": {...}, "page": {...}}
    sender.track(fields.merged({"event": "Purchase", "event_time": now,
                                "user": {"email": ...}, "properties": {...}}))   # Events 2.0
    Context(**from_request(request).context())      # Events 1.0

`fields.merged(event)` merges `user` and `page` key by key (the event's own values win);
`{**fields, "user": {...}}` would replace the request's whole `user` (its IP, user agent, ...).

    response = persist_ttclid(request, response)    # on the landing page: keep the ttclid

The ttclid comes from the URL's `ttclid=` query, or else from the first-party cookie
`persist_ttclid` sets on the landing page, so a later checkout request still has it (what
Meta's param builder does for fbc). The client IP is the connection's peer: `X-Forwarded-For`
is never trusted unless `trusted_proxies` says how many proxies of yours stand in front.

The page URL and referrer go as the browser sent them (as TikTok's pixel sends them), except
for query parameters that carry raw personal data, which TikTok must only receive hashed: a
value shaped like an email address or an international phone number (+ and 8 to 15 digits),
or a parameter whose name holds one of PERSONAL_QUERY_WORDS (email, phone, ...: `billing_phone`,
`phoneNumber`, `email[]`), is left out, and so is a path segment or fragment shaped like an
address or number. Names, street addresses and other free text cannot be told by their shape:
keep them out of URLs.

The rule is the schema's (`x-normalize: url` on page.url and page.referrer, written once in
pytt_events._hashing.without_personal_query): every event passes it when its model is built,
whatever sends it. `keep_personal_query=True` keeps the whole URL in the RequestFields, for
the application's own use; the event built from them still loses those parameters.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytt_events._constants import TTCLID_COOKIE, TTCLID_MAX_AGE
from pytt_events._constants import TTP_COOKIE as _TTP_COOKIE
from pytt_events._hashing import PERSONAL_QUERY_WORDS, without_personal_query, without_query

__all__ = [
    "PERSONAL_QUERY_WORDS",
    "TTCLID_COOKIE",
    "TTCLID_MAX_AGE",
    "RequestFields",
    "client_ip",
    "from_request",
    "persist_ttclid",
    "without_personal_query",
]


@dataclass(frozen=True)
class RequestFields(Mapping[str, Any]):
    """The event fields of one request. As a mapping it is an Events 2.0 event's `user` and
    `page` (merge it into an event with `.merged(event)`); `.context()` is the Events 1.0
    Context. Absent values are left out. Its repr shows which values are present, never the
    IP, the click ID, the cookie or a URL's query."""

    ip: str | None = field(repr=False)
    user_agent: str | None
    ttclid: str | None = field(repr=False)
    ttp: str | None = field(repr=False)
    url: str | None = field(repr=False)
    referrer: str | None = field(repr=False)

    def __repr__(self) -> str:
        def bare(url: str | None) -> str | None:  # no query, fragment or user:password@
            if url is None:
                return None
            return re.sub(r"//[^/@]*@", "//", without_query(url))

        present = [name for name in ("ip", "ttclid", "ttp") if getattr(self, name)]
        return (
            f"RequestFields(user_agent={self.user_agent!r}, url={bare(self.url)!r}, "
            f"referrer={bare(self.referrer)!r}, present={present})"
        )

    def merged(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of an Events 2.0 event (a dict) with the request's `user` and `page` merged
        in key by key: a value the event has already wins."""
        merged = dict(event)
        for part, found in self._track().items():
            own = event.get(part)
            merged[part] = {**found, **own} if isinstance(own, Mapping) else own or found
        return merged

    def _track(self) -> dict[str, Any]:
        user = {
            key: value
            for key, value in (
                ("ip", self.ip),
                ("user_agent", self.user_agent),
                ("ttclid", self.ttclid),
                ("ttp", self.ttp),
            )
            if value
        }
        page = {k: v for k, v in (("url", self.url), ("referrer", self.referrer)) if v}
        return {key: value for key, value in (("user", user), ("page", page)) if value}

    def __getitem__(self, key: str) -> Any:
        return self._track()[key]

    def __iter__(self) -> Any:
        return iter(self._track())

    def __len__(self) -> int:
        return len(self._track())

    def context(self) -> dict[str, Any]:
        """The Events 1.0 Context fields: ip, user_agent, ad.callback, page, user.ttp."""
        found: dict[str, Any] = {}
        if self.ip:
            found["ip"] = self.ip
        if self.user_agent:
            found["user_agent"] = self.user_agent
        if self.ttclid:
            found["ad"] = {"callback": self.ttclid}
        page = {k: v for k, v in (("url", self.url), ("referrer", self.referrer)) if v}
        if page:
            found["page"] = page
        if self.ttp:
            found["user"] = {"ttp": self.ttp}
        return found


@dataclass(frozen=True)
class _View:
    """One framework's request, reduced to what the fields need."""

    peer: str | None
    forwarded_for: str | None
    user_agent: str | None
    url: str | None
    referrer: str | None
    query_ttclid: str | None
    cookies: Mapping[str, str]


def _framework(request: Any) -> str:
    for klass in type(request).__mro__:
        root = klass.__module__.split(".", 1)[0]
        if root in ("django", "werkzeug", "flask", "starlette", "fastapi"):
            return {"flask": "werkzeug", "fastapi": "starlette"}.get(root, root)
    raise TypeError(
        f"not a Django, Flask/Werkzeug or Starlette/FastAPI request: {type(request).__name__}"
    )


def _view(request: Any) -> _View:
    framework = _framework(request)
    if framework == "django":
        meta = request.META
        return _View(
            meta.get("REMOTE_ADDR"),
            meta.get("HTTP_X_FORWARDED_FOR"),
            meta.get("HTTP_USER_AGENT"),
            request.build_absolute_uri(),
            meta.get("HTTP_REFERER"),
            request.GET.get("ttclid"),
            request.COOKIES,
        )
    if framework == "werkzeug":
        return _View(
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            request.headers.get("User-Agent"),
            request.url,
            request.headers.get("Referer"),
            request.args.get("ttclid"),
            request.cookies,
        )
    client = getattr(request, "client", None)
    return _View(
        client.host if client is not None else None,
        request.headers.get("x-forwarded-for"),
        request.headers.get("user-agent"),
        str(request.url),
        request.headers.get("referer"),
        request.query_params.get("ttclid"),
        request.cookies,
    )


def _is_ip(value: str | None) -> bool:
    if not value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's address: the connection's peer, or, behind trusted_proxies proxies of
    yours, the address the outermost of them saw (X-Forwarded-For, counted from the right,
    where your proxies append)."""
    if trusted_proxies > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            candidate = hops[-trusted_proxies]
            if _is_ip(candidate):
                return candidate
    return peer if _is_ip(peer) else None


def from_request(
    request: Any, *, trusted_proxies: int = 0, keep_personal_query: bool = False
) -> RequestFields:
    """The event fields of a Django, Flask/Werkzeug or Starlette/FastAPI request.

    Args:
        trusted_proxies: how many proxies of yours stand in front of the application (a
            load balancer: 1). 0 (the default): X-Forwarded-For is ignored, as anyone can send
            it; the address is the connection's peer.
        keep_personal_query: keep the query parameters of the page URL and referrer that carry
            raw personal data in the RequestFields (by default they are left out: see
            without_personal_query). The event's
            model removes them all the same (the schema's x-normalize url): nothing raw is
            stored or sent.

    Raises:
        TypeError: the request is of none of these frameworks.
    """
    view = _view(request)
    ttclid = view.query_ttclid or view.cookies.get(TTCLID_COOKIE) or None
    return RequestFields(
        ip=client_ip(view.peer, view.forwarded_for, trusted_proxies),
        user_agent=view.user_agent or None,
        ttclid=ttclid,
        ttp=view.cookies.get(_TTP_COOKIE) or None,
        url=(view.url if keep_personal_query else without_personal_query(view.url)) or None,
        referrer=(view.referrer if keep_personal_query else without_personal_query(view.referrer))
        or None,
    )


def persist_ttclid(
    request: Any, response: Any, *, max_age: int = TTCLID_MAX_AGE, secure: bool = True
) -> Any:
    """Keep a landing page's ttclid (its URL's `ttclid=`) in a first-party cookie on the
    response, so later requests of the same browser still have it; returns the response.
    Nothing is set when the URL has none.

    Raises:
        TypeError: the request is of none of the supported frameworks.
    """
    ttclid = _view(request).query_ttclid
    if ttclid:
        response.set_cookie(
            TTCLID_COOKIE, ttclid, max_age=max_age, secure=secure, httponly=True, samesite="Lax"
        )
    return response
