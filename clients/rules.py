"""`tailor rules`: check a merchandising rules file, and preview what it does (docs/rules.md).

  tailor rules check --rules FILE [--artifacts ROOT]      (`tailor rules check FILE` works too)
  tailor rules preview --rules FILE --user U [--query Q --channel C --page P --anchor I --n N] [--target HOST:PORT]

`preview` takes the request flags recommend and rerank take (clients/flags.py).

`check` runs locally (the server's own parser; with --artifacts also against ROOT/current's catalog)
and exits 1 listing every problem. `preview` sends the draft to the server's PreviewRules RPC, which
compiles it for that call only, and prints the answer without and with the rules side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from clients.flags import add_call_flags, add_json_flag, add_output_flags, add_request_flags

if TYPE_CHECKING:  # `rules check` loads no gRPC: the client is imported by `rules preview` only
    from clients.client import Preview, ScoredItem

__all__ = ["main", "format_preview", "parser"]

_WIDTH = 44


def _check(args: argparse.Namespace) -> int:
    from server.merchandising.schema import check_rules_file  # the server's parser: loaded only for this subcommand

    path = args.rules or args.file
    if path is None or (args.rules and args.file and args.rules != args.file):
        print("tailor rules check: error: name the rules file once: --rules FILE (or FILE)", file=sys.stderr)
        return 2
    rule_file, problems = check_rules_file(path, args.artifacts)
    if rule_file is None:
        for problem in problems:
            print(f"{path}: {problem}")
        print(f"{path}: {len(problems)} problem(s); nothing changed", file=sys.stderr)
        return 1
    against = f", checked against {args.artifacts}" if args.artifacts else " (names not checked: no --artifacts)"
    print(f"{path}: ok, {len(rule_file.rules)} rule(s), version {rule_file.version}{against}")
    return 0


def _rule_of(item: ScoredItem) -> tuple[str, str]:
    """The rule named in an item's reasons and its text ("" when none)."""
    return next(((r.rule, r.text) for r in item.reasons if r.code == "rule"), ("", ""))


def _mark(item: ScoredItem, rank: int, before: dict[str, int]) -> str:
    """How a rule moved this item: pinned, new, up / down k, or nothing."""
    rule, text = _rule_of(item)
    was = before.get(item.item_id)
    if text.startswith("Pinned"):
        move = "pinned"
    elif was is None:
        move = "new"
    elif was != rank:
        move = f"{'up' if was > rank else 'down'} {abs(was - rank)}"
    else:
        move = ""
    return f"{move} ({rule})" if rule and move else (f"[{rule}]" if rule else move)


def _cell(item: ScoredItem | None) -> str:
    if item is None:
        return ""
    text = f"{item.item_id} {item.title or item.category}"
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def format_preview(preview: Preview, who: str) -> str:
    """Without / with side by side, each moved item marked with its move and the rule that made it."""
    before = {item.item_id: rank for rank, item in enumerate(preview.without_rules, 1)}
    after = {item.item_id for item in preview.with_rules}
    personal = "personal" if preview.personal else "NOT personal (unknown user, no consent, or no user and session)"
    lines = [f"artifact {preview.version}, rules {preview.rules_version or 'none'}; {who}: {personal}",
             f"{'#':>3}  {'without rules':<{_WIDTH}}  {'with rules':<{_WIDTH}}  rule effect"]
    for rank in range(1, max(len(preview.without_rules), len(preview.with_rules)) + 1):
        left = preview.without_rules[rank - 1] if rank <= len(preview.without_rules) else None
        right = preview.with_rules[rank - 1] if rank <= len(preview.with_rules) else None
        mark = _mark(right, rank, before) if right is not None else ""
        lines.append(f"{rank:>3}  {_cell(left):<{_WIDTH}}  {_cell(right):<{_WIDTH}}  {mark}".rstrip())
    removed = [item.item_id for item in preview.without_rules if item.item_id not in after]
    if removed:
        lines.append(f"removed by the rules (excluded, capped or pushed below the top): {', '.join(removed)}")
    return "\n".join(lines)


def _preview(args: argparse.Namespace) -> int:
    try:
        draft = args.rules.read_text(encoding="utf-8") if args.rules else ""
    except OSError as exc:
        print(f"tailor rules preview: error: {exc}", file=sys.stderr)
        return 2
    from clients.client import TailorClient
    from clients.commands import request_arguments
    from clients.errors import TailorClientError, describe

    items = [i for i in (args.items or "").split(",") if i]
    try:
        with TailorClient(args.target, timeout=args.timeout) as client:
            preview = client.preview_rules(
                draft, args.n, candidates=[(item, float(len(items) - k)) for k, item in enumerate(items)],
                no_exploration=args.no_exploration, **request_arguments(args))
    except TailorClientError as exc:
        print(f"tailor rules preview: error: {describe(exc, args.target)}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"tailor rules preview: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(preview), indent=1))
    else:
        print(format_preview(preview, f"user {args.user}" if args.user else "anonymous visitor"))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor rules", description="Check and preview merchandising rules.")
    p.add_argument("command", help=argparse.SUPPRESS)
    add_output_flags(p)  # `tailor rules -v check ...` too
    sub = p.add_subparsers(dest="action", required=True, metavar="{check,preview}")
    check = sub.add_parser("check", help="list every problem of a rules file (exit 1 if any)",
                           description="List every problem of a rules file (exit 1 if any).")
    check.add_argument("--rules", type=Path, metavar="FILE", help="the rules file to check")
    check.add_argument("file", type=Path, nargs="?", metavar="FILE", help="the same, given positionally")
    check.add_argument("--artifacts", type=Path, metavar="ROOT", help="also check names against ROOT/current's catalog")
    add_output_flags(check)
    preview = sub.add_parser("preview", help="a call answered without and with a draft rules file",
                             description="A Recommend (or, with --items, Rerank) call answered without and with a "
                                         "draft rules file, side by side.")
    preview.add_argument("--rules", type=Path, metavar="FILE",
                         help="the draft (default: the rules in force on the server)")
    preview.add_argument("--items", metavar="A,B,C", help="preview a Rerank of these candidates (best first) instead")
    preview.add_argument("--n", type=int, default=10, help="how many items (default 10)")
    preview.add_argument("--no-exploration", action="store_true",
                         help="leave the explore slots out (both answers draw the same ones otherwise)")
    add_request_flags(preview)
    add_call_flags(preview, timeout=5.0)
    add_json_flag(preview, "both answers (every field)")
    add_output_flags(preview)
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    return _check(args) if args.action == "check" else _preview(args)
