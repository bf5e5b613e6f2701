"""What reading stored payloads counts, in one shape for the two reports that count it:
validation.ValidationSummary (what validate_file found) and replay.SendReport (what send_file
did). Both read payloads from files, and both tell apart the same two kinds of payload that
cannot go to TikTok: a line or element that is not JSON at all (unreadable) and a payload the
schema refuses (invalid). Each report adds what only it counts (valid payloads and warnings;
events accepted and failed, requests).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PayloadCounts:
    """Counts over the stored payloads read: those that could not be read, and those refused
    as invalid (neither is sent). The base of ValidationSummary and SendReport."""

    #: Payloads refused as invalid (validate: an error; send: left out, not sent).
    invalid: int = 0
    #: Lines or elements that are not JSON at all (truncated, binary, a damaged gzip stream).
    unreadable: int = 0
