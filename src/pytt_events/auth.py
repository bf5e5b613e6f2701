"""TikTokAuth: the access token, pixel and API settings, from the environment or a .env file.

Environment variables (keyword arguments override them, and they override a .env file):

    TIKTOK_ACCESS_TOKEN      required; printable ASCII; never shown by repr, str, model_dump,
                             errors or logs
    TIKTOK_PIXEL_ID          required
    TIKTOK_API_VERSION       default "v1.3"
    TIKTOK_TEST_EVENT_CODE   optional
    TIKTOK_API_BASE_URL      default "https://business-api.tiktok.com/open_api/"
    TIKTOK_ADVERTISER_ID     optional; the advertiser (ad account) whose event statistics are
                             read back (GET pixel/event/stats/: `pytt-events stats`,
                             TikTokEventsApi.event_stats); sending events never needs it
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from pydantic import (
    Field,
    StringConstraints,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from pytt_events._constants import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from pytt_events._marks import scrub

# One copy of the original package's documentation spells the variable this way.
_MISSPELLED_TOKEN = "TIKTOK_ACESS_TOKEN"  # noqa: S105 - a variable name


class TikTokAuth(BaseSettings):
    """The credentials and endpoint settings for TikTok's Events API.

    Raises:
        pydantic.ValidationError: a required setting is missing (every missing variable is
            named) or a value is invalid. Input values are never shown in the message.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
        frozen=True,
    )

    # An HTTP header value: printable ASCII without spaces. Anything else would fail (or be
    # echoed) deep in the HTTP stack; it is refused here, by a message that does not repeat it.
    TIKTOK_ACCESS_TOKEN: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"^[!-~]+$")
    ] = Field(repr=False)
    TIKTOK_PIXEL_ID: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    TIKTOK_TEST_EVENT_CODE: str | None = None
    TIKTOK_ADVERTISER_ID: Annotated[str, StringConstraints(strip_whitespace=True)] | None = None
    TIKTOK_API_VERSION: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4)] = (
        DEFAULT_API_VERSION
    )
    TIKTOK_API_BASE_URL: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^https?://")
    ] = DEFAULT_BASE_URL
    # Read only to accept the misspelling with a DeprecationWarning; always emptied.
    TIKTOK_ACESS_TOKEN: str | None = Field(default=None, repr=False, exclude=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            scrubbed = scrub(error)
        else:
            return
        del values  # no frame of the traceback keeps the token
        raise scrubbed  # errors() and json() without the values, and nothing chained

    @model_validator(mode="before")
    @classmethod
    def _accept_misspelled_token(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get(_MISSPELLED_TOKEN) is None:
            return data
        data = dict(data)
        misspelled = data.pop(_MISSPELLED_TOKEN)
        if data.get("TIKTOK_ACCESS_TOKEN") is None:
            warnings.warn(
                f"{_MISSPELLED_TOKEN} is a misspelling: set TIKTOK_ACCESS_TOKEN instead",
                DeprecationWarning,
                stacklevel=2,
            )
            data["TIKTOK_ACCESS_TOKEN"] = misspelled
        return data

    @property
    def base_url(self) -> str:
        """TIKTOK_API_BASE_URL, ending in '/'."""
        return self.TIKTOK_API_BASE_URL.rstrip("/") + "/"

    def endpoint_url(self, endpoint: str) -> str:
        """The URL of an endpoint ("pixel/track/") for this base URL and API version."""
        return f"{self.base_url}{self.TIKTOK_API_VERSION}/{endpoint.lstrip('/')}"

    @field_serializer("TIKTOK_ACCESS_TOKEN")
    def _masked_token(self, token: str) -> str:
        """model_dump() and model_dump_json() never carry the token (read the attribute)."""
        return "**********"

    def __str__(self) -> str:
        return self.__repr__()
