"""`tailor forget --user U`: forget one shopper at once (ForgetUser; docs/privacy.md).

  tailor forget --user U [--target HOST:PORT] [--token-file FILE] [--timeout S] [--request-id ID]

The token file (or $TAILOR_WRITE_TOKEN_FILE) holds the server's write token when it has one.
Idempotent: forgetting someone twice, or someone Tailor never knew, is fine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from clients.client import TailorClient, read_token_file
from clients.errors import InvalidArgument, TailorClientError, describe
from clients.flags import add_call_flags, add_output_flags, add_token_file_flag

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor forget", description="Forget one shopper on every worker, at once.")
    p.add_argument("command", help=argparse.SUPPRESS)
    p.add_argument("--user", required=True, help="user id")
    add_token_file_flag(p)
    add_call_flags(p, timeout=30.0)
    add_output_flags(p)
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        token = read_token_file(args.token_file)
        with TailorClient(args.target, timeout=args.timeout, write_token=token) as client:
            answer = client.forget_user(args.user, request_id=args.request_id)
    except InvalidArgument as exc:
        print(f"tailor forget: error: {exc.details}", file=sys.stderr)
        return 2
    except TailorClientError as exc:
        print(f"tailor forget: error: {describe(exc, args.target)}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"tailor forget: error: {exc}", file=sys.stderr)
        return 2
    if answer.already_forgotten:
        print("already forgotten: nothing changed")
    else:
        print(f"forgotten: {answer.live_events_deleted} live events deleted; the profile is no longer used or "
              "shown, and the next build leaves this shopper out")
    return 0
