"""Helpers shared by the kubectl table printers (`cp.cli.printers`): ages, labels, tabwriter.

Everything here is a pure function of its arguments; `now` is seconds since the Unix epoch from
the caller's (virtual) clock, never the wall clock.

Sources (kubernetes 1.32): `apimachinery/pkg/util/duration/duration.go` (`HumanDuration`),
`pkg/printers/internalversion/printers.go` (`translateTimestampSince`, `layoutContainerCells`),
`apimachinery/pkg/labels` (`FormatLabels`), `metav1.FormatLabelSelector`, and kubectl's
tabwriter settings (`cli-runtime/pkg/printers/tabwriter.go`: minwidth 6, padding 3, spaces).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cp.api.core_pod import Container
from cp.api.meta import LabelSelector
from cp.api.quantity import Quantity, QuantityError
from cp.api.selectors import Selector, SelectorError
from cp.api.times import parse_rfc3339

__all__ = [
    "Column",
    "KindPrinter",
    "age",
    "format_age",
    "format_label_selector",
    "format_labels",
    "group_kind",
    "layout_containers",
    "quantity",
    "selector_string",
    "tabulate",
]

#: kubectl's tabwriter (`GetNewTabWriter`): minwidth 6, tabwidth 4, padding 3, pad char ' '.
_MIN_WIDTH = 6
_PADDING = 3

_MINUTE = 60
_HOUR = 60 * _MINUTE


def format_age(seconds: float) -> str:
    """apimachinery's `duration.HumanDuration`: `0s`, `59s`, `2m5s`, `10m`, `3h20m`, `2d3h`...

    ~2-3 significant figures. A duration below -1 s is `<invalid>` (clock skew tolerance:
    -1 s still prints `0s`).
    """
    whole = math.trunc(seconds)  # Go: int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes = whole // _MINUTE
    if minutes < 10:
        rest = whole % _MINUTE
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // _HOUR
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None, now: float) -> str:
    """`translateTimestampSince`: `<unknown>` for an unset timestamp, else its human age."""
    if not timestamp:
        return "<unknown>"
    return format_age(now - parse_rfc3339(timestamp))


def group_kind(api_version: str, kind: str) -> str:
    """`strings.ToLower(schema.GroupKind.String())`: `deployment.apps`, `pod`,
    `storageclass.storage.k8s.io`."""
    group = api_version.rpartition("/")[0]
    return f"{kind}.{group}".lower() if group else kind.lower()


def format_labels(labels: Mapping[str, str]) -> str:
    """`labels.FormatLabels`: `k=v` pairs sorted by key, comma-joined; `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def selector_string(selector: LabelSelector | None) -> str:
    """`metav1.LabelSelectorAsSelector(s).String()`; `<invalid>` if it does not convert (as
    `printDeployment` prints it). An empty or nil selector prints as the empty string."""
    try:
        return str(Selector.from_label_selector(selector))
    except SelectorError:
        return "<invalid>"


def format_label_selector(selector: LabelSelector | None) -> str:
    """`metav1.FormatLabelSelector`: like `selector_string`, but `<none>` when empty and
    `<error>` when the selector does not convert."""
    try:
        text = str(Selector.from_label_selector(selector))
    except SelectorError:
        return "<error>"
    return text or "<none>"


def layout_containers(containers: Sequence[Container]) -> tuple[str, str]:
    """`layoutContainerCells`: container names and images, each comma-joined."""
    return ",".join(c.name for c in containers), ",".join(c.image for c in containers)


def quantity(text: str | None) -> str:
    """`resource.Quantity.String()` of a wire quantity (`"0"` when unset, as Go's zero value)."""
    if not text:
        return "0"
    try:
        return str(Quantity.parse(text))
    except QuantityError:
        return text


def tabulate(lines: Iterable[Sequence[str]]) -> str:
    """Align tab-separated cells as kubectl's tabwriter does: every cell but a line's last is
    padded to its column's width (the widest cell plus 3, at least 6); the last cell is never
    padded. Each line ends with a newline."""
    rows = [tuple(line) for line in lines]
    widths: list[int] = []
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            width = max(_MIN_WIDTH, len(cell) + _PADDING)
            if index == len(widths):
                widths.append(width)
            elif width > widths[index]:
                widths[index] = width
    out: list[str] = []
    for row in rows:
        cells = [cell.ljust(widths[index]) for index, cell in enumerate(row[:-1])]
        if row:
            cells.append(row[-1])
        out.append("".join(cells) + "\n")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Column:
    """A Table column definition: its name as the server sends it (kubectl upper-cases it),
    `wide` for priority 1 (shown with `-o wide` only), `is_name` for `format: name`."""

    name: str
    wide: bool = False
    is_name: bool = False


@dataclass(frozen=True, slots=True)
class KindPrinter:
    """The Table a kind prints as: column definitions and the row (all cells, wide included,
    as the apiserver computes them) of one object at time `now`."""

    columns: tuple[Column, ...]
    row: Callable[[Any, float], Sequence[str]]
