"""A local emulation of TikTok's Events API, for tests and for trying the SDK without an account.

    with SandboxServer() as sandbox:            # a real HTTP server on 127.0.0.1, any free port
        auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=sandbox.access_token, TIKTOK_PIXEL_ID="PIXEL",
                          TIKTOK_API_BASE_URL=sandbox.base_url)
        TikTokEventsApi().post_event(event, auth=auth)
        sandbox.received[-1].body               # what "TikTok" got

It serves POST /open_api/<version>/<endpoint> for every request family of every schema in this
build, checks the Access-Token header, validates the body against the same schema the models
come from, records what it received, and answers as TikTok does: HTTP 200 and
{"code", "message", "request_id", "data"}; 40105 for a missing or wrong token, 40002 naming
the field for a body that fails the schema (or, by default, carries unhashed personal data).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from pytt_events import _schema
from pytt_events.validation import validate_payload

__all__ = ["DEFAULT_ACCESS_TOKEN", "ReceivedRequest", "Sandbox", "SandboxServer"]

DEFAULT_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105 - the sandbox's, not a secret
_PREFIX = "/open_api/"
_MAX_PROBLEMS_IN_MESSAGE = 5
# How often the serving thread checks for stop(): short, so tests start and stop it quickly.
_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sandbox received, and the code it answered."""

    path: str
    api_version: str | None
    family: str | None
    body: Any
    code: int
    request_id: str
    headers: Mapping[str, str] = field(repr=False)

    @property
    def events(self) -> list[Any]:
        """The events the body carried (one for a single-event body)."""
        if not isinstance(self.body, dict):
            return []
        for key in ("batch", "data"):
            if isinstance(self.body.get(key), list):
                return list(self.body[key])
        return [self.body]


class Sandbox:
    """The emulator's logic, with no I/O: `handle()` maps a request to TikTok's answer."""

    def __init__(
        self, access_token: str = DEFAULT_ACCESS_TOKEN, *, require_hashed: bool = True
    ) -> None:
        self.access_token = access_token
        self.require_hashed = require_hashed
        self.received: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def accepted_events(self) -> list[Any]:
        """Every event of every request answered with code 0 or 20001, in arrival order."""
        with self._lock:
            requests = list(self.received)
        return [
            event for request in requests if request.code in (0, 20001) for event in request.events
        ]

    def reset(self) -> None:
        """Forget what was received."""
        with self._lock:
            self.received.clear()

    def _route(self, path: str) -> tuple[str | None, str | None]:
        if not path.startswith(_PREFIX):
            return None, None
        version, _, endpoint = path.removeprefix(_PREFIX).partition("/")
        if version not in _schema.known_versions():
            return version, None
        wanted = endpoint.strip("/")
        for family in _schema.families(version).values():
            if family.endpoint.strip("/") == wanted:
                return version, family.name
        return version, None

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON envelope TikTok would answer to this request."""
        status, envelope, _ = self._handle(method, path, headers, body)
        return status, envelope

    def _handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any], ReceivedRequest]:
        request_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{next(self._ids):012X}"
        path = path.split("?", 1)[0]
        version, family = self._route(path)
        lowered = {key.lower(): value for key, value in headers.items()}
        payload: Any = None
        status = 200
        if method != "POST":
            status, code, message = 405, 40000, f"{method} is not supported; use POST"
        elif family is None:
            status, code = 404, 40400
            message = f"no such endpoint: {path}"
        else:
            code, message, payload = self._check(version or "", family, lowered, body)
        record = ReceivedRequest(
            path=path,
            api_version=version,
            family=family,
            body=payload,
            code=code,
            request_id=request_id,
            headers={k: v for k, v in lowered.items() if k != "access-token"},
        )
        with self._lock:
            self.received.append(record)
        envelope = {"code": code, "message": message, "request_id": request_id, "data": {}}
        return status, envelope, record

    def _check(
        self, version: str, family: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str, Any]:
        token = headers.get("access-token")
        if not token:
            return 40105, "Access token is null, please check your Access-Token header.", None
        if token != self.access_token:
            return 40105, "Access token is incorrect or has been revoked.", None
        try:
            payload = json.loads(body)
        except ValueError:
            return 40002, "The request body is not valid JSON.", None
        problems = validate_payload(
            payload, family, api_version=version, require_hashed=self.require_hashed
        )
        if problems:
            shown = "; ".join(
                f"{problem.path.strip('/').replace('/', '.') or '<body>'}: {problem.message}"
                for problem in problems[:_MAX_PROBLEMS_IN_MESSAGE]
            )
            more = len(problems) - _MAX_PROBLEMS_IN_MESSAGE
            if more > 0:
                shown += f"; and {more} more"
            return 40002, shown, payload
        return 0, "OK", payload


class SandboxServer(Sandbox):
    """The sandbox behind a real HTTP server on 127.0.0.1 (port 0: any free port), served from
    a background thread. Use it as a context manager, or call start() and stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        *,
        require_hashed: bool = True,
        on_request: Callable[[ReceivedRequest], None] | None = None,
    ) -> None:
        super().__init__(access_token, require_hashed=require_hashed)
        self._address = (host, port)
        self._on_request = on_request
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start()")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The value for TIKTOK_API_BASE_URL: http://127.0.0.1:<port>/open_api/."""
        return f"http://{self._address[0]}:{self.port}{_PREFIX}"

    def start(self) -> SandboxServer:
        """Start serving in a background thread; returns self."""
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(self._address, _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="pytt-events-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        if self._server is None:
            self._server = ThreadingHTTPServer(self._address, _handler_for(self))
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _notify(self, record: ReceivedRequest) -> None:
        if self._on_request is not None:
            self._on_request(record)


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "pytt-events-sandbox"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, envelope, record = sandbox._handle(
                self.command, self.path, dict(self.headers), body
            )
            content = json.dumps(envelope).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            sandbox._notify(record)

        do_POST = _answer  # noqa: N815 - http.server's naming
        do_GET = _answer  # noqa: N815
        do_PUT = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the sandbox's own records say what happened."""

    return Handler
