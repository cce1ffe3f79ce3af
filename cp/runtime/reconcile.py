"""Level-based reconcile: `Request`, `Result`, `TerminalError`, the `Reconciler` protocol, and
the causality context a reconcile runs in (controller-runtime `pkg/reconcile`).

    class Echo:
        async def reconcile(self, req: Request) -> Result:
            ...                                   # read the cache, write through the client
            return Result()                       # or Result(requeue_after=30.0)

Raise any exception to be retried with per-key backoff; raise `TerminalError` to log and stop
retrying (until the key is enqueued again). The retry policy lives in one place:
`cp.runtime.controller.Controller`.

Causality (DESIGN.md, "Causality"): while a reconcile runs, two contextvars say who is acting
and why, so a client can record them on every write without being passed them:

- `reconcile_actor` (`ContextVar[str]`): `"controller/<name>"`; `"user"` outside a reconcile.
- `reconcile_cause` (`ContextVar[int]`): the highest store revision that enqueued the key being
  reconciled (`Controller.enqueue(req, cause=rev)`); `0` outside a reconcile or when the key
  was added without a cause.

Read them with `current_actor()` / `current_cause()`. The controller sets them per reconcile
in the worker's own task context and resets them afterwards; nothing else sets them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

import msgspec

from cp.client.causality import ACTOR, CAUSE, current_actor, current_cause

__all__ = [
    "Reconciler",
    "Request",
    "Result",
    "TerminalError",
    "current_actor",
    "current_cause",
    "reconcile_actor",
    "reconcile_cause",
]

#: Who is writing (`"controller/<name>"` inside a reconcile, `"user"` outside) and the store
#: revision that triggered the reconcile running now (0 when none). These are the very
#: contextvars `cp.client` records with every write, so a reconcile's writes carry them.
reconcile_actor: ContextVar[str] = ACTOR
reconcile_cause: ContextVar[int] = CAUSE


class Request(msgspec.Struct, frozen=True, gc=False):
    """The key of one object to reconcile: namespace and name only (level-based, no event).

    Frozen and hashable, so it is a work-queue key. `str(req)` is `"namespace/name"` (or just
    `"name"` for a cluster-scoped object), the form logged under the `key` field.
    """

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class Result(msgspec.Struct, frozen=True, gc=False):
    """What a successful reconcile asks for next.

    `requeue_after=None`: nothing (the key's backoff is reset). A number: reconcile the key
    again after that many clock seconds (its backoff is reset too); `0` means at once.
    """

    requeue_after: float | None = None


class TerminalError(Exception):
    """A reconcile failure that retrying cannot fix: logged once, never retried.

    The key's backoff is reset; the key is reconciled again only when it is enqueued again
    (a new event for the object). After controller-runtime's `reconcile.TerminalError`.
    """


class Reconciler(Protocol):
    """Brings one object's actual state towards its desired state."""

    async def reconcile(self, req: Request) -> Result: ...
