"""`tailor serve`: the online subcommand (assembled by clients/tailor.py).

  tailor serve --artifacts ROOT [--port 50051] [--workers N] [--metrics-port P] [--config tailor.toml]
               [--write-token-file FILE] [--rules rules.toml]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from server import ArtifactError, serve
from server.config import load_server_config
from server.rulebook import check_rules_file

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tailor serve", description="Serve ROOT/current over gRPC.")
    p.add_argument("--artifacts", type=Path, help="artifact root holding `current`")
    p.add_argument("--config", type=Path, help="TOML file with a [server] table (see tailor.example.toml)")
    p.add_argument("--port", type=int)
    p.add_argument("--host")
    p.add_argument("--workers", type=int, help="worker processes sharing the port (default: one per core)")
    p.add_argument("--threads", type=int, help="threads per worker")
    p.add_argument("--max-concurrent", type=int, help="calls in flight per worker before RESOURCE_EXHAUSTED")
    p.add_argument("--metrics-port", type=int, help="Prometheus /metrics port (0 = any free port; default: off)")
    p.add_argument("--write-token-file", type=Path,
                   help="file holding the bearer token TrackEvents and ForgetUser require (default: writes open)")
    p.add_argument("--rules", type=Path, help="merchandising rules file, reloaded when it changes (docs/rules.md)")
    return p


def main(argv: Sequence[str]) -> int:
    """Run `serve ...` (argv starts with the subcommand's name) until SIGTERM or Ctrl-C."""
    args = _parser().parse_args(argv[1:])
    flags = {"artifacts": args.artifacts, "port": args.port, "host": args.host, "threads": args.threads,
             "workers": args.workers, "metrics_port": args.metrics_port, "max_concurrent": args.max_concurrent,
             "write_token_file": args.write_token_file, "rules": args.rules}
    try:
        config = load_server_config(args.config, flags=flags)
        if config.rules is not None:  # refused at start; once serving, a bad edit is refused and the old rules stay
            _, problems = check_rules_file(config.rules, config.artifacts)
            if problems:
                raise ValueError(f"{config.rules}: {len(problems)} problem(s):\n" + "\n".join(map(str, problems)))
        serve(config)
    except (ArtifactError, ValueError) as exc:
        print(f"tailor serve: error: {exc}", file=sys.stderr)
        return 2
    return 0
