"""The controller worker loop: N workers take keys from a `WorkQueue[Request]` and reconcile.

The retry policy lives here and only here; it follows controller-runtime's
`pkg/internal/controller/controller.go` (`Controller.reconcileHandler`):

- the reconcile raised `TerminalError`: `forget` the key (reset its backoff), log
  `reconcile_terminal_error`, do not requeue. (Upstream does not `Forget` here; we do, so a
  later event for the key starts from the base backoff.)
- it raised any other `Exception`: `add_rate_limited` (per-key exponential backoff, 5 ms,
  10 ms, 20 ms ... 1000 s with the default limiter), log `reconcile_error`.
- it returned `Result(requeue_after=s)` with `s` not None: `forget`, then `add_after(s)`.
  (Upstream treats `RequeueAfter == 0` as "no requeue"; here `0` means "again at once",
  since "no requeue" is spelled `None`.)
- it returned `Result()`: `forget`.
- always: `done` (in a `finally`), so a key re-added while it was processing is queued again.

Each reconcile runs with structlog contextvars `controller`, `key`, `cause` and
`reconcile_id` bound once structlog is configured (ids from the injected `SeededIds`, never
uuid4; unconfigured, nothing is logged and nothing is bound), and with
`reconcile_actor` / `reconcile_cause` set (`cp.runtime.reconcile`). `duration_ms` is measured
on the injected `Clock` (so it is virtual time under a `VirtualClock`).

Causality: `enqueue(req, cause=rev)` remembers the highest cause per key until a worker picks
the key up; that reconcile sees it as `current_cause()`. When the key is retried (error or
`requeue_after`) its cause is kept for the retry, merged with any cause enqueued meanwhile.
A key added straight to the queue (`queue.add`) has the cause of its previous reconcile (0 for
a key never reconciled): so does a retry whose remembered cause a newer reconcile consumed.

Lifecycle (STYLE.md item 9): `async with controller:` starts the workers in a task group it
owns and, on exit, shuts the queue down with drain (keys being reconciled finish, queued keys
are dropped) and waits for every worker. `await controller.run()` runs the workers in the
caller's task until the queue is shut down (`await controller.stop()`); `Manager` uses that.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from types import TracebackType

import anyio
import structlog
from anyio.abc import TaskGroup

from cp.clock.clock import Clock
from cp.runtime.ids import SeededIds
from cp.runtime.logging import (
    CONTROLLER_STARTED,
    CONTROLLER_STOPPED,
    RECONCILE_DONE,
    RECONCILE_ERROR,
    RECONCILE_REQUEUE,
    RECONCILE_TERMINAL_ERROR,
    EventLogger,
    QuietLogger,
)
from cp.runtime.reconcile import (
    Reconciler,
    Request,
    Result,
    TerminalError,
    reconcile_actor,
    reconcile_cause,
)
from cp.workqueue.queue import WorkQueue

__all__ = ["Controller", "ControllerError"]

_NO_CONTEXT: AbstractContextManager[object] = nullcontext()


class ControllerError(Exception):
    """The controller was misused: bad worker count, or entered twice."""


class Controller:
    """Runs `workers` concurrent reconcile loops of `reconciler` over `queue`."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        queue: WorkQueue[Request],
        *,
        clock: Clock,
        ids: SeededIds,
        workers: int = 1,
        log: EventLogger | None = None,
    ) -> None:
        if workers < 1:
            raise ControllerError(f"controller {name!r}: workers must be >= 1, not {workers}")
        self.name = name
        self._reconciler = reconciler
        self._queue = queue
        self._clock = clock
        self._ids = ids
        self._workers = workers
        self._log: EventLogger = log if log is not None else QuietLogger("cp.runtime.controller")
        self._causes: dict[Request, int] = {}
        self._last_causes: dict[Request, int] = {}  # the cause of each key's latest reconcile
        self._task_group: TaskGroup | None = None

    @property
    def actor(self) -> str:
        """The actor recorded on this controller's writes: `"controller/<name>"`."""
        return f"controller/{self.name}"

    @property
    def queue(self) -> WorkQueue[Request]:
        return self._queue

    @property
    def workers(self) -> int:
        return self._workers

    def enqueue(self, req: Request, cause: int = 0) -> None:
        """Queue `req`, remembering `cause` (the trigger revision) if it is the highest yet."""
        if self._queue.shutting_down:
            return
        self._remember(req, cause)
        self._queue.add(req)

    def pending_cause(self, req: Request) -> int:
        """The cause the next reconcile of `req` will see (0 if none is remembered)."""
        return self._causes.get(req, 0)

    async def run(self) -> None:
        """Run the workers until the queue is shut down and every worker has finished."""
        self._log.info(CONTROLLER_STARTED, controller=self.name, workers=self._workers)
        try:
            async with anyio.create_task_group() as tg:
                for i in range(self._workers):
                    tg.start_soon(self._worker, name=f"{self.actor}/worker-{i}")
        finally:
            self._log.info(CONTROLLER_STOPPED, controller=self.name)

    async def stop(self) -> None:
        """Shut the queue down and wait until the keys being reconciled are done."""
        await self._queue.shut_down_with_drain()

    async def __aenter__(self) -> Controller:
        if self._task_group is not None:
            raise ControllerError(f"controller {self.name!r} is already running")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        tg.start_soon(self.run, name=self.actor)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg, self._task_group = self._task_group, None
        if tg is None:
            raise ControllerError(f"controller {self.name!r} is not running")
        self._queue.shut_down()  # at once, even if the drain below is cancelled
        tg.start_soon(self.stop, name=f"{self.actor}/stop")
        return await tg.__aexit__(exc_type, exc, tb)

    async def _worker(self) -> None:
        async for req in self._queue:
            try:
                await self._reconcile_handler(req)
            finally:
                self._queue.done(req)

    async def _reconcile_handler(self, req: Request) -> None:
        """One reconcile of `req` and the retry decision (upstream `reconcileHandler`)."""
        # A key re-added by a timer after a newer reconcile already took its remembered cause
        # (a backoff retry, a requeue_after) runs with the last cause seen for it, never 0.
        cause = self._causes.pop(req, None)
        if cause is None:
            cause = self._last_causes.get(req, 0)
        self._last_causes[req] = cause
        start = self._clock.now()
        actor_token = reconcile_actor.set(self.actor)
        cause_token = reconcile_cause.set(cause)
        try:
            with self._log_context(req, cause):
                try:
                    result = await self._reconciler.reconcile(req)
                except TerminalError as err:
                    self._queue.forget(req)
                    self._log.error(RECONCILE_TERMINAL_ERROR, error=repr(err), **self._took(start))
                except Exception as err:
                    self._remember(req, cause)
                    self._queue.add_rate_limited(req)
                    self._log.error(
                        RECONCILE_ERROR,
                        error=repr(err),
                        requeues=self._queue.num_requeues(req),
                        **self._took(start),
                    )
                else:
                    self._handle_result(req, result, cause, start)
        finally:
            reconcile_cause.reset(cause_token)
            reconcile_actor.reset(actor_token)

    def _log_context(self, req: Request, cause: int) -> AbstractContextManager[object]:
        """The structlog contextvars of one reconcile; nothing while structlog is not
        configured (nothing would be logged: binding them cost ~3 us a reconcile)."""
        if not structlog.is_configured():
            return _NO_CONTEXT
        return structlog.contextvars.bound_contextvars(
            controller=self.name,
            key=str(req),
            cause=cause,
            reconcile_id=self._ids.reconcile_id(),
        )

    def _handle_result(self, req: Request, result: Result, cause: int, start: float) -> None:
        self._queue.forget(req)
        if result.requeue_after is None:
            self._log.debug(RECONCILE_DONE, **self._took(start))
            return
        self._remember(req, cause)
        self._queue.add_after(req, result.requeue_after)
        self._log.debug(RECONCILE_REQUEUE, requeue_after=result.requeue_after, **self._took(start))

    def _remember(self, req: Request, cause: int) -> None:
        if cause > self._causes.get(req, 0):
            self._causes[req] = cause

    def _took(self, start: float) -> dict[str, float]:
        return {"duration_ms": (self._clock.now() - start) * 1000.0}
