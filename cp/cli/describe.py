"""`cpemu describe`: kubectl's `describe` verb, read-only.

    cpemu describe deploy myapp-deploy          # KIND NAME...
    cpemu describe deployment/myapp-deploy      # KIND/NAME...
    cpemu describe pods -l app=myapp-deploy     # every object of the kind (-l, -A)
    cpemu describe deploy myapp-deploy --at 40  # the object as it was at revision 40

Follows kubectl 1.32 `staging/src/k8s.io/kubectl/pkg/cmd/describe/describe.go` (`Run`): the
objects are described in order and joined by `"\\n\\n"`; when more than one object is
described, or any lookup failed, the Events sections are left out unless `--show-events`
says otherwise; `KIND NAME` with no object of that name describes every object whose name
starts with NAME (`DescribeMatchingResources`), each followed by a newline; no object at all
prints `No resources found in NS namespace.` on stderr. Lookup errors are kubectl's
(`Error from server (NotFound): deployments.apps "x" not found`, exit 1), printed after what
was found. The text of each kind is built in `cp.cli.describers*` from the object and the
related objects read here (Events, and the Pods, ReplicaSets or Endpoints a describer shows),
all at the same revision (`--at`). A Service whose selector matches no pod gets a warning on
stderr: `Warning: no pods match the selector of service "NAME" (SELECTOR)`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cp.api.apps import ReplicaSet
from cp.api.core import Endpoints, Event, Service
from cp.api.core_pod import Pod
from cp.api.errors import ApiError, NotFound
from cp.api.kinds import KindInfo
from cp.api.meta import ApiStruct, ObjectMeta
from cp.api.selectors import Selector
from cp.cli.common import CliError, Runner, kind_info
from cp.cli.describers import Describer, Related, describe_generic, matching_events
from cp.cli.describers_apps import (
    describe_daemon_set,
    describe_deployment,
    describe_replica_set,
    describe_stateful_set,
)
from cp.cli.describers_core import (
    describe_config_map,
    describe_endpoints,
    describe_namespace,
    describe_node,
    describe_persistent_volume,
    describe_persistent_volume_claim,
    describe_service,
    describe_storage_class,
)
from cp.cli.describers_pod import describe_pod
from cp.cli.printers_common import format_labels
from cp.cli.state import ReadView

__all__ = ["DESCRIBERS", "add_parsers", "describe"]

#: The describer of each kind (`describerMap`); other kinds get `describe_generic`.
DESCRIBERS: Final[Mapping[str, Describer]] = {
    "ConfigMap": describe_config_map,
    "DaemonSet": describe_daemon_set,
    "Deployment": describe_deployment,
    "Endpoints": describe_endpoints,
    "Namespace": describe_namespace,
    "Node": describe_node,
    "PersistentVolume": describe_persistent_volume,
    "PersistentVolumeClaim": describe_persistent_volume_claim,
    "Pod": describe_pod,
    "ReplicaSet": describe_replica_set,
    "Service": describe_service,
    "StatefulSet": describe_stateful_set,
    "StorageClass": describe_storage_class,
}
#: Kinds whose description counts or lists the namespace's pods (all pods for a Node).
_NEEDS_PODS: Final = frozenset(
    {"DaemonSet", "Node", "PersistentVolumeClaim", "ReplicaSet", "Service", "StatefulSet"}
)
#: Kinds kubectl describes without Events (`describeNamespace`).
_NO_EVENTS: Final = frozenset({"Namespace"})

_NO_TYPE: Final = (
    "You must specify the type of resource to describe. "
    'Use "kubectl api-resources" for a complete list of supported resources.'
)


def _bool(text: str) -> bool:
    """A Go boolean flag value (`--show-events=false`)."""
    lowered = text.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(
        f'invalid argument "{text}": strconv.ParseBool: invalid syntax'
    )


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    sub = verbs.add_parser(
        "describe",
        parents=[common],
        help="show details of objects (read-only)",
        description="Show details of objects, as kubectl describe: KIND NAME..., "
        "KIND/NAME..., or KIND alone (with -l, -A).",
    )
    sub.add_argument("target", nargs="*", metavar="KIND [NAME...] | KIND/NAME...")
    sub.add_argument("-l", "--selector", default=None, help="label selector")
    sub.add_argument("-A", "--all-namespaces", action="store_true")
    sub.add_argument("--at", type=int, default=None, metavar="REV", help="read at revision REV")
    sub.add_argument(
        "--show-events",
        type=_bool,
        nargs="?",
        const=True,
        default=None,
        metavar="BOOL",
        help="show the Events section (default: only when describing one object)",
    )
    sub.set_defaults(handler=describe)


@dataclass(frozen=True, slots=True)
class _Request:
    """One kind to describe: named objects, or every object (`names` empty)."""

    info: KindInfo
    names: tuple[str, ...] = ()


def _requests(words: Sequence[str], selector: str | None) -> list[_Request]:
    """kubectl's `ResourceTypeOrNameArgs`: `KIND[,KIND] [NAME...]` or `KIND/NAME...`."""
    if not words:
        raise CliError(_NO_TYPE)
    if "/" in words[0]:
        requests = []
        for word in words:
            kind, slash, name = word.partition("/")
            if not slash or not name:
                raise CliError(
                    "there is no need to specify a resource type as a separate argument when "
                    "passing arguments in resource/name form (e.g. 'kubectl describe "
                    "resource/<resource_name>' instead of 'kubectl describe resource "
                    "resource/<resource_name>'"
                )
            requests.append(_Request(kind_info(kind), (name,)))
        return requests
    kinds = [kind_info(kind) for kind in words[0].split(",") if kind]
    if not kinds:
        raise CliError(_NO_TYPE)
    names = tuple(words[1:])
    if names and selector:
        raise CliError("name cannot be provided when a selector is specified")
    return [_Request(info, names) for info in kinds]


@dataclass
class _Reader:
    """Reads through one view, caching the per-namespace lists describers share."""

    view: ReadView
    lists: dict[tuple[str, str | None], tuple[ApiStruct, ...]] = field(default_factory=dict)

    async def list(self, kind: str, namespace: str | None) -> tuple[ApiStruct, ...]:
        key = (kind, namespace)
        if key not in self.lists:
            objects, _ = await self.view.server.list(kind, namespace, at=self.view.at)
            self.lists[key] = objects
        return self.lists[key]

    async def related(self, obj: ApiStruct, *, events: bool) -> Related:
        kind: str = obj.kind  # type: ignore[attr-defined]
        meta: ObjectMeta = obj.metadata  # type: ignore[attr-defined]
        namespace = meta.namespace or None
        found: list[Event] | None = None
        if events and kind not in _NO_EVENTS:
            listed = await self.list("Event", namespace)
            found = matching_events(obj, [e for e in listed if isinstance(e, Event)])
        pods: tuple[Pod, ...] = ()
        if kind in _NEEDS_PODS:
            listed = await self.list("Pod", namespace)
            pods = tuple(p for p in listed if isinstance(p, Pod))
        replica_sets: tuple[ReplicaSet, ...] = ()
        if kind == "Deployment":
            listed = await self.list("ReplicaSet", namespace)
            replica_sets = tuple(rs for rs in listed if isinstance(rs, ReplicaSet))
        endpoints: Endpoints | None = None
        if kind == "Service":
            try:
                got = await self.view.server.get("Endpoints", meta.name, namespace, at=self.view.at)
            except NotFound:
                got = None
            endpoints = got if isinstance(got, Endpoints) else None
        return Related(
            now=self.view.now,
            events=found,
            pods=pods,
            replica_sets=replica_sets,
            endpoints=endpoints,
        )


def _unselected(svc: Service, pods: Sequence[Pod]) -> str | None:
    """The warning for a Service whose selector matches no running (non-terminating) pod."""
    if not svc.spec.selector:
        return None
    match = Selector.from_set(svc.spec.selector)
    for pod in pods:
        if pod.metadata.deletion_timestamp is None and match.matches(pod.metadata.labels):
            return None
    return (
        f'Warning: no pods match the selector of service "{svc.metadata.name}" '
        f"({format_labels(svc.spec.selector)})"
    )


async def _find(
    run: Runner, reader: _Reader, requests: Sequence[_Request], namespace: str | None
) -> tuple[list[ApiStruct], list[ApiError]]:
    objects: list[ApiStruct] = []
    errors: list[ApiError] = []
    for request in requests:
        scope = namespace if request.info.namespaced else None
        if not request.names:
            listed, _ = await reader.view.server.list(
                request.info.kind, scope, label_selector=run.args.selector, at=reader.view.at
            )
            objects.extend(listed)
            continue
        for name in request.names:
            try:
                objects.append(
                    await reader.view.server.get(request.info.kind, name, scope, at=reader.view.at)
                )
            except ApiError as exc:
                errors.append(exc)
    return objects, errors


async def _text(reader: _Reader, obj: ApiStruct, *, events: bool) -> str:
    kind: str = obj.kind  # type: ignore[attr-defined]
    related = await reader.related(obj, events=events)
    text = DESCRIBERS.get(kind, describe_generic)(obj, related)
    if isinstance(obj, Service):
        warning = _unselected(obj, related.pods)
        if warning:
            sys.stderr.write(warning + "\n")
    return text


async def describe(run: Runner) -> None:
    """The `describe` verb (see the module doc)."""
    args = run.args
    requests = _requests(args.target, args.selector)
    namespace = None if args.all_namespaces else (run.namespace or "default")
    async with run.read(at=args.at) as view:
        reader = _Reader(view)
        objects, errors = await _find(run, reader, requests, namespace)
        show = args.show_events
        if show is None:
            show = not errors and len(objects) <= 1
        if (
            len(args.target) == 2
            and "/" not in args.target[0]
            and len(requests) == 1
            and errors
            and isinstance(errors[0], NotFound)
        ):
            await _describe_matching(run, reader, requests[0], namespace, errors[0], show)
            return
        texts = [await _text(reader, obj, events=show) for obj in objects]
    run.out("\n\n".join(texts))
    for error in errors:
        run.server_error(error)
    if not objects and not errors:
        where = "" if args.all_namespaces else f" in {run.namespace or 'default'} namespace"
        sys.stderr.write(f"No resources found{where}.\n" if where else "No resources found\n")


async def _describe_matching(
    run: Runner,
    reader: _Reader,
    request: _Request,
    namespace: str | None,
    error: ApiError,
    show: bool,
) -> None:
    """`DescribeMatchingResources`: every object whose name starts with the missing name."""
    scope = namespace if request.info.namespaced else None
    listed, _ = await reader.view.server.list(request.info.kind, scope, at=reader.view.at)
    prefix = request.names[0]
    matches = [obj for obj in listed if obj.metadata.name.startswith(prefix)]  # type: ignore[attr-defined]
    if not matches:
        run.server_error(error)
        return
    for obj in matches:
        run.out(await _text(reader, obj, events=show) + "\n")
