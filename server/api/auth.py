"""The write token: TrackEvents and ForgetUser need `authorization: Bearer <token>` metadata when the
server has one (`write_token_file`); Decision calls (reads) never do.

The token is read once, at start, from a file (stripped of surrounding whitespace). A presented token
is compared in constant time (hmac.compare_digest on bytes), so the answer's timing tells nothing of
how much of it matched. The token is never logged.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from pathlib import Path

from server.errors import Unauthenticated

__all__ = ["read_write_token", "check_bearer"]

_TOKEN = re.compile(rb"[\x21-\x7e]+")  # printable ASCII without spaces: what a metadata value can carry
_SCHEME = "bearer "


def read_write_token(path: Path) -> bytes:
    """The token in `path`; raises ValueError naming the key `write_token_file` when the file cannot be
    read, is empty, or holds something a metadata value cannot carry."""
    try:
        token = path.read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"write_token_file: cannot read {path}: {exc.strerror or exc}") from exc
    if not token:
        raise ValueError(f"write_token_file: {path} is empty")
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"write_token_file: {path} must hold one token of printable ASCII without spaces")
    return token


def check_bearer(metadata: Iterable[tuple[str, str | bytes]] | None, token: bytes) -> None:
    """Raise Unauthenticated unless `metadata` carries `authorization: Bearer <token>`."""
    presented = b""
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value[:len(_SCHEME)].lower() == _SCHEME:
            presented = value[len(_SCHEME):].strip().encode("utf-8", "replace")
            break
    if not hmac.compare_digest(presented, token):
        raise Unauthenticated("authorization: a write call needs `authorization: Bearer <write token>`; "
                              "the token is missing or wrong")
