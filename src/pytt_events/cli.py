"""The `pytt-events` command: run the sandbox, or a demo that needs no account."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from pytt_events import __version__
from pytt_events.testing import DEFAULT_ACCESS_TOKEN, ReceivedRequest, SandboxServer

_EXAMPLES_SANDBOX = """
\b
Examples:
  pytt-events sandbox --port 8080
  TIKTOK_API_BASE_URL=http://127.0.0.1:8080/open_api/ \\
  TIKTOK_ACCESS_TOKEN=sandbox-access-token TIKTOK_PIXEL_ID=PIXEL python my_app.py
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pytt-events")
def main() -> None:
    """pytt-events: TikTok Events API SDK tools.

    \b
    Examples:
      pytt-events demo                 send the Quick Start's event to a local sandbox
      pytt-events sandbox --port 8080  emulate TikTok's Events API on 127.0.0.1:8080
    """


@main.command(epilog=_EXAMPLES_SANDBOX)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free).")
@click.option(
    "--token",
    default=DEFAULT_ACCESS_TOKEN,
    show_default=True,
    help="The access token the sandbox accepts.",
)
@click.option(
    "--allow-unhashed",
    is_flag=True,
    help="Accept personal data that is not SHA-256-hashed (rejected by default).",
)
def sandbox(host: str, port: int, token: str, allow_unhashed: bool) -> None:
    """Emulate TikTok's Events API on this machine until interrupted (Ctrl-C).

    It checks the Access-Token header, validates every body against the schema and answers
    as TikTok does. One line per request is printed: path, code, events.
    """

    def report(record: ReceivedRequest) -> None:
        click.echo(
            f"{record.path} -> code {record.code} ({len(record.events)} event(s)) "
            f"request_id {record.request_id}"
        )

    server = SandboxServer(host, port, token, require_hashed=not allow_unhashed, on_request=report)
    server.start()
    click.echo(f"sandbox listening: TIKTOK_API_BASE_URL={server.base_url}")
    click.echo(f"accepted token:    TIKTOK_ACCESS_TOKEN={token}")
    try:
        assert server._thread is not None
        while server._thread.is_alive():
            server._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.stop()


@main.command()
@click.option("-v", "--verbose", is_flag=True, help="Also show the SDK's debug log.")
def demo(verbose: bool) -> None:
    """Send the Quick Start's event (once, then in bulk x3) to a local sandbox and show what
    TikTok would receive. Needs no account and no network."""
    from pytt_events.auth import TikTokAuth
    from pytt_events.tiktok_events_api import TikTokEventsApi

    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
    with SandboxServer() as server, TikTokEventsApi() as api:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=server.access_token,
            TIKTOK_PIXEL_ID="DEMO_PIXEL_CODE",
            TIKTOK_API_VERSION="v1.3",
            TIKTOK_TEST_EVENT_CODE="TEST12345",
            TIKTOK_API_BASE_URL=server.base_url,
        )
        click.echo(f"Sandbox running at {server.base_url} (nothing leaves this machine)\n")
        event = quick_start_event(auth.TIKTOK_PIXEL_ID, auth.TIKTOK_TEST_EVENT_CODE)

        response = api.post_event(event=event, auth=auth)
        click.echo(
            f"post_event          -> code {response.code} {response.message!r} "
            f"request_id {response.request_id}"
        )
        bulk = api.post_events_in_bulk(events=[event, event, event], auth=auth)
        click.echo(f"post_events_in_bulk -> code {bulk.code} {bulk.message!r}\n")

        for record in server.received:
            click.echo(f"TikTok received at {record.path} ({len(record.events)} event(s)):")
            click.echo(_indent(json.dumps(_shown(record.body), indent=2)))
            click.echo("")
        user = event.context.user if event.context else None
        if user is not None:
            from pytt_events._hashing import sha256_hex

            click.echo("Personal data left this machine only as SHA-256 of its normalized form:")
            for name in ("email", "phone_number", "external_id"):
                value = getattr(user, name)
                if value:
                    click.echo(
                        f"  context.user.{name:<12} sha256(normalized) = {sha256_hex(value)}"
                    )
    sys.stdout.flush()


def _shown(body: Any) -> Any:
    """A batch body with only its first item in full (the others are the same event)."""
    if isinstance(body, dict) and isinstance(body.get("batch"), list) and len(body["batch"]) > 1:
        rest = len(body["batch"]) - 1
        return {**body, "batch": [body["batch"][0], f"... and {rest} more like it"]}
    return body


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def quick_start_event(pixel_code: str, test_event_code: str | None) -> Any:
    """The event of the original package's Quick Start."""
    from pytt_events.context import Ad, Context, Page, User
    from pytt_events.event import Event
    from pytt_events.properties import Content, ContentType, Properties

    context = Context(
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/98.0.4758.109 Safari/537.36",
        ip="13.57.97.131",
        ad=Ad(callback="E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH"),
        page=Page(url="https://www.example.com", referrer="https://www.google.com"),
        user=User(
            external_id="123456",
            email="test@test.com",
            phone_number="+5541998862934",
            ttp="94e2a4j9-h3ss-k2h5-98cc-c84a745mk098",
        ),
    )
    properties = Properties(
        currency="BRL",
        value=1.00,
        description="mock description",
        query="mock query",
        status="mock status",
        contents=[
            Content(
                content_type=ContentType.PRODUCT,
                content_id="123456789",
                content_name="mock content name",
                content_category="mock content category",
                price=1.00,
                quantity=1,
            )
        ],
    )
    return Event(
        pixel_code=pixel_code,
        test_event_code=test_event_code,
        event="ViewContent",
        event_id="123456789",
        timestamp="2023-02-01T00:00:00-03:00",
        context=context,
        properties=properties,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
