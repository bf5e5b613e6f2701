"""An in-process httpx transport for tests and the sandbox: answers come from a handler
function (the sandbox's own), not the network; sync and async clients alike take it.

Beside _transport, the second module that imports httpx: the network's and the mock's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx


class SimulatedNetworkError(Exception):
    """Raised by a mock handler to make the mock transport fail like the network would."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


MockHandler = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


def mock_transport(handler: MockHandler) -> httpx.MockTransport:
    """An in-process transport (sync and async) answering with handler(method, path, headers,
    body) -> (status, headers, body). The handler raises SimulatedNetworkError("timeout") or
    SimulatedNetworkError("drop") to fail like a timed-out or dropped connection."""

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            status, headers, content = handler(
                request.method,
                request.url.raw_path.decode("ascii"),
                request.headers,
                request.content,
            )
        except SimulatedNetworkError as fault:
            if fault.kind == "timeout":
                raise httpx.ReadTimeout("sandbox: timeout", request=request) from None
            raise httpx.RemoteProtocolError(
                "sandbox: connection dropped", request=request
            ) from None
        return httpx.Response(status, headers=dict(headers), content=content)

    return httpx.MockTransport(handle)
