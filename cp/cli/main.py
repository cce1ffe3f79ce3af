"""`cpemu [--state PATH] [-n NS] [--profile FILE] VERB ...`: kubectl's verbs on one SQLite
state file. This module builds the parser and runs the verb; `main` is the console script.

Verbs: `apply -f`, `create -f`, `get`, `delete` in `cp.cli.objects`; `scale`, `set image`,
`patch` in `cp.cli.edit`; `replace -f` and `edit` in `cp.cli.replace`; `describe` in
`cp.cli.describe`; `explain` in `cp.cli.explain`; `host` in `cp.cli.host`; `rollout
status|history|undo|pause|resume|restart` in `cp.cli.rollout`; the read-only replay verbs
`events`, `diff`, `why`, `timeline` and `rollout history --all` in `cp.cli.replay`; `replay
[--verify]` in `cp.cli.verify`; `demo` in `cp.cli.demo` (each subparser sets its `handler`,
which gets the runner of `cp.cli.runner`). Output and errors are kubectl's: results on stdout,
errors on stderr (`Error from server (NotFound): ...`, `error: ...`) with exit code 1.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any, Final, NoReturn

import anyio

import store
from cp.cli import demo, describe, edit, explain, host, objects, replay, rollout, verify
from cp.cli import replace as replace_verbs
from cp.cli.common import CliError, Runner
from cp.cli.record import CommandRecord
from cp.cli.runner import SETTLE_WALL_SECONDS, ReplayRun, Run, report_error
from cp.cli.state import DEFAULT_STATE

__all__ = ["CliError", "main"]


# -- arguments --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors in kubectl's words (`error: unknown command "x" for "cpemu"`), exit 1, with
    kubectl's `Did you mean this?` suggestions for a mistyped command."""

    def error(self, message: str) -> NoReturn:
        match = re.match(r"argument \w+: invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            word = match.group(1)
            choices = re.findall(r"'([^']*)'", match.group(2))
            message = f'unknown command "{word}" for "{self.prog}"' + suggest(word, choices)
        sys.stderr.write(f"error: {message}\nSee '{self.prog} --help' for usage.\n")
        raise SystemExit(1)


def suggest(word: str, choices: Sequence[str]) -> str:
    """kubectl's `\n\nDid you mean this?\n\t<choice>` for the choices close to `word` (the
    only choice when there is one: `set deployment` -> `set image`), or ""."""
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    close += [c for c in choices if c.startswith(word) and word and c not in close]
    if not close and len(choices) == 1:
        close = list(choices)
    if not close:
        return ""
    return "\n\nDid you mean this?\n" + "".join(f"\t{c}\n" for c in close).rstrip("\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cpemu",
        description="An event-sourced emulator of the Kubernetes control plane: kubectl's verbs "
        "on one SQLite state file.",
    )
    parser.add_argument(
        "--state",
        default=DEFAULT_STATE,
        help=f"SQLite state file of the emulated cluster (default: {DEFAULT_STATE})",
    )
    parser.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="the kubelet simulation profile (YAML); the state file keeps the last one given",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=SETTLE_WALL_SECONDS,
        metavar="SECONDS",
        help="stop settling after this much wall time (default: %(default)g)",
    )
    # `-n` is accepted after the verb too, as kubectl does; SUPPRESS keeps the global value.
    common = _Parser(add_help=False)
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    objects.add_parsers(verbs, common)
    edit.add_parsers(verbs, common)
    rollout.add_parser(verbs, common)
    replay.add_parsers(verbs, common)
    verify.add_parsers(verbs, common)
    describe.add_parsers(verbs, common)
    demo.add_parsers(verbs, common)
    host.add_parsers(verbs, common)
    replace_verbs.add_parsers(verbs, common)
    explain.add_parsers(verbs, common)
    return parser


# -- entry point ------------------------------------------------------------------------------


def _handler(run: Run) -> Callable[[], Coroutine[Any, Any, None]]:
    """The coroutine function that runs the verb `run.args` names (its subparser's handler)."""
    handler: Callable[[Runner], Coroutine[Any, Any, None]] = run.args.handler
    return partial(handler, run)


async def rerun(record: CommandRecord, log: store.EventLog) -> tuple[bool, str]:
    """Run the recorded command again on `log`: (whether it reported an error, its output)."""
    run = ReplayRun(_parser().parse_args(list(record.argv)), record, log)
    try:
        await _handler(run)()
    except BaseException as exc:
        if not report_error(run, exc):
            raise
    return run.failed, run.output.getvalue()


#: Global options left out of the command record: where the state is, how long to wait.
_UNRECORDED: Final = ("--state", "--profile", "--settle-timeout")


def _recorded_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """`argv` without the options that name the state file or wall-time limits (the profile's
    text is recorded on its own)."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _UNRECORDED:
            skip = True
        elif not word.startswith(tuple(f"{option}=" for option in _UNRECORDED)):
            kept.append(word)
    return tuple(kept)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cpemu` console script; returns the process exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 1
    if args.verb is None:
        parser.print_help(sys.stdout)
        return 0
    run = Run(args, _recorded_argv(argv if argv is not None else sys.argv[1:]))
    try:
        with run.state:
            anyio.run(_handler(run))
    except Exception as exc:
        if not report_error(run, exc):
            raise
    return 1 if run.failed else 0
