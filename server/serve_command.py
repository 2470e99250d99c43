"""`tailor serve`: the online subcommand (assembled by clients/tailor.py).

  tailor serve --artifacts ROOT [--port 50051] [--workers N] [--metrics-port P] [--config tailor.toml]
               [--token-file FILE] [--rules rules.toml]

ROOT must hold a built version (`ROOT/current`, made by `tailor build --artifacts ROOT`): it is checked
before anything is created under ROOT, so a mistyped root fails at once and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from clients.flags import add_output_flags, add_token_file_flag, deprecated_alias
from server import ArtifactError, serve
from server.merchandising.schema import check_rules_file
from server.runtime.config import load_server_config
from server.runtime.snapshot import resolve_current

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor serve", description="Serve ROOT/current over gRPC.")
    p.add_argument("--artifacts", type=Path, metavar="ROOT", help="artifact root holding `current`")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="TOML file with a [server] table (see tailor.example.toml)")
    p.add_argument("--port", type=int, help="port to listen on (default 50051; 0: any free port, logged)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--workers", type=int, help="worker processes sharing the port (default: one per core)")
    p.add_argument("--threads", type=int, help="threads per worker")
    p.add_argument("--max-concurrent", type=int, metavar="N",
                   help="calls in flight per worker before RESOURCE_EXHAUSTED")
    p.add_argument("--metrics-port", type=int, metavar="PORT",
                   help="Prometheus /metrics port (0 = any free port; default: off)")
    add_token_file_flag(p, "file holding the bearer token TrackEvents and ForgetUser require (default: writes open)")
    deprecated_alias(p, "--write-token-file", "--token-file")
    p.add_argument("--rules", type=Path, metavar="FILE",
                   help="merchandising rules file, reloaded when it changes (docs/rules.md)")
    add_output_flags(p)
    return p


def _check_root(root: Path) -> None:
    """Refuse a root without a built version before anything (the live store, ROOT/live) is made there."""
    try:
        resolve_current(root)
    except ArtifactError as exc:
        hint = "the directory does not exist" if not root.exists() else f"{root / 'current'} is missing"
        raise ArtifactError(f"{root}: no built artifact version there ({hint}). Build one with "
                            f"`tailor build --data DIR --artifacts {root}`, or name the right root with "
                            "--artifacts") from exc


def main(argv: Sequence[str]) -> int:
    """Run `serve ...` (argv starts with the subcommand's name) until SIGTERM or Ctrl-C."""
    args = parser().parse_args(argv[1:])
    flags = {"artifacts": args.artifacts, "port": args.port, "host": args.host, "threads": args.threads,
             "workers": args.workers, "metrics_port": args.metrics_port, "max_concurrent": args.max_concurrent,
             "write_token_file": args.token_file, "rules": args.rules}
    try:
        config = load_server_config(args.config, flags=flags)
        _check_root(config.artifacts)
        if config.rules is not None:  # refused at start; once serving, a bad edit is refused and the old rules stay
            _, problems = check_rules_file(config.rules, config.artifacts)
            if problems:
                raise ValueError(f"{config.rules}: {len(problems)} problem(s):\n" + "\n".join(map(str, problems)))
        serve(config)
    except (ArtifactError, ValueError) as exc:
        print(f"tailor serve: error: {exc}", file=sys.stderr)
        return 2
    return 0
