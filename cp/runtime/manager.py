"""The Manager: one task group that runs every controller of a control plane.

    manager = Manager()
    manager.add(deployments)
    manager.add(replicasets)
    async with manager:          # every controller's workers run in the manager's task group
        ...                      # settle, serve, ...
    # on exit: each queue is shut down with drain, then every worker has returned

No fire-and-forget tasks (STYLE.md item 9): everything the manager starts belongs to its task
group and has ended when `async with` returns. A controller added while the manager runs is
started at once, in the same task group.
"""

from __future__ import annotations

from types import TracebackType

import anyio
from anyio.abc import TaskGroup

from cp.runtime.controller import Controller

__all__ = ["Manager", "ManagerError"]


class ManagerError(Exception):
    """The manager was misused: a controller name added twice, or entered twice."""


class Manager:
    """Owns the controllers' lifetimes: `add` them, then `async with manager:`."""

    def __init__(self) -> None:
        self._controllers: dict[str, Controller] = {}
        self._task_group: TaskGroup | None = None

    @property
    def controllers(self) -> tuple[Controller, ...]:
        return tuple(self._controllers.values())

    @property
    def running(self) -> bool:
        return self._task_group is not None

    def add(self, controller: Controller) -> None:
        """Register `controller`; start it now if the manager is running."""
        if controller.name in self._controllers:
            raise ManagerError(f"a controller named {controller.name!r} was already added")
        self._controllers[controller.name] = controller
        if self._task_group is not None:
            self._task_group.start_soon(controller.run, name=controller.actor)

    async def __aenter__(self) -> Manager:
        if self._task_group is not None:
            raise ManagerError("the manager is already running")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        for controller in self._controllers.values():
            tg.start_soon(controller.run, name=controller.actor)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg, self._task_group = self._task_group, None
        if tg is None:
            raise ManagerError("the manager is not running")
        for controller in self._controllers.values():
            controller.queue.shut_down()  # at once, even if the drains below are cancelled
        for controller in self._controllers.values():
            tg.start_soon(controller.stop, name=f"{controller.actor}/stop")
        return await tg.__aexit__(exc_type, exc, tb)
