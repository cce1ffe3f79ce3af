"""What the `cpemu` verb modules share: the client-side error, the runner they are handed,
and kubectl's way of naming kinds and objects."""

from __future__ import annotations

import argparse
from typing import Protocol

from cp.api.errors import ApiError
from cp.api.kinds import KINDS, KindInfo
from cp.cli.printers import group_kind
from cp.cli.state import StateFile
from cp.plane import ControlPlane

__all__ = ["CliError", "Runner", "kind_info", "ref", "split_target"]


class CliError(Exception):
    """A client-side error: printed as `error: <message>`, exit code 1."""


class Runner(Protocol):
    """One invocation as the verb modules see it (`cp.cli.main._Run`)."""

    args: argparse.Namespace
    state: StateFile
    namespace: str | None

    def out(self, text: str) -> None: ...

    def error(self, message: str) -> None: ...

    def server_error(self, exc: ApiError, action: str = "") -> None: ...

    async def settle(self, plane: ControlPlane) -> None: ...


def kind_info(name: str) -> KindInfo:
    info = KINDS.lookup(name)
    if info is None:
        raise CliError(f'the server doesn\'t have a resource type "{name}"')
    return info


def ref(info: KindInfo, name: str) -> str:
    """`deployment.apps/web`, as kubectl names an object in its output."""
    return f"{group_kind(info.api_version, info.kind)}/{name}"


def split_target(words: list[str], verb: str) -> tuple[KindInfo, str]:
    """One object named `KIND/NAME` or `KIND NAME`."""
    if not words:
        raise CliError(f"you must specify the type of resource to {verb}")
    if "/" in words[0]:
        kind, _, name = words[0].partition("/")
        if len(words) > 1:
            raise CliError(
                "there is no need to specify a resource type as a separate argument when "
                "passing arguments in resource/name form"
            )
    elif len(words) == 2:
        kind, name = words
    elif len(words) == 1:
        raise CliError(f"resource(s) were provided, but no name was specified ({verb} needs one)")
    else:
        raise CliError(f"{verb} takes exactly one object")
    if not name:
        raise CliError(f"a resource name is required to {verb}")
    return kind_info(kind), name
