"""Who is writing, and why: the `actor` and `cause` every write records in the event log.

The carrier of DESIGN.md's causality chain, informer -> work queue -> reconcile -> write:
an informer hands each key to the work queue with the revision of the event that queued it;
the worker runs the reconcile inside `acting_as("controller/deployment", cause=revision)`; every
`Client` write made in that context (and in tasks started from it, which copy the context) is
stored with that actor and cause. Outside any `acting_as`, writes are the user's with cause 0.

    with acting_as("controller/replicaset", cause=event.revision):
        await reconciler.reconcile(key)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

__all__ = ["ACTOR", "CAUSE", "DEFAULT_ACTOR", "acting_as", "current_actor", "current_cause"]

#: The actor of writes made outside any `acting_as`.
DEFAULT_ACTOR: Final = "user"

#: The current writer (`user`, `controller/deployment`, `kubelet/node-2`, ...).
ACTOR: Final[ContextVar[str]] = ContextVar("actor", default=DEFAULT_ACTOR)
#: The revision of the event that triggered the current work (0 for none).
CAUSE: Final[ContextVar[int]] = ContextVar("cause", default=0)


def current_actor() -> str:
    return ACTOR.get()


def current_cause() -> int:
    return CAUSE.get()


@contextmanager
def acting_as(actor: str, cause: int = 0) -> Iterator[None]:
    """Attribute the writes of the block to `actor`, caused by the event at revision `cause`.

    Nests: the previous actor and cause come back when the block exits.
    """
    if not isinstance(actor, str) or not actor:
        raise ValueError(f"actor must be a non-empty string, got {actor!r}")
    if not isinstance(cause, int) or isinstance(cause, bool) or cause < 0:
        raise ValueError(f"cause must be a revision (an int >= 0), got {cause!r}")
    actor_token = ACTOR.set(actor)
    cause_token = CAUSE.set(cause)
    try:
        yield
    finally:
        CAUSE.reset(cause_token)
        ACTOR.reset(actor_token)
