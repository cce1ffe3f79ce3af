"""What the `cpemu` verb modules share: the client-side error, the runner they are handed,
and kubectl's way of naming kinds and objects."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

from cp.api.errors import ApiError
from cp.api.kinds import KINDS, KindInfo
from cp.cli.errors import CliError
from cp.cli.printers import group_kind
from cp.cli.state import ReadView, StateFile

if TYPE_CHECKING:
    from cp.cli.manifests import Document
    from cp.plane import ControlPlane

__all__ = ["CliError", "Runner", "kind_info", "ref", "split_target"]


class Runner(Protocol):
    """One invocation as the verb modules see it (`cp.cli.runner.Run`)."""

    args: argparse.Namespace
    state: StateFile
    namespace: str | None
    failed: bool  # an error was reported: the command exits 1

    def out(self, text: str) -> None: ...

    def error(self, message: str) -> None: ...

    def server_error(self, exc: ApiError, action: str = "") -> None: ...

    async def settle(self, plane: ControlPlane) -> None: ...

    def mutate(
        self, *, catch_up: bool = True, report: bool = True
    ) -> AbstractAsyncContextManager[ControlPlane]:
        """The running plane for a mutating verb: takes the state file's lock (creating the
        file), records the command in the log (for `replay --verify` and crash recovery),
        finishes an interrupted earlier command first, attributes the block's writes to the
        user, and on a normal exit settles (`--no-wait` skips that) and marks the command
        done. After a `--no-wait` command the cluster first catches up (settles) unless
        `catch_up=False` (`rollout status`, which waits on its own); `report=False` leaves out
        the warning about objects short of their spec after the settle. Verbs never open the
        plane, take the lock or call `acting_as` themselves."""
        ...

    def read(self, at: int | None = None) -> AbstractAsyncContextManager[ReadView]:
        """A read-only view of the state at revision `at` (the head when None); writes
        nothing, opens no controller."""
        ...

    def documents(self, paths: Sequence[str]) -> list[Document]:
        """Every object of the manifests `-f PATH...` names (file, folder, `-`), with `-n`
        applied; all or a `CliError`/`ManifestError` (recorded for `replay --verify`)."""
        ...

    def edit_text(self, text: str, *, suffix: str = ".yaml") -> str:
        """`text` as the user left it in $KUBE_EDITOR / $EDITOR, in a temporary file named
        with `suffix` (recorded for replay)."""
        ...


def kind_info(name: str) -> KindInfo:
    info = KINDS.lookup(name)
    if info is None:
        raise CliError(unknown_kind(name))
    return info


def unknown_kind(name: str) -> str:
    """kubectl's error for a kind it does not know, with the kinds whose names are close."""
    names = {
        n: info.kind for info in KINDS for n in (info.singular, info.plural, *info.short_names)
    }
    close: list[str] = []
    seen: set[str] = set()
    for match in difflib.get_close_matches(name.lower(), sorted(names), n=6, cutoff=0.75):
        if names[match] not in seen:  # the closest name of each kind
            seen.add(names[match])
            close.append(match)
    hint = "\n\nDid you mean this?\n" + "\n".join(f"\t{c}" for c in close) if close else ""
    return f'the server doesn\'t have a resource type "{name}"{hint}'


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
