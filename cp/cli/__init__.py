"""The `cpemu` command (fixed contract 3 in DESIGN.md); the verbs live in `cp.cli.main`."""

from __future__ import annotations

from cp.cli.main import main

__all__ = ["main"]
