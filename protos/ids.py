"""The id grammar shared by the builder and the server (item, user and session ids).

An id is 1-128 bytes of printable ASCII (0x21-0x7e): no whitespace, no control characters,
no non-ASCII letters. The server refuses any other id as INVALID_ARGUMENT, so the builder
refuses it too: an id that builds must be an id a caller can send back.
"""

from __future__ import annotations

import re

__all__ = ["ID", "IDS", "ID_PATTERN", "ID_RULE", "MAX_ID_BYTES"]

MAX_ID_BYTES = 128
# The pattern as text, for engines other than Python's `re` (pyarrow compute's RE2).
ID_PATTERN = r"^[\x21-\x7e]{1,128}$"
ID_RULE = "must be 1-128 printable ASCII characters without spaces"
# One id, and newline-joined ids (one regex pass checks a whole list).
ID = re.compile(rb"[\x21-\x7e]{1,128}")
IDS = re.compile(rb"[\x21-\x7e]{1,128}(?:\n[\x21-\x7e]{1,128})*")
