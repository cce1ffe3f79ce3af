"""`cpemu [--state PATH] [-n NS] [--profile FILE] VERB ...`: kubectl's verbs on one SQLite
state file.

Verbs: `apply -f`, `create -f`, `get`, `delete -f | KIND NAME...` here; `scale`, `set image`,
`patch` in `cp.cli.edit`; `replace -f` and `edit` in `cp.cli.replace`; `describe` in
`cp.cli.describe`; `explain` in `cp.cli.explain`; `host` in `cp.cli.host`; `rollout
status|history|undo|pause|resume|restart` in `cp.cli.rollout`; the read-only replay verbs
`events`, `diff`, `why`, `timeline` and `rollout history --all` in `cp.cli.replay`; `replay
[--verify]` in `cp.cli.verify`; `demo` in `cp.cli.demo` (each subparser sets its `handler`).

The runner (`_Run`) is what the verb modules see (`cp.cli.common.Runner`): `mutate()` opens the
plane for a mutating verb — lock, command record in the log (`cp.cli.record`), crash recovery,
the user's writes, then a settle on the virtual clock (`--no-wait` skips it) with progress and
warnings (`cp.cli.settling`); `read(at)` is a read-only view (no lock, no write, no
controllers). `_ReplayRun` is the same runner fed from a command record, for `replay --verify`.
Output and errors are kubectl's: results on stdout, errors on stderr (`Error from server
(NotFound): ...`, `error: ...`) with exit code 1.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import anyio
import msgspec
import yaml
from msgspec.structs import replace

import store
from cp.api.codec import ManifestError, dump_json, dump_yaml
from cp.api.errors import ApiError, NotFound
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct
from cp.cli import demo, describe, edit, explain, host, replay, rollout, verify
from cp.cli import replace as replace_verbs
from cp.cli.common import CliError, Runner, kind_info
from cp.cli.manifests import Document, add_filename_argument, load, read_files
from cp.cli.printers import as_list, group_kind, names, no_resources, table
from cp.cli.record import CommandRecord, Inputs, read_record, write_record
from cp.cli.state import DEFAULT_STATE, ReadView, StateFile, StateInUse, last_event_time
from cp.client.causality import acting_as

if TYPE_CHECKING:  # the plane and its controllers load only when a verb runs them
    from cp.cli.settling import Outcome
    from cp.plane import ControlPlane

__all__ = ["CliError", "main"]

#: How far `settle` may run the virtual clock after a mutating verb.
SETTLE_SECONDS: Final = 3600.0
#: How long (wall seconds) a settle may take before the command stops waiting.
SETTLE_WALL_SECONDS: Final = 300.0
_OUTPUTS: Final = ("wide", "json", "yaml", "name")
_JSON: Final = msgspec.json.Encoder()


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

    for verb, text in (
        ("apply", "create or update objects from manifests (client-side apply)"),
        ("create", "create objects from manifests"),
    ):
        sub = verbs.add_parser(verb, parents=[common], help=text, description=text)
        add_filename_argument(sub)
        sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")

    get = verbs.add_parser("get", parents=[common], help="list objects (read-only)")
    get.add_argument("kinds", nargs="?", metavar="KIND[,KIND...]", help="kinds, or KIND/NAME")
    get.add_argument("names", nargs="*", metavar="NAME")
    get.add_argument("-o", "--output", choices=_OUTPUTS, default=None)
    get.add_argument("-l", "--selector", default=None, help="label selector")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("--at", type=int, default=None, metavar="REV", help="read at revision REV")

    delete = verbs.add_parser("delete", parents=[common], help="delete objects")
    delete.add_argument("args", nargs="*", metavar="KIND NAME")
    add_filename_argument(delete, required=False)
    delete.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
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


def _ref(info: KindInfo, name: str) -> str:
    """`deployment.apps/web`, as kubectl names an object in its output."""
    return f"{group_kind(info.api_version, info.kind)}/{name}"


def _namespace_of(info: KindInfo, document_namespace: str) -> str | None:
    return (document_namespace or "default") if info.namespaced else None


# -- verbs ------------------------------------------------------------------------------------


class _Run:
    """One invocation: parsed arguments, the state file, the exit status so far, and what the
    command read from outside the cluster (recorded in the log by `mutate`)."""

    def __init__(self, args: argparse.Namespace, argv: Sequence[str] = ()) -> None:
        self.args = args
        self.argv = tuple(argv)
        self.state = StateFile(args.state)
        self.namespace: str | None = args.namespace
        self.failed = False
        self._files: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self._edits: list[str] = []

    def out(self, text: str) -> None:
        sys.stdout.write(text)

    def error(self, message: str) -> None:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        self.failed = True

    def note(self, message: str) -> None:
        """A line on stderr that is not an error (progress, warnings)."""
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def server_error(self, exc: ApiError, action: str = "") -> None:
        where = f"{action}: " if action else ""
        self.error(f"Error from server ({exc.reason}): {where}{exc.message}")

    # inputs ------------------------------------------------------------------------------------

    def documents(self, paths: Sequence[str]) -> list[Document]:
        return load(paths, self.namespace, read=self._read_files)

    def _read_files(self, path: str) -> list[tuple[str, str]]:
        pairs = read_files(path)
        self._files.append((path, tuple(pairs)))
        return pairs

    def edit_text(self, text: str, *, suffix: str = ".yaml") -> str:
        from cp.cli.editor import run_editor  # the editor is rare: imported when used

        edited = run_editor(text, suffix=suffix)
        self._edits.append(edited)
        return edited

    def _inputs(self) -> Inputs:
        return Inputs(files=tuple(self._files), edits=tuple(self._edits))

    # state -------------------------------------------------------------------------------------

    def _lock(self) -> None:
        self.state.acquire(create=True)

    def _open_log(self) -> AbstractAsyncContextManager[store.EventLog]:
        return store.open_log(f"{self.state.url}?durability=deferred")

    def _profile(self, previous: CommandRecord | None) -> str | None:
        """The simulation profile's text: `--profile FILE`, else the one the last command used."""
        path = self.args.profile
        if path is None:
            return previous.profile if previous is not None else None
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f'error reading the profile "{path}": {exc}') from None

    @asynccontextmanager
    async def mutate(
        self, *, catch_up: bool = True, report: bool = True
    ) -> AsyncIterator[ControlPlane]:
        self._lock()
        async with self._open_log() as log:
            last = await read_record(log)
            previous, previous_revision = last if last is not None else (None, None)
            profile = self._profile(previous)
            record = CommandRecord(argv=self.argv, inputs=self._inputs(), profile=profile)
            now = await last_event_time(log)
            start = await write_record(log, record, time=now, expected=previous_revision)
            from cp.plane import ControlPlane  # heavy: only mutating verbs load it

            async with ControlPlane.on_log(log, clock="virtual", profile=profile) as plane:
                if previous is not None and not previous.done:
                    self.note(
                        f"cpemu: the previous command ({previous.command_line}) was "
                        "interrupted; letting the controllers finish what it started"
                    )
                    await self._settle(plane, report=False)
                elif previous is not None and not previous.settled and catch_up:
                    # after --no-wait: the cluster catches up first
                    await self._settle(plane, report=False)
                settled = False
                try:
                    with acting_as("user", cause=start):
                        yield plane
                    if not self.args.no_wait:
                        await self._settle(plane, report=report)
                        settled = True
                except Exception:  # the command ended (in error): done; a crash leaves it open
                    await self._done(plane, record, start, settled)
                    raise
                await self._done(plane, record, start, settled)

    async def _done(
        self, plane: ControlPlane, record: CommandRecord, start: int, settled: bool
    ) -> None:
        record = replace(record, inputs=self._inputs(), done=True, settled=settled)
        await write_record(plane.log, record, time=plane.clock.now(), expected=start)

    @asynccontextmanager
    async def read(self, at: int | None = None) -> AsyncIterator[ReadView]:
        # read-only: no lock, a snapshot even while another process writes
        async with self.state.reader(at) as view:
            last = await read_record(view.server.log) if at is None else None
            if last is not None and not last[0].done:
                command = last[0].command_line
                if self.state.busy():
                    self.note(
                        f"note: {command} is running on this state file; this is the cluster "
                        f"as of revision {view.server.log.revision}"
                    )
                else:
                    self.note(
                        f"warning: the last command ({command}) was interrupted; this is the "
                        "cluster as it left it (the next command that changes the cluster "
                        "lets the controllers finish first)"
                    )
            yield view

    async def settle(self, plane: ControlPlane) -> None:
        """Settle now (verbs that wait in the middle, such as `rollout status`)."""
        await self._settle(plane)

    async def _settle(self, plane: ControlPlane, *, report: bool = True) -> Outcome:
        """Settle, then warn on stderr if the cluster did not converge or holds objects short
        of their spec (unless `report` is False: the command's own settle will)."""
        from cp.cli import settling  # loads the controllers

        outcome = await settling.settle(
            plane,
            max_seconds=SETTLE_SECONDS,
            wall_seconds=self.args.settle_timeout,
            progress=self._progress,
        )
        if not report:
            return outcome
        stuck = settling.stuck_objects(plane)
        if outcome.timed_out:
            head = (
                f"warning: stopped settling after {self.args.settle_timeout:g}s of wall time "
                f"({outcome.events:,} events, virtual time +{outcome.seconds:,.0f}s)"
            )
        elif not outcome.converged:
            head = (
                f"warning: the cluster did not settle within {SETTLE_SECONDS:.0f}s of virtual time"
            )
        elif stuck:
            head = "warning: the cluster settled with objects short of their spec"
        else:
            return outcome
        if stuck:
            self.note(f"{head}:\n{settling.stuck_report(stuck).rstrip()}")
        else:
            self.note(head)
        return outcome

    def _progress(self, line: str) -> None:
        self.note(f"cpemu: {line}")

    # apply / create ------------------------------------------------------------------------

    async def apply(self) -> None:
        documents = self.documents(self.args.filename)
        async with self.mutate() as plane:
            for doc in documents:
                await self._apply_one(plane, doc)

    async def _apply_one(self, plane: ControlPlane, doc: Document) -> None:
        name = doc.meta.name
        namespace = _namespace_of(doc.info, doc.meta.namespace)
        try:
            before = await plane.client.get(doc.info.kind, name, namespace=namespace)
        except NotFound:
            before = None
        except ApiError as exc:
            self.server_error(exc, f'error when retrieving current configuration of "{name}"')
            return
        action = "creating" if before is None else "patching"
        try:
            (after,) = await plane.apply(_JSON.encode(doc.raw).decode())
        except ManifestError as exc:
            self.error(f"error: {exc}")
            return
        except ApiError as exc:
            self.server_error(exc, f'error when {action} "{doc.source}"')
            return
        if before is None:
            outcome = "created"
        elif _rv(after) == _rv(before):
            outcome = "unchanged"
        else:
            outcome = "configured"
        self.out(f"{_ref(doc.info, name)} {outcome}\n")

    async def create(self) -> None:
        documents = self.documents(self.args.filename)
        async with self.mutate() as plane:
            for doc in documents:
                try:
                    await plane.client.create(doc.obj)
                except ApiError as exc:
                    self.server_error(exc, f'error when creating "{doc.source}"')
                    continue
                self.out(f"{_ref(doc.info, doc.meta.name)} created\n")

    # delete --------------------------------------------------------------------------------

    async def delete(self) -> None:
        targets: list[tuple[KindInfo, str, str | None]] = []
        if self.args.filename:
            if self.args.args:
                raise CliError("when paths are specified, no other arguments are allowed")
            for doc in self.documents(self.args.filename):
                namespace = _namespace_of(doc.info, doc.meta.namespace)
                targets.append((doc.info, doc.meta.name, namespace))
        else:
            for info, name in _targets(self.args.args, verb="delete"):
                targets.append((info, name, self.namespace))
        async with self.mutate() as plane:
            for info, name, namespace in targets:
                try:
                    await plane.client.delete(info.kind, name, namespace=namespace)
                except ApiError as exc:
                    self.server_error(exc)
                    continue
                self.out(f'{group_kind(info.api_version, info.kind)} "{name}" deleted\n')

    # get -----------------------------------------------------------------------------------

    async def get(self) -> None:
        args = self.args
        if not args.kinds:
            raise CliError("you must specify the type of resource to get")
        if "/" in args.kinds:
            pairs = _targets([args.kinds, *args.names], verb="get")
            requests = [(info, [name]) for info, name in pairs]
        else:
            requests = [(_kind(kind), list(args.names)) for kind in args.kinds.split(",") if kind]
            if not requests:
                raise CliError("you must specify the type of resource to get")
        namespace = None if args.all_namespaces else (self.namespace or "default")
        async with self.read(args.at) as view:
            found: list[tuple[KindInfo, list[ApiStruct]]] = []
            revision = 0
            for info, wanted in requests:
                objects: list[ApiStruct] = []
                if wanted:
                    for name in wanted:
                        try:
                            objects.append(
                                await view.server.get(info.kind, name, namespace, at=view.at)
                            )
                        except ApiError as exc:
                            self.server_error(exc)
                else:
                    items, revision = await view.server.list(
                        info.kind, namespace, label_selector=args.selector, at=view.at
                    )
                    objects.extend(items)
                found.append((info, objects))
            revision = view.at if view.at is not None else max(revision, view.server.log.revision)
            self._print(found, requests, view.now, revision, namespace)

    def _print(
        self,
        found: list[tuple[KindInfo, list[ApiStruct]]],
        requests: Sequence[tuple[KindInfo, list[str]]],
        now: float,
        revision: int,
        namespace: str | None,
    ) -> None:
        output = self.args.output
        everything = [obj for _, objects in found for obj in objects]
        named = all(wanted for _, wanted in requests)
        if output in ("json", "yaml"):
            if named and len(requests) == 1 and len(requests[0][1]) == 1:
                if everything:
                    obj = everything[0]
                    self.out(dump_json(obj) + "\n" if output == "json" else dump_yaml(obj))
                return
            listing = as_list(everything, str(revision))
            if output == "json":
                self.out(msgspec.json.format(_JSON.encode(listing), indent=4).decode() + "\n")
            else:
                self.out(yaml.safe_dump(listing, sort_keys=False, width=1 << 20))
            return
        if output == "name":
            self.out(names(everything))
        else:
            tables = []
            several = len(found) > 1
            for info, objects in found:
                text = table(
                    info.kind,
                    objects,
                    now=now,
                    wide=output == "wide",
                    all_namespaces=self.args.all_namespaces,
                    with_kind=several,
                )
                if text:
                    tables.append(text)
            self.out("\n".join(tables))
        if not everything and not named:
            scoped = any(info.namespaced for info, _ in found)
            sys.stderr.write(no_resources(namespace if scoped else None) + "\n")


def _rv(obj: ApiStruct) -> str:
    rv: str = obj.metadata.resource_version  # type: ignore[attr-defined]
    return rv


def _kind(name: str) -> KindInfo:
    return kind_info(name)


def _targets(words: Sequence[str], *, verb: str) -> list[tuple[KindInfo, str]]:
    """`KIND NAME...` or `KIND/NAME...` as (kind, name) pairs."""
    if not words:
        raise CliError(f"you must specify the type of resource to {verb}")
    if "/" in words[0]:
        pairs = []
        for word in words:
            kind, slash, name = word.partition("/")
            if not slash or not name:
                raise CliError(
                    "there is no need to specify a resource type as a separate argument when "
                    "passing arguments in resource/name form"
                )
            pairs.append((_kind(kind), name))
        return pairs
    kinds = [_kind(kind) for kind in words[0].split(",") if kind]
    if len(words) == 1:
        raise CliError(f"resource(s) were provided, but no name was specified ({verb} needs one)")
    return [(info, name) for info in kinds for name in words[1:]]


# -- entry point ------------------------------------------------------------------------------


def _handler(run: _Run) -> Callable[[], Coroutine[Any, Any, None]]:
    """The coroutine function that runs the verb `run.args` names."""
    handler: Callable[[Runner], Coroutine[Any, Any, None]] | None = getattr(
        run.args, "handler", None
    )
    if handler is not None:
        return partial(handler, run)
    verbs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "apply": run.apply,
        "create": run.create,
        "get": run.get,
        "delete": run.delete,
    }
    return verbs[run.args.verb]


class _ReplayRun(_Run):
    """A recorded command run again on `log` (a memory log shared by the whole replay): the
    inputs come from the record, output is kept (not printed), no lock is taken."""

    def __init__(self, record: CommandRecord, log: store.EventLog) -> None:
        super().__init__(_parser().parse_args(list(record.argv)), record.argv)
        self._record = record
        self._log = log
        self._recorded_files = list(record.inputs.files)
        self._recorded_edits = list(record.inputs.edits)
        self.output = io.StringIO()

    def out(self, text: str) -> None:
        self.output.write(text)

    def error(self, message: str) -> None:
        self.output.write(message if message.endswith("\n") else message + "\n")
        self.failed = True

    def note(self, message: str) -> None:
        self.output.write(message + "\n")

    def _lock(self) -> None:
        pass

    @asynccontextmanager
    async def _borrowed(self) -> AsyncIterator[store.EventLog]:
        yield self._log  # the replay owns the log: a command never closes it

    def _open_log(self) -> AbstractAsyncContextManager[store.EventLog]:
        return self._borrowed()

    def _profile(self, previous: CommandRecord | None) -> str | None:
        return self._record.profile

    def _read_files(self, path: str) -> list[tuple[str, str]]:
        for i, (recorded, pairs) in enumerate(self._recorded_files):
            if recorded == path:
                del self._recorded_files[i]
                self._files.append((path, pairs))
                return list(pairs)
        raise CliError(f'the record holds no input read from "{path}"')

    def edit_text(self, text: str, *, suffix: str = ".yaml") -> str:
        if not self._recorded_edits:
            raise CliError("the record holds no further edit")
        edited = self._recorded_edits.pop(0)
        self._edits.append(edited)
        return edited

    def _progress(self, line: str) -> None:
        pass


async def rerun(record: CommandRecord, log: store.EventLog) -> tuple[bool, str]:
    """Run the recorded command again on `log`: (whether it reported an error, its output)."""
    run = _ReplayRun(record, log)
    try:
        await _handler(run)()
    except BaseException as exc:
        if not _report(run, exc):
            raise
    return run.failed, run.output.getvalue()


def _report(run: _Run, exc: BaseException) -> bool:
    """Print a command's error as kubectl would; False when it is not one (a bug: re-raise).
    An error raised inside the running plane arrives wrapped in its task groups' exception
    groups: a group of one is unwrapped."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, CliError | StateInUse | ManifestError):
        run.error(f"error: {exc}")
    elif isinstance(exc, ApiError):
        run.server_error(exc)
    elif isinstance(exc, store.StoreError):
        run.error(f"error: {run.state.path}: {exc}")
    else:
        return False
    return True


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
    run = _Run(args, _recorded_argv(argv if argv is not None else sys.argv[1:]))
    try:
        with run.state:
            anyio.run(_handler(run))
    except Exception as exc:
        if not _report(run, exc):
            raise
    return 1 if run.failed else 0
