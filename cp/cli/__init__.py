"""The `cpemu` command (fixed contract 3 in DESIGN.md). Only `--help` exists so far."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpemu",
        description=(
            "An event-sourced emulator of the Kubernetes control plane. "
            "kubectl-style verbs on one SQLite state file arrive in a later release."
        ),
    )
    parser.add_argument(
        "--state",
        default="./.cpemu/state.db",
        help="SQLite state file of the emulated cluster (default: ./.cpemu/state.db)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cpemu` console script; returns the process exit code."""
    parser = _parser()
    parser.parse_args(argv)
    parser.print_help(sys.stdout)
    return 0
