"""The errors of `cp.replay`, one root:

ReplayError                  anything the replay functions refuse or cannot answer
 ├── UnknownKind             a kind name not in the kinds table
 ├── ObjectNotFound          no version of the object in the (remaining) log
 └── RevisionUnavailable     a revision compacted away, or above the head
"""

from __future__ import annotations

__all__ = ["ObjectNotFound", "ReplayError", "RevisionUnavailable", "UnknownKind"]


class ReplayError(Exception):
    """Root of the replay errors; the message is meant for the user."""


class UnknownKind(ReplayError):
    """`kind` is not a name kubectl would accept for any kind cpemu serves."""


class ObjectNotFound(ReplayError):
    """The object has no version at the asked revision (or none at all in the log)."""


class RevisionUnavailable(ReplayError):
    """The revision was compacted away, or lies above the head of the log."""
