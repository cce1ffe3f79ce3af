"""kubectl's output formats as pure functions: the `get` table, `-o name`, `-o json/yaml` lists.

    table("Deployment", deployments, now=clock_now)            # NAME READY UP-TO-DATE ...
    table("pods", pods, now=clock_now, wide=True)              # + IP NODE NOMINATED NODE ...
    table("Pod", pods, now=clock_now, all_namespaces=True)     # NAMESPACE first
    names(objects)                                             # deployment.apps/web\\npod/x\\n
    as_list(objects, resource_version="42")                    # a v1 List, as a dict

The columns and cells are those the apiserver's Table carries (kubernetes 1.32
`pkg/printers/internalversion/printers.go`), laid out as kubectl prints them (`cli-runtime`
`tableprinter.go`: upper-cased headers, priority-1 columns only with `-o wide`, `NAMESPACE`
prepended for `-A` on namespaced kinds, `kind/name` in the name column when several kinds are
printed, aligned by a tabwriter with 3 spaces of padding). Kinds without a printer get the
generic NAME, AGE table. An empty table is the empty string: the caller prints `no_resources`
to stderr, as kubectl does. No I/O here; `now` comes from the caller's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from cp.api.kinds import KINDS
from cp.api.meta import ApiStruct
from cp.cli.printers_apps import APPS_PRINTERS
from cp.cli.printers_common import (
    Column,
    KindPrinter,
    age,
    format_age,
    format_labels,
    group_kind,
    tabulate,
)
from cp.cli.printers_core import CORE_PRINTERS
from cp.cli.printers_pod import POD_PRINTER, pod_status

__all__ = [
    "PRINTERS",
    "as_list",
    "format_age",
    "group_kind",
    "names",
    "no_resources",
    "pod_status",
    "table",
]


def _generic(obj: Any, now: float) -> tuple[str, ...]:
    return (obj.metadata.name, age(obj.metadata.creation_timestamp, now))


_GENERIC = KindPrinter((Column("Name", is_name=True), Column("Age")), _generic)

#: The table of each kind, by Kind name.
PRINTERS: dict[str, KindPrinter] = {**APPS_PRINTERS, **CORE_PRINTERS, "Pod": POD_PRINTER}


def _resolve(kind: str) -> tuple[str, str, bool]:
    """Kind name, api version and whether namespaced, for any name kubectl accepts."""
    info = KINDS.lookup(kind)
    if info is None:
        return kind, "", True
    return info.kind, info.api_version, info.namespaced


def table(
    kind: str,
    objects: Sequence[ApiStruct],
    *,
    now: float,
    wide: bool = False,
    all_namespaces: bool = False,
    with_kind: bool = False,
    show_labels: bool = False,
    no_headers: bool = False,
) -> str:
    """The lines `kubectl get KIND` prints for `objects` (in the given order), each ending in a
    newline; the empty string when there are none.

    `kind` is any name kubectl accepts (`Deployment`, `deploy`, `pods`). `wide` is `-o wide`;
    `all_namespaces` is `-A` (a NAMESPACE column for namespaced kinds); `with_kind` prefixes
    names with `deployment.apps/`, as kubectl does when one `get` prints several kinds.
    `show_labels` adds kubectl's LABELS column (`--show-labels`); `no_headers` leaves the
    header line out (`--no-headers`: the columns are then as wide as the data alone).
    """
    if not objects:
        return ""
    kind_name, api_version, namespaced = _resolve(kind)
    printer = PRINTERS.get(kind_name, _GENERIC)
    shown = [i for i, column in enumerate(printer.columns) if wide or not column.wide]
    name_index = next((i for i, c in enumerate(printer.columns) if c.is_name), None)
    prefix = group_kind(api_version, kind_name) + "/" if with_kind and api_version else ""
    with_namespace = all_namespaces and namespaced

    header = [printer.columns[i].name.upper() for i in shown]
    if with_namespace:
        header.insert(0, "NAMESPACE")
    if show_labels:
        header.append("LABELS")
    lines = [] if no_headers else [header]
    for obj in objects:
        cells = list(printer.row(obj, now))
        if prefix and name_index is not None:
            cells[name_index] = prefix + cells[name_index]
        line = [_cell(cells[i]) for i in shown]
        if with_namespace:
            line.insert(0, obj.metadata.namespace)  # type: ignore[attr-defined]
        if show_labels:
            line.append(format_labels(obj.metadata.labels))  # type: ignore[attr-defined]
        lines.append(line)
    return tabulate(lines)


def _cell(text: str) -> str:
    """kubectl cuts a cell at its first newline, carriage return or form feed, adding `...`."""
    if "\n" not in text and "\r" not in text and "\f" not in text:  # nearly always: fast
        return text
    for index, char in enumerate(text):
        if char in "\n\r\f":
            return text[:index] + "..."
    return text  # pragma: no cover (one of them is in it)


def names(objects: Sequence[ApiStruct]) -> str:
    """`-o name`: one `kind.group/name` line per object (`deployment.apps/web`, `pod/x`)."""
    lines = []
    for obj in objects:
        meta: Any = obj
        name = meta.metadata.name or "<unknown>"
        lines.append(f"{group_kind(meta.api_version, meta.kind)}/{name}\n")
    return "".join(lines)


def as_list(objects: Sequence[ApiStruct], resource_version: str) -> dict[str, Any]:
    """`-o json|yaml` of several objects: a `v1` `List` whose `metadata.resourceVersion` is the
    revision the objects were read at; keys in the order kubectl prints them."""
    return {
        "apiVersion": "v1",
        "items": [msgspec.to_builtins(obj) for obj in objects],
        "kind": "List",
        "metadata": {"resourceVersion": resource_version},
    }


def no_resources(namespace: str | None) -> str:
    """What kubectl writes to stderr when `get` finds nothing: `No resources found in default
    namespace.`, or `No resources found` for `-A` and cluster-scoped kinds (namespace None)."""
    if namespace is None:
        return "No resources found"
    return f"No resources found in {namespace} namespace."
