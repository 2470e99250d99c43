"""The `tailor` command: a table of subcommands, each owned by the package it belongs to.

  tailor [-v] COMMAND [flags...]     `tailor --help` lists the commands, `tailor COMMAND --help` its flags

Only the chosen command's module is imported, so `tailor recommend` never loads the server,
the builder or FAISS. A command module has `main(argv) -> int`, where argv starts with the
command's name, and parses its own flags (argparse, prog="tailor COMMAND"). Log handlers are
configured here and nowhere else.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

# name -> (module with main(argv), one line for `tailor --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("index_builder.cli", "write a realistic demo store (items, users, events CSV)"),
    "build": ("index_builder.cli", "build a new artifact version and make it current"),
    "import": ("index_builder.importers.cli", "write builder inputs from a public data set (movielens)"),
    "serve": ("server.cli", "serve ROOT/current over gRPC"),
    "bench": ("loadtests.cli", "benchmark Tailor against a floor server"),
    "evaluate": ("loadtests.evaluate.cli", "offline accuracy of Tailor and baselines on a held-out split"),
    "experiments": ("loadtests.experiments", "experiment report: per variant click-through, conversion, revenue, lift"),
    "recommend": ("clients.commands", "ask for N products"),
    "rerank": ("clients.commands", "reorder candidate items (given best first)"),
    "segments": ("index_builder.segments_cli", "customer segments: sizes, revenue, lifetime value, R x F grid"),
    "track": ("clients.track", "send a file of events (CSV or JSON lines) to the Events service"),
    "profile": ("clients.profile", "what Tailor knows of one shopper (segment, RFM, lifetime value, affinities)"),
    "forget": ("clients.forget", "forget one shopper at once, on every worker and in the next build"),
    "rules": ("clients.rules", "merchandising rules: check a rules file, preview it against a live server"),
}
# Long-running commands log progress at INFO without -v.
_VERBOSE_BY_DEFAULT = frozenset({"serve", "build", "bench"})


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; messages are `event key=value ...` and hold no personal data."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "pid": record.process, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<12}{text}" for name, (_, text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="tailor", usage="%(prog)s [-h] [-v] COMMAND [FLAGS...]",
        description="Tailor personalization decision server",
        epilog=f"commands:\n{listing}\n\n`tailor COMMAND --help` lists a command's flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (JSON lines on stderr)")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of the commands below")
    parser.add_argument("flags", nargs=argparse.REMAINDER, metavar="FLAGS", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `tailor [-v] COMMAND [FLAGS...]`: configure logging, import COMMAND's module, call its main."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    _configure_logging(args.verbose or args.command in _VERBOSE_BY_DEFAULT)
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.main([args.command, *args.flags]))


if __name__ == "__main__":
    sys.exit(main())
