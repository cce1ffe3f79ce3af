"""The `cpemu` command (fixed contract 3 in DESIGN.md): the parser and entry point are in
`cp.cli.main`, the verbs in the modules it names."""

from __future__ import annotations

from cp.cli.main import main

__all__ = ["main"]
