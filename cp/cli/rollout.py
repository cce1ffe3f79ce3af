"""`cpemu rollout status|history|undo|pause|resume|restart KIND/NAME` (a Deployment, StatefulSet
or DaemonSet): the parser; the work is in `cp.cli.rollout_actions` (and
`cp.cli.rollout_workloads`), loaded when the verb runs (it needs the controllers)."""

from __future__ import annotations

import argparse
from typing import Any, Final

from cp.cli.common import Runner

__all__ = ["add_parser", "rollout"]

_ACTIONS: Final = ("status", "history", "undo", "pause", "resume", "restart")


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    sub = verbs.add_parser(
        "rollout",
        parents=[common],
        help="manage the rollout of a Deployment, StatefulSet or DaemonSet",
    )
    sub.add_argument("action", choices=_ACTIONS)
    sub.add_argument("target", nargs="+", metavar="KIND/NAME")
    sub.add_argument("--revision", type=int, default=0)
    sub.add_argument("--to-revision", type=int, default=0)
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.add_argument("--all", action="store_true", help="history: every template in the log")
    sub.set_defaults(handler=rollout)


async def rollout(run: Runner) -> None:
    from cp.cli import rollout_actions

    await rollout_actions.rollout(run)
