"""`cpemu apply|create -f`, `get`, `delete -f | KIND NAME...`: the object verbs, with kubectl's
output (`deployment.apps/web created|configured|unchanged`, tables, `-o json|yaml|name`, `"web"
deleted`) and errors. `get` is read-only (`--at REV` reads the past)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec
import yaml

from cp.api.codec import ManifestError, dump_json, dump_yaml
from cp.api.errors import ApiError, NotFound
from cp.api.kinds import KINDS, KindInfo
from cp.api.meta import ApiStruct
from cp.cli.common import CliError, Runner, kind_info
from cp.cli.jsonpath import JsonPathError
from cp.cli.manifests import Document, add_filename_argument
from cp.cli.output_formats import parse_output, render_output
from cp.cli.printers import as_list, group_kind, names, no_resources, table

if TYPE_CHECKING:
    from cp.plane import ControlPlane

__all__ = ["add_parsers", "apply", "create", "delete", "get"]

_OUTPUTS: Final = ("wide", "json", "yaml", "name")
#: kubectl's `all` category, in the order kubectl prints it, as far as cpemu serves the kinds
#: (no ReplicationController, HorizontalPodAutoscaler, Job or CronJob here).
_ALL: Final = tuple(
    info
    for name in ("Pod", "Service", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet")
    if (info := KINDS.lookup(name)) is not None
)
_JSON: Final = msgspec.json.Encoder()


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """`apply`, `create`, `get` and `delete`, each with its `handler`."""
    for verb, text, handler in (
        ("apply", "create or update objects from manifests (client-side apply)", apply),
        ("create", "create objects from manifests", create),
    ):
        sub = verbs.add_parser(verb, parents=[common], help=text, description=text)
        add_filename_argument(sub)
        sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
        sub.set_defaults(handler=handler)

    sub = verbs.add_parser("get", parents=[common], help="list objects (read-only)")
    sub.add_argument("kinds", nargs="?", metavar="KIND[,KIND...]", help="kinds, or KIND/NAME")
    sub.add_argument("names", nargs="*", metavar="NAME")
    sub.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FORMAT",
        help="wide, json, yaml, name, jsonpath=TEMPLATE, custom-columns=SPEC",
    )
    sub.add_argument("-l", "--selector", default=None, help="label selector")
    sub.add_argument("-A", "--all-namespaces", action="store_true")
    sub.add_argument("--at", type=int, default=None, metavar="REV", help="read at revision REV")
    sub.add_argument("--show-labels", action="store_true", help="a LABELS column, as kubectl")
    sub.add_argument("--no-headers", action="store_true", help="no header line, as kubectl")
    sub.set_defaults(handler=get)

    sub = verbs.add_parser("delete", parents=[common], help="delete objects")
    sub.add_argument("args", nargs="*", metavar="KIND NAME")
    add_filename_argument(sub, required=False)
    sub.add_argument("--no-wait", action="store_true", help="do not settle the cluster")
    sub.set_defaults(handler=delete)


def _ref(info: KindInfo, name: str) -> str:
    """`deployment.apps/web`, as kubectl names an object in its output."""
    return f"{group_kind(info.api_version, info.kind)}/{name}"


def _namespace_of(info: KindInfo, document_namespace: str) -> str | None:
    return (document_namespace or "default") if info.namespaced else None


# -- apply / create ----------------------------------------------------------------------------


async def apply(run: Runner) -> None:
    documents = run.documents(run.args.filename)
    async with run.mutate() as plane:
        for doc in documents:
            await _apply_one(run, plane, doc)


async def _apply_one(run: Runner, plane: ControlPlane, doc: Document) -> None:
    name = doc.meta.name
    namespace = _namespace_of(doc.info, doc.meta.namespace)
    try:
        before = await plane.client.get(doc.info.kind, name, namespace=namespace)
    except NotFound:
        before = None
    except ApiError as exc:
        run.server_error(exc, f'error when retrieving current configuration of "{name}"')
        return
    action = "creating" if before is None else "patching"
    try:
        (after,) = await plane.apply(_JSON.encode(doc.raw).decode())
    except ManifestError as exc:
        run.error(f"error: {exc}")
        return
    except ApiError as exc:
        run.server_error(exc, f'error when {action} "{doc.source}"')
        return
    if before is None:
        outcome = "created"
    elif _rv(after) == _rv(before):
        outcome = "unchanged"
    else:
        outcome = "configured"
    run.out(f"{_ref(doc.info, name)} {outcome}\n")


async def create(run: Runner) -> None:
    documents = run.documents(run.args.filename)
    async with run.mutate() as plane:
        for doc in documents:
            try:
                await plane.client.create(doc.obj)
            except ApiError as exc:
                run.server_error(exc, f'error when creating "{doc.source}"')
                continue
            run.out(f"{_ref(doc.info, doc.meta.name)} created\n")


# -- delete ------------------------------------------------------------------------------------


async def delete(run: Runner) -> None:
    targets: list[tuple[KindInfo, str, str | None]] = []
    if run.args.filename:
        if run.args.args:
            raise CliError("when paths are specified, no other arguments are allowed")
        for doc in run.documents(run.args.filename):
            namespace = _namespace_of(doc.info, doc.meta.namespace)
            targets.append((doc.info, doc.meta.name, namespace))
    else:
        for info, name in _targets(run.args.args, verb="delete"):
            targets.append((info, name, run.namespace))
    async with run.mutate() as plane:
        for info, name, namespace in targets:
            try:
                await plane.client.delete(info.kind, name, namespace=namespace)
            except ApiError as exc:
                run.server_error(exc)
                continue
            run.out(f'{group_kind(info.api_version, info.kind)} "{name}" deleted\n')


# -- get ---------------------------------------------------------------------------------------


async def get(run: Runner) -> None:
    args = run.args
    output = args.output
    if output is not None and output not in _OUTPUTS and parse_output(output) is None:
        raise CliError(
            f'unable to match a printer suitable for the output format "{output}", allowed '
            "formats are: custom-columns,json,jsonpath,jsonpath-as-json,name,wide,yaml"
        )
    if not args.kinds:
        raise CliError("you must specify the type of resource to get")
    if "/" in args.kinds:
        pairs = _targets([args.kinds, *args.names], verb="get")
        requests = [(info, [name]) for info, name in pairs]
    else:
        infos: list[KindInfo] = []
        for word in filter(None, args.kinds.split(",")):
            for info in _ALL if word == "all" else (kind_info(word),):
                if info not in infos:
                    infos.append(info)
        requests = [(info, list(args.names)) for info in infos]
        if not requests:
            raise CliError("you must specify the type of resource to get")
    namespace = None if args.all_namespaces else (run.namespace or "default")
    async with run.read(args.at) as view:
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
                        run.server_error(exc)
            else:
                items, revision = await view.server.list(
                    info.kind, namespace, label_selector=args.selector, at=view.at
                )
                objects.extend(items)
            found.append((info, objects))
        revision = view.at if view.at is not None else max(revision, view.server.log.revision)
        _print(run, found, requests, view.now, revision, namespace)


def _print(
    run: Runner,
    found: list[tuple[KindInfo, list[ApiStruct]]],
    requests: Sequence[tuple[KindInfo, list[str]]],
    now: float,
    revision: int,
    namespace: str | None,
) -> None:
    output = run.args.output
    everything = [obj for _, objects in found for obj in objects]
    named = all(wanted for _, wanted in requests)
    if output is not None and parse_output(output) is not None:  # jsonpath, custom-columns
        single = named and len(requests) == 1 and len(requests[0][1]) == 1
        if single and not everything:
            return
        data = msgspec.to_builtins(everything[0]) if single else as_list(everything, str(revision))
        try:
            run.out(render_output(output, data, no_headers=run.args.no_headers))
        except JsonPathError as exc:
            run.error(f"error: {exc}")
        return
    if output in ("json", "yaml"):
        if named and len(requests) == 1 and len(requests[0][1]) == 1:
            if everything:
                obj = everything[0]
                run.out(dump_json(obj) + "\n" if output == "json" else dump_yaml(obj))
            return
        listing = as_list(everything, str(revision))
        if output == "json":
            run.out(msgspec.json.format(_JSON.encode(listing), indent=4).decode() + "\n")
        else:
            run.out(yaml.safe_dump(listing, sort_keys=False, width=1 << 20))
        return
    if output == "name":
        run.out(names(everything))
    else:
        tables = []
        several = len(found) > 1
        for info, objects in found:
            text = table(
                info.kind,
                objects,
                now=now,
                wide=output == "wide",
                all_namespaces=run.args.all_namespaces,
                with_kind=several,
                show_labels=run.args.show_labels,
                no_headers=run.args.no_headers,
            )
            if text:
                tables.append(text)
        run.out("\n".join(tables))
    if not everything and not named:
        scoped = any(info.namespaced for info, _ in found)
        sys.stderr.write(no_resources(namespace if scoped else None) + "\n")


def _rv(obj: ApiStruct) -> str:
    rv: str = obj.metadata.resource_version  # type: ignore[attr-defined]
    return rv


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
            pairs.append((kind_info(kind), name))
        return pairs
    kinds = [kind_info(kind) for kind in words[0].split(",") if kind]
    if len(words) == 1:
        raise CliError(f"resource(s) were provided, but no name was specified ({verb} needs one)")
    return [(info, name) for info in kinds for name in words[1:]]
