"""TikTokAuth: environment, .env file, keyword overrides, errors, and a token that never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pytt_events.auth import DEFAULT_BASE_URL, TikTokAuth

SECRET = "s3cr3t-token-value"


def test_reads_the_environment_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("TIKTOK_PIXEL_ID", "PIX")
    auth = TikTokAuth()
    assert auth.TIKTOK_ACCESS_TOKEN == SECRET
    assert auth.TIKTOK_PIXEL_ID == "PIX"
    assert auth.TIKTOK_API_VERSION == "v1.3"
    assert auth.TIKTOK_TEST_EVENT_CODE is None
    assert auth.TIKTOK_API_BASE_URL == DEFAULT_BASE_URL
    assert auth.endpoint_url("pixel/track/") == (
        "https://business-api.tiktok.com/open_api/v1.3/pixel/track/"
    )


def test_reads_a_dotenv_file_and_keywords_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        f"TIKTOK_ACCESS_TOKEN={SECRET}\nTIKTOK_PIXEL_ID=FROM_FILE\nTIKTOK_TEST_EVENT_CODE=T1\n"
        "TIKTOK_API_BASE_URL=http://127.0.0.1:9/open_api\n"
    )
    monkeypatch.setenv("TIKTOK_TEST_EVENT_CODE", "FROM_ENV")
    auth = TikTokAuth(TIKTOK_PIXEL_ID="FROM_KWARGS")
    assert auth.TIKTOK_ACCESS_TOKEN == SECRET
    assert auth.TIKTOK_PIXEL_ID == "FROM_KWARGS"
    assert auth.TIKTOK_TEST_EVENT_CODE == "FROM_ENV"
    assert auth.endpoint_url("/pixel/batch/") == "http://127.0.0.1:9/open_api/v1.3/pixel/batch/"


def test_one_error_names_every_missing_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        TikTokAuth()
    missing = {item["loc"][0] for item in caught.value.errors()}
    assert missing == {"TIKTOK_ACCESS_TOKEN", "TIKTOK_PIXEL_ID"}


def test_errors_never_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    with pytest.raises(ValidationError) as caught:
        TikTokAuth(TIKTOK_API_BASE_URL="not a url")
    assert SECRET not in str(caught.value)
    assert "TIKTOK_PIXEL_ID" in str(caught.value)


def test_token_never_shows_in_repr_or_str() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=SECRET, TIKTOK_PIXEL_ID="PIX")
    assert SECRET not in repr(auth)
    assert SECRET not in str(auth)
    assert SECRET not in f"{auth}"


def test_misspelled_variable_is_accepted_with_a_deprecation_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_ACESS_TOKEN", SECRET)
    monkeypatch.setenv("TIKTOK_PIXEL_ID", "PIX")
    with pytest.warns(DeprecationWarning, match="TIKTOK_ACCESS_TOKEN"):
        auth = TikTokAuth()
    assert auth.TIKTOK_ACCESS_TOKEN == SECRET


def test_correct_variable_wins_over_the_misspelled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_ACESS_TOKEN", "old")
    monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", SECRET)
    auth = TikTokAuth(TIKTOK_PIXEL_ID="PIX")
    assert auth.TIKTOK_ACCESS_TOKEN == SECRET
