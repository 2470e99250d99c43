"""The `tailor` command: a table of subcommands, each owned by the package it belongs to.

  tailor [-v|-vv|--quiet] COMMAND [FLAGS...]   `tailor --help` lists the commands, `tailor COMMAND --help` its flags
  tailor --version

Only the chosen command's module is imported, so `tailor recommend` never loads the server,
the builder or FAISS. A command module has `main(argv) -> int`, where argv starts with the
command's name, and `parser()`, the argparse parser main uses (prog "tailor COMMAND"; a module of two
commands has one subparser each). Its flags come from clients/flags.py where they are shared.

Log handlers are configured here and nowhere else, before the command runs, from -v/--quiet wherever
they stand (before or after COMMAND): warnings by default (serve and bench: INFO, their log is their progress),
-v INFO, -vv DEBUG, --quiet errors only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from importlib import metadata

from clients.flags import verbosity

__all__ = ["COMMANDS", "command_parser", "log_level", "main"]

# name -> (module with main(argv), one line for `tailor --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("index_builder.build_command", "write a realistic demo store (items, users, events CSV)"),
    "build": ("index_builder.build_command", "build a new artifact version and make it current"),
    "import": ("index_builder.inputs.importers.import_command",
               "write builder inputs from a public data set (movielens)"),
    "serve": ("server.serve_command", "serve ROOT/current over gRPC"),
    "bench": ("loadtests.bench_command", "benchmark Tailor against a floor server"),
    "evaluate": ("loadtests.quality.evaluate.evaluate_command",
                 "offline accuracy of Tailor and baselines on a held-out split"),
    "experiments": ("loadtests.quality.experiments",
                    "experiment report: per variant click-through, conversion, revenue, lift"),
    "recommend": ("clients.commands", "ask for N products"),
    "rerank": ("clients.commands", "reorder candidate items (given best first)"),
    "segments": ("index_builder.reports.segments_command",
                 "customer segments: sizes, revenue, lifetime value, R x F grid"),
    "track": ("clients.track", "send a file of events (CSV or JSON lines) to the Events service"),
    "profile": ("clients.profile", "what Tailor knows of one shopper (segment, RFM, lifetime value, affinities)"),
    "forget": ("clients.forget", "forget one shopper at once, on every worker and in the next build"),
    "rules": ("clients.rules", "merchandising rules: check a rules file, preview it against a live server"),
}
# A server's log is its output, and a benchmark's phases are its progress: both log at INFO without -v.
_INFO_BY_DEFAULT = frozenset({"serve", "bench"})


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; messages are `event key=value ...` and hold no personal data."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "pid": record.process, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def log_level(command: str, verbose: int, quiet: bool) -> int:
    """The root log level of one run: --quiet ERROR, -vv DEBUG, -v INFO, else WARNING (serve, bench: INFO)."""
    if quiet:
        return logging.ERROR
    if verbose >= 2:
        return logging.DEBUG
    return logging.INFO if verbose == 1 or command in _INFO_BY_DEFAULT else logging.WARNING


def _configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("faiss.loader").setLevel(max(level, logging.WARNING))


def _version() -> str:
    try:
        return metadata.version("tailor")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<12}{text}" for name, (_, text) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="tailor", usage="%(prog)s [-h] [--version] [-v|-vv|-q] COMMAND [FLAGS...]",
        description="Tailor personalization decision server",
        epilog=f"commands:\n{listing}\n\n`tailor COMMAND --help` lists a command's flags; -v and -q may also "
               "follow COMMAND.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tailor {_version()}",
                        help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log lines on stderr: -v INFO, -vv DEBUG (default: warnings and progress)")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only: no progress bars, no log below ERROR")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="one of the commands below")
    parser.add_argument("flags", nargs=argparse.REMAINDER, metavar="FLAGS", help=argparse.SUPPRESS)
    return parser


def command_parser(command: str) -> argparse.ArgumentParser:
    """The argparse parser of one command, as `tailor COMMAND` parses it (imports that command's module)."""
    parser: argparse.ArgumentParser = importlib.import_module(COMMANDS[command][0]).parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]  # a module of two commands: this one's subparser
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `tailor [-v] COMMAND [FLAGS...]`: configure logging, import COMMAND's module, call its main."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    verbose, quiet = verbosity(args.flags)
    _configure_logging(log_level(args.command, args.verbose + verbose, args.quiet or quiet))
    flags = [*args.flags, *(["--quiet"] if args.quiet and not quiet else [])]  # `tailor -q build` drops progress too
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.main([args.command, *flags]))


if __name__ == "__main__":
    sys.exit(main())
