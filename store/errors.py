"""The store's error tree. Every error the store raises is a `StoreError`::

    StoreError
    ├── KeyExists          create() of a key that is live
    ├── KeyNotFound        update()/delete() of a key that is not live
    ├── RevisionMismatch   compare-and-swap failed: the key's mod_revision is not `expected`
    ├── Compacted          a read, watch or replay below the compacted revision
    ├── FutureRevision     a read or compaction above the head revision
    ├── StoreClosed        use of a log after it was closed
    └── InvalidArgument    bad key, value, revision or URL, or a file that is not a cpemu log

A refused call writes nothing. The API layer maps these to Kubernetes errors, once.
"""

from __future__ import annotations

__all__ = [
    "Compacted",
    "FutureRevision",
    "InvalidArgument",
    "KeyExists",
    "KeyNotFound",
    "RevisionMismatch",
    "StoreClosed",
    "StoreError",
]


class StoreError(Exception):
    """Root of every error raised by `store`."""


class KeyExists(StoreError):
    """create() found the key live."""

    def __init__(self, key: str, revision: int) -> None:
        super().__init__(f"key {key!r} already exists (mod_revision {revision})")
        self.key = key
        self.revision = revision


class KeyNotFound(StoreError):
    """update() or delete() found no live key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionMismatch(StoreError):
    """Compare-and-swap failed: the key was modified at `actual`, not at `expected`."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"key {key!r}: expected mod_revision {expected}, but it is at {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StoreError):
    """The requested revision is below the compacted revision; its history is gone."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(
            f"revision {requested} has been compacted (compacted revision is {compacted})"
        )
        self.requested = requested
        self.compacted = compacted


class FutureRevision(StoreError):
    """The requested revision is above the head revision of the log."""

    def __init__(self, requested: int, head: int) -> None:
        super().__init__(f"revision {requested} is in the future (head revision is {head})")
        self.requested = requested
        self.head = head


class StoreClosed(StoreError):
    """The log was used after it was closed."""

    def __init__(self) -> None:
        super().__init__("the event log is closed")


class InvalidArgument(StoreError):
    """A bad key, value, revision or URL, or a file that is not a cpemu log."""
