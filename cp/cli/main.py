"""`cpemu [--state PATH] [-n NS] VERB ...`: kubectl's verbs on one SQLite state file.

Verbs: `apply -f`, `create -f`, `get`, `delete -f | KIND NAME...` here; `scale`, `set image`,
`patch` in `cp.cli.edit`; `rollout status|history|undo|pause|resume|restart` in
`cp.cli.rollout`; the read-only replay verbs `events`, `diff`, `why`, `timeline` and `rollout
history --all` in `cp.cli.replay` (each subparser sets its `handler`). Mutating verbs
write, then settle the plane on the virtual clock (`--no-wait` skips that); `get` reads through
the store and an `ApiServer` without controllers and writes nothing. Output and errors are
kubectl's: results on stdout, errors on stderr (`Error from server (NotFound): ...`,
`error: ...`) with exit code 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Final, NoReturn

import anyio
import msgspec
import yaml
from msgspec.structs import replace

import store
from cp.api.codec import CODEC, ManifestError, dump_json, dump_yaml
from cp.api.errors import ApiError, NotFound
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.cli import edit, replay, rollout
from cp.cli.common import CliError, Runner
from cp.cli.printers import as_list, group_kind, names, no_resources, table
from cp.cli.state import DEFAULT_STATE, StateFile, StateInUse
from cp.client.causality import acting_as
from cp.plane import ControlPlane

__all__ = ["CliError", "main"]

#: How far `settle` may run the virtual clock after a mutating verb.
SETTLE_SECONDS: Final = 3600.0
_MANIFEST_SUFFIXES: Final = (".yaml", ".yml", ".json")
_OUTPUTS: Final = ("wide", "json", "yaml", "name")
_JSON: Final = msgspec.json.Encoder()


# -- arguments --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors in kubectl's words (`error: unknown command "x" for "cpemu"`), exit 1."""

    def error(self, message: str) -> NoReturn:
        match = re.match(r"argument VERB: invalid choice: '([^']*)'", message)
        if match:
            message = f'unknown command "{match.group(1)}" for "cpemu"'
        sys.stderr.write(f"error: {message}\nSee '{self.prog} --help' for usage.\n")
        raise SystemExit(1)


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
    # `-n` is accepted after the verb too, as kubectl does; SUPPRESS keeps the global value.
    common = _Parser(add_help=False)
    common.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="namespace")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    for verb, text in (
        ("apply", "create or update objects from manifests (client-side apply)"),
        ("create", "create objects from manifests"),
    ):
        sub = verbs.add_parser(verb, parents=[common], help=text, description=text)
        sub.add_argument(
            "-f",
            "--filename",
            action="append",
            required=True,
            metavar="PATH",
            help="a manifest file, a folder of *.yaml/*.yml/*.json, or - for stdin",
        )
        sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")

    get = verbs.add_parser("get", parents=[common], help="list objects (read-only)")
    get.add_argument("kinds", nargs="?", metavar="KIND[,KIND...]", help="kinds, or KIND/NAME")
    get.add_argument("names", nargs="*", metavar="NAME")
    get.add_argument("-o", "--output", choices=_OUTPUTS, default=None)
    get.add_argument("-l", "--selector", default=None, help="label selector")
    get.add_argument("-A", "--all-namespaces", action="store_true")

    delete = verbs.add_parser("delete", parents=[common], help="delete objects")
    delete.add_argument("args", nargs="*", metavar="KIND NAME")
    delete.add_argument("-f", "--filename", action="append", default=None, metavar="PATH")
    delete.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    edit.add_parsers(verbs, common)
    rollout.add_parser(verbs, common)
    replay.add_parsers(verbs, common)
    return parser


# -- manifests --------------------------------------------------------------------------------


def _manifest_files(path: str) -> Iterator[tuple[str, str]]:
    """(source name, text) of each manifest `-f PATH` names."""
    if path == "-":
        yield "STDIN", sys.stdin.read()
        return
    target = Path(path)
    if target.is_dir():
        files = sorted(p for p in target.iterdir() if p.suffix in _MANIFEST_SUFFIXES)
        if not files:
            raise CliError(f'error reading "{path}": no manifest files (*.yaml, *.yml, *.json)')
    elif target.exists():
        files = [target]
    else:
        raise CliError(f'the path "{path}" does not exist')
    for file in files:
        try:
            yield str(file) if target.is_dir() else path, file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f'error reading "{file}": {exc}') from None


class _Document(msgspec.Struct, frozen=True):
    source: str
    info: KindInfo
    obj: ApiStruct
    raw: dict[str, Any]

    @property
    def meta(self) -> ObjectMeta:
        meta: ObjectMeta = self.obj.metadata  # type: ignore[attr-defined]
        return meta


def _load(paths: Sequence[str], namespace: str | None) -> list[_Document]:
    """Every object of every manifest, with `-n` filled in; all of them or an error (a refused
    input writes nothing)."""
    documents = []
    for path in paths:
        for source, text in _manifest_files(path):
            for obj, raw in CODEC.load_documents(text, source=source):
                info = KINDS.for_api_version(obj.api_version, obj.kind)  # type: ignore[attr-defined]
                assert info is not None  # load_documents only decodes known kinds
                meta: ObjectMeta = obj.metadata  # type: ignore[attr-defined]
                if info.namespaced and namespace is not None:
                    if meta.namespace and meta.namespace != namespace:
                        raise CliError(
                            f'the namespace from the provided object "{meta.namespace}" does '
                            f'not match the namespace "{namespace}". You must pass '
                            f"'--namespace={meta.namespace}' to perform this operation."
                        )
                    if not meta.namespace:
                        obj = replace(obj, metadata=replace(meta, namespace=namespace))
                        metadata = dict(raw.get("metadata") or {})
                        metadata["namespace"] = namespace
                        raw = {**raw, "metadata": metadata}
                documents.append(_Document(source, info, obj, raw))
    return documents


def _ref(info: KindInfo, name: str) -> str:
    """`deployment.apps/web`, as kubectl names an object in its output."""
    return f"{group_kind(info.api_version, info.kind)}/{name}"


def _namespace_of(info: KindInfo, document_namespace: str) -> str | None:
    return (document_namespace or "default") if info.namespaced else None


# -- verbs ------------------------------------------------------------------------------------


class _Run:
    """One invocation: parsed arguments, the state file, the exit status so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state = StateFile(args.state)
        self.namespace: str | None = args.namespace
        self.failed = False

    def out(self, text: str) -> None:
        sys.stdout.write(text)

    def error(self, message: str) -> None:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        self.failed = True

    def server_error(self, exc: ApiError, action: str = "") -> None:
        where = f"{action}: " if action else ""
        self.error(f"Error from server ({exc.reason}): {where}{exc.message}")

    async def settle(self, plane: ControlPlane) -> None:
        if self.args.no_wait:
            await plane.log.flush()
            return
        report = await plane.settle(max_seconds=SETTLE_SECONDS)
        if not report.converged:
            sys.stderr.write(
                f"warning: the cluster did not settle within {SETTLE_SECONDS:.0f}s "
                "of virtual time\n"
            )

    # apply / create ------------------------------------------------------------------------

    async def apply(self) -> None:
        documents = _load(self.args.filename, self.namespace)
        self.state.acquire(create=True)
        async with self.state.plane() as plane:
            with acting_as("user"):
                for doc in documents:
                    await self._apply_one(plane, doc)
            await self.settle(plane)

    async def _apply_one(self, plane: ControlPlane, doc: _Document) -> None:
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
        documents = _load(self.args.filename, self.namespace)
        self.state.acquire(create=True)
        async with self.state.plane() as plane:
            with acting_as("user"):
                for doc in documents:
                    try:
                        await plane.client.create(doc.obj)
                    except ApiError as exc:
                        self.server_error(exc, f'error when creating "{doc.source}"')
                        continue
                    self.out(f"{_ref(doc.info, doc.meta.name)} created\n")
            await self.settle(plane)

    # delete --------------------------------------------------------------------------------

    async def delete(self) -> None:
        targets: list[tuple[KindInfo, str, str | None]] = []
        if self.args.filename:
            if self.args.args:
                raise CliError("when paths are specified, no other arguments are allowed")
            for doc in _load(self.args.filename, self.namespace):
                namespace = _namespace_of(doc.info, doc.meta.namespace)
                targets.append((doc.info, doc.meta.name, namespace))
        else:
            for info, name in _targets(self.args.args, verb="delete"):
                targets.append((info, name, self.namespace))
        self.state.acquire(create=True)
        async with self.state.plane() as plane:
            with acting_as("user"):
                for info, name, namespace in targets:
                    try:
                        await plane.client.delete(info.kind, name, namespace=namespace)
                    except ApiError as exc:
                        self.server_error(exc)
                        continue
                    self.out(f'{group_kind(info.api_version, info.kind)} "{name}" deleted\n')
            await self.settle(plane)

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
        self.state.acquire(create=False)
        async with self.state.reader() as view:
            found: list[tuple[KindInfo, list[ApiStruct]]] = []
            revision = 0
            for info, wanted in requests:
                objects: list[ApiStruct] = []
                if wanted:
                    for name in wanted:
                        try:
                            objects.append(await view.server.get(info.kind, name, namespace))
                        except ApiError as exc:
                            self.server_error(exc)
                else:
                    items, revision = await view.server.list(
                        info.kind, namespace, label_selector=args.selector
                    )
                    objects.extend(items)
                found.append((info, objects))
            revision = max(revision, view.server.log.revision)
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
    info = KINDS.lookup(name)
    if info is None:
        raise CliError(f'the server doesn\'t have a resource type "{name}"')
    return info


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
    run = _Run(args)
    handler: Callable[[Runner], Coroutine[Any, Any, None]] | None = getattr(args, "handler", None)
    verbs: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "apply": run.apply,
        "create": run.create,
        "get": run.get,
        "delete": run.delete,
    }
    try:
        with run.state:
            anyio.run(partial(handler, run) if handler else verbs[args.verb])
    except (CliError, StateInUse, ManifestError) as exc:
        run.error(f"error: {exc}")
    except ApiError as exc:
        run.server_error(exc)
    except store.StoreError as exc:
        run.error(f"error: {run.state.path}: {exc}")
    return 1 if run.failed else 0
