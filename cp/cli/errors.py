"""The client-side error of the `cpemu` command."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A client-side error: printed as `error: <message>`, exit code 1."""
