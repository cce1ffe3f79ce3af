"""A write on its way through the writer task, and the check that accepts or refuses it.

Pure bookkeeping: no I/O. `accept` is the whole of compare-and-swap: given the key's current
version (from the index, or from an earlier write not yet applied), it returns the event and
the new version, or the typed error the caller gets.
"""

from __future__ import annotations

import asyncio
from typing import Final

from store.errors import KeyExists, KeyNotFound, RevisionMismatch, StoreError
from store.types import MAX_VALUE_BYTES, Event, KeyValue

__all__ = ["CREATE", "DELETE", "UPDATE", "Accepted", "Write", "accept", "plain_write"]

CREATE: Final = 0
UPDATE: Final = 1
DELETE: Final = 2


def plain_write(key: object, value: object, actor: object, cause: object, time: object) -> bool:
    """The common, valid case, checked in one expression; anything else gets the full checks."""
    return (
        type(key) is str
        and key != ""
        and key.isascii()
        and type(value) is bytes
        and len(value) <= MAX_VALUE_BYTES
        and type(actor) is str
        and actor.isascii()
        and type(cause) is int
        and cause >= 0
        and type(time) is float
        and time - time == 0.0  # finite
    )


class Write:
    """A queued request for the writer task."""

    __slots__ = ("actor", "cause", "expected", "future", "key", "op", "time", "value")

    def __init__(
        self,
        op: int,
        key: str,
        value: bytes | None,
        expected: int | None,
        actor: str,
        cause: int,
        time: float,
        future: asyncio.Future[int] | None,
    ) -> None:
        self.op = op
        self.key = key
        self.value = value
        self.expected = expected
        self.actor = actor
        self.cause = cause
        self.time = time
        self.future = future


class Accepted:
    """One validated write of a batch: its event, the new latest version (None for a DELETE)
    and the revision of the key's previous event (None for the first event of a key)."""

    __slots__ = ("event", "kv", "prev_revision")

    def __init__(self, event: Event, kv: KeyValue | None, prev_revision: int | None) -> None:
        self.event = event
        self.kv = kv
        self.prev_revision = prev_revision


def accept(
    write: Write, current: KeyValue | None, last_revision: int | None, revision: int
) -> Accepted | StoreError:
    """Check one write against the key's current version; if it holds, give it `revision`.

    `last_revision` is the revision of the key's newest event (a DELETE for a dead key).
    """
    key = write.key
    op = write.op
    if op == CREATE:
        if current is not None:
            return KeyExists(key, current.mod_revision)
        value = write.value
        assert value is not None
        kv: KeyValue | None = KeyValue(key, value, revision, revision, 1)
        event = Event(revision, "PUT", key, value, None, write.actor, write.cause, write.time)
        return Accepted(event, kv, last_revision)
    if current is None:
        return KeyNotFound(key)
    expected = write.expected
    if expected is not None and expected != current.mod_revision:
        return RevisionMismatch(key, expected, current.mod_revision)
    if op == UPDATE:
        value = write.value
        assert value is not None
        kv = KeyValue(key, value, current.create_revision, revision, current.version + 1)
        prev_value = current.value
        event = Event(revision, "PUT", key, value, prev_value, write.actor, write.cause, write.time)
    else:
        kv = None
        event = Event(
            revision, "DELETE", key, None, current.value, write.actor, write.cause, write.time
        )
    return Accepted(event, kv, last_revision)
