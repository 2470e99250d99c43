"""The flags every `tailor` command shares, defined once: one flag for one concept, everywhere.

  -v / --verbose, -q / --quiet   log level (before or after COMMAND): default warnings and progress bars,
                                 -v INFO, -vv DEBUG, --quiet errors only and no progress bars
  --target, --timeout, --request-id    every command that calls an RPC
  --json                         print JSON to stdout (a file is --json-out FILE)
  --artifacts ROOT               the artifact root (ROOT/current); --rules FILE the rules file;
  --token-file FILE              the write token
  --user, --session, --page, --anchor, --channel, --query, --time, filters: one request's shopper and page

A renamed flag stays as a hidden alias (`deprecated_alias`) that still works and says what replaces it.
This module imports nothing heavy (protos/enums.py only): the builder's and the server's commands use it too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protos.enums import CHANNELS as _CHANNEL_WORDS
from protos.enums import PAGES as _PAGE_WORDS

__all__ = ["CHANNELS", "DEFAULT_TARGET", "PAGES", "DeprecatedAlias", "add_call_flags", "add_json_flag",
           "add_output_flags", "add_request_flags", "add_token_file_flag", "default_target", "deprecated_alias",
           "time_ms", "verbosity"]

DEFAULT_TARGET = "localhost:50051"
CHANNELS = _CHANNEL_WORDS[1:]  # the proto's values but UNSPECIFIED: web, app, email, store
PAGES = _PAGE_WORDS[1:]  # home, product, cart, search


class DeprecatedAlias(argparse.Action):
    """A hidden old name of a flag: stores into the new flag's dest and warns on stderr."""

    def __init__(self, option_strings: Sequence[str], dest: str, replacement: str = "", **kwargs: Any) -> None:
        self.replacement = replacement
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def deprecated_alias(p: argparse.ArgumentParser, old: str, new: str, **kwargs: Any) -> None:
    """Accept `old` as a hidden alias of the already defined flag `new` (same dest, same type)."""
    action = next(a for a in p._actions if new in a.option_strings)
    if action.type is not None:
        kwargs["type"] = action.type
    p.add_argument(old, action=DeprecatedAlias, dest=action.dest, replacement=new, default=argparse.SUPPRESS, **kwargs)


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """-v/--verbose and -q/--quiet: read by clients/tailor.py wherever they stand; --quiet also drops progress."""
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log lines on stderr: -v INFO, -vv DEBUG (default: warnings and progress)")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only: no progress bars, no log below ERROR")


def add_json_flag(p: argparse.ArgumentParser, what: str = "the answer") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout instead of a table")


def add_token_file_flag(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help=help or "file holding the server's write token (default $TAILOR_WRITE_TOKEN_FILE)")


def default_target() -> str:
    return os.environ.get("TAILOR_TARGET", DEFAULT_TARGET)


def add_call_flags(p: argparse.ArgumentParser, timeout: float) -> None:
    """--target, --timeout and --request-id: the flags of every command that calls an RPC."""
    p.add_argument("--target", default=default_target(), metavar="HOST:PORT",
                   help=f"the Tailor server (default $TAILOR_TARGET or {DEFAULT_TARGET})")
    p.add_argument("--timeout", type=float, default=timeout, metavar="SECONDS",
                   help=f"deadline of each call, seconds (default {timeout:g})")
    p.add_argument("--request-id", default="", metavar="ID",
                   help="sent with the call and echoed in the answer (Recommend: the same id draws the same "
                        "exploration slots)")


def add_request_flags(p: argparse.ArgumentParser) -> None:
    """Who asks and on what page: the flags recommend, rerank and rules preview share."""
    p.add_argument("--user", default="", help="user id (empty: an anonymous visitor)")
    p.add_argument("--session", default="", metavar="ITEM[:TYPE],...",
                   help="recent interactions ITEM[:view|cart|purchase],... oldest first")
    p.add_argument("--page", choices=PAGES, help="the page asked for (default unspecified; product with --anchor)")
    p.add_argument("--anchor", default="", metavar="ITEM", help="item shown on a product page")
    p.add_argument("--channel", choices=CHANNELS, help="where the shopper is (default unspecified)")
    p.add_argument("--query", default="", help="the shopper's search text (Context.query)")
    p.add_argument("--time", default="", metavar="ISO-8601",
                   help="the moment the decision is for, ISO-8601 (zone-less: UTC; default now)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("--brand", action="append", help="only this brand (repeatable)")
    p.add_argument("--min-price", type=float, default=0.0, metavar="PRICE", help="only items at this price or more")
    p.add_argument("--max-price", type=float, default=0.0, metavar="PRICE",
                   help="only items at this price or less (0: no limit)")
    p.add_argument("--in-stock", action="store_true", help="only items in stock")


def time_ms(text: str) -> int:
    """An ISO-8601 moment (a zone-less one is UTC) as epoch milliseconds; "" is 0 (now)."""
    if not text:
        return 0
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def verbosity(argv: Sequence[str]) -> tuple[int, bool]:
    """(count of -v, --quiet given) among `argv` up to a `--`, wherever they stand."""
    verbose, quiet = 0, False
    for token in argv:
        if token == "--":
            break
        if token == "--verbose":
            verbose += 1
        elif len(token) > 1 and token.startswith("-") and not token.startswith("--") and set(token[1:]) <= {"v", "q"}:
            verbose += token.count("v")
            quiet = quiet or "q" in token
        elif token == "--quiet":
            quiet = True
    return verbose, quiet
