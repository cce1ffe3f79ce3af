"""kubectl's `describe` text for one object: the writer, the shared sections, the dispatch.

    text = describe_object(deployment, Related(now=now, events=events, replica_sets=rss))

Everything here is a pure function of its arguments (the object, the related objects the
caller listed, and the virtual `now` that ages are measured from).

Layout follows kubectl 1.32 `staging/src/k8s.io/kubectl/pkg/describe/describe.go`: every
describer writes lines through a `PrefixWriter` (`Write(level, ...)` indents two spaces per
level) into a Go `text/tabwriter` set up by `tabbedString` (minwidth 0, tabwidth 8, padding 2,
pad with spaces), so a column is as wide as the widest cell of the *contiguous block of lines*
that have a cell in that column (`tabwrite` reproduces Go's block rule exactly: that is why
the Deployment's `OldReplicaSets:` aligns with its Conditions table). Per-kind describers live
in `describers_pod` (Pod, pod templates), `describers_apps` (Deployment, ReplicaSet,
StatefulSet, DaemonSet) and `describers_core` (Service, Endpoints, PVC, PV, Node, ConfigMap,
StorageClass, Namespace); a kind without one gets `describe_generic` (`genericDescriber`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from cp.api.apps import ReplicaSet
from cp.api.core import Endpoints, Event
from cp.api.core_pod import Pod
from cp.api.meta import ApiStruct, ObjectMeta, OwnerReference
from cp.api.times import parse_rfc3339
from cp.cli.printers_common import format_age

__all__ = [
    "LAST_APPLIED",
    "Describer",
    "PrefixWriter",
    "Related",
    "annotations_multiline",
    "controlled_by",
    "controller_of",
    "describe_events",
    "describe_generic",
    "go_list",
    "labels_multiline",
    "matching_events",
    "rfc1123z",
    "since",
    "smart_label",
    "sort_events",
    "tabwrite",
]

#: `corev1.LastAppliedConfigAnnotation`: never shown by `printAnnotationsMultiline`.
LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
#: `maxAnnotationLen` of describe.go.
MAX_ANNOTATION_LEN: Final = 140
#: `tabbedString`: `tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)`.
_MIN_WIDTH: Final = 0
_PADDING: Final = 2

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
#: Go's zero `time.Time` formatted with `time.RFC1123Z` (an unset `metav1.Time`).
_ZERO_TIME: Final = "Mon, 01 Jan 0001 00:00:00 +0000"


# -- Go's text/tabwriter ----------------------------------------------------------------------


def tabwrite(text: str, *, min_width: int = _MIN_WIDTH, padding: int = _PADDING) -> str:
    """Go's `text/tabwriter` with flags 0 and a space pad character, on the whole `text`.

    A cell is text terminated by a tab; the text after a line's last tab is not part of any
    column. Column `c` is aligned over each *block* of consecutive lines that all have a
    tab-terminated cell `c` (Go's `format`): its width is the widest such cell plus `padding`
    (at least `min_width`), computed separately per block, recursively per column. Worked
    example, the end of `kubectl describe deployment`::

        "  Type\\tStatus\\tReason"           one block for column 0: "  Type", "  ----",
        "  ----\\t------\\t------"             "  Available ", "OldReplicaSets:" (15 chars)...
        "  Available \\tTrue\\tMin..."          -> width 15 + 2 = 17 for all of them
        "OldReplicaSets:\\t<none>"
        "NewReplicaSet:\\tweb-5f8c (3/3 replicas created)"
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for index in range(start, end):
            cells = lines[index]
            parts = [
                cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells)
            ]
            out.append("".join(parts))

    def format_block(start: int, end: int) -> None:
        column = len(widths)
        line0 = start
        this = start
        while this < end:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = min_width
            while this < end and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
            this += 1  # Go's `for` increments past the line that ended the block
        write_lines(line0, end)

    format_block(0, len(lines))
    return "\n".join(out)


class PrefixWriter:
    """describe.go's `prefixWriter`: `write(level, text)` prefixes two spaces per level;
    `line(text)` is `WriteLine` (`fmt.Sprintln`, no indentation). `text()` is the tabbed
    result (`tabbedString`)."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self._parts.append("  " * level + text)

    def line(self, text: str = "") -> None:
        self._parts.append(text + "\n")

    def text(self) -> str:
        return tabwrite("".join(self._parts))

    def raw(self) -> str:
        """What was written, tabs untouched (a bare `prefixWriter` over a buffer)."""
        return "".join(self._parts)


# -- values as Go formats them ----------------------------------------------------------------


def rfc1123z(timestamp: str | None) -> str:
    """`t.Format(time.RFC1123Z)` in UTC (`Mon, 02 Jan 2006 15:04:05 +0000`); Go's zero time
    for an unset timestamp."""
    if not timestamp:
        return _ZERO_TIME
    parts = time.gmtime(int(parse_rfc3339(timestamp)))
    return (
        f"{_DAYS[parts.tm_wday]}, {parts.tm_mday:02d} {_MONTHS[parts.tm_mon - 1]} "
        f"{parts.tm_year:04d} {parts.tm_hour:02d}:{parts.tm_min:02d}:{parts.tm_sec:02d} +0000"
    )


def since(timestamp: str | None, now: float) -> str:
    """`translateTimestampSince`: `<unknown>` when unset, else `duration.HumanDuration`."""
    if not timestamp:
        return "<unknown>"
    return format_age(now - parse_rfc3339(timestamp))


def go_list(values: Iterable[object]) -> str:
    """`fmt.Sprintf("%v", []string{...})`: `[a b]`."""
    return "[" + " ".join(str(value) for value in values) + "]"


# -- shared sections --------------------------------------------------------------------------


def labels_multiline(
    w: PrefixWriter,
    title: str,
    labels: Mapping[str, str],
    *,
    initial_indent: str = "",
    inner_indent: str = "\t",
) -> None:
    """`printLabelsMultilineWithIndent`: `Title:<tab>k=v`, one sorted pair per line."""
    w.write(0, f"{initial_indent}{title}:{inner_indent}")
    if not labels:
        w.line("<none>")
        return
    for index, key in enumerate(sorted(labels)):
        if index:
            w.write(0, initial_indent)
            w.write(0, inner_indent)
        w.write(0, f"{key}={labels[key]}\n")


def _shorten(text: str, limit: int) -> str:
    return text[:limit] + "..." if len(text) > limit else text


def annotations_multiline(w: PrefixWriter, title: str, annotations: Mapping[str, str]) -> None:
    """`printAnnotationsMultiline`: `key: value` sorted, without last-applied-configuration;
    a long or multi-line value goes on indented lines of its own."""
    w.write(0, f"{title}:\t")
    keys = sorted(key for key in annotations if key != LAST_APPLIED)
    if not keys:
        w.line("<none>")
        return
    indent = "\t"
    for index, key in enumerate(keys):
        if index:
            w.write(0, indent)
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.write(0, f"{key}:\n")
            for part in value.split("\n"):
                w.write(0, f"{indent}  {_shorten(part, MAX_ANNOTATION_LEN - 2)}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def name_namespace_labels_annotations(w: PrefixWriter, meta: ObjectMeta) -> None:
    """The four opening lines most of describe.go's describers share."""
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    labels_multiline(w, "Labels", meta.labels)
    annotations_multiline(w, "Annotations", meta.annotations)


def controller_of(meta: ObjectMeta) -> OwnerReference | None:
    """`metav1.GetControllerOf`."""
    for owner in meta.owner_references:
        if owner.controller:
            return owner
    return None


def controlled_by(w: PrefixWriter, meta: ObjectMeta) -> None:
    """`printController`: `Controlled By:  Kind/name` when the object has a controller."""
    owner = controller_of(meta)
    if owner is not None:
        w.write(0, f"Controlled By:\t{owner.kind}/{owner.name}\n")


# -- events -----------------------------------------------------------------------------------


def matching_events(obj: ApiStruct, events: Iterable[Event]) -> list[Event]:
    """The Events about `obj`, as kubectl's `searchEvents` field selector picks them:
    `involvedObject` name and namespace equal, kind equal (not checked for a Pod, whose
    reference kubectl clears), uid equal when both are set."""
    meta: ObjectMeta = obj.metadata  # type: ignore[attr-defined]
    kind: str = obj.kind  # type: ignore[attr-defined]
    found = []
    for event in events:
        ref = event.involved_object
        if ref.name != meta.name or ref.namespace != meta.namespace:
            continue
        if kind != "Pod" and ref.kind != kind:
            continue
        # kubelets report node events with the node's name as its uid (describeNode)
        node_name_uid = kind == "Node" and ref.uid == meta.name
        if ref.uid and meta.uid and ref.uid != meta.uid and not node_name_uid:
            continue
        found.append(event)
    return found


def _event_time(event: Event) -> float:
    """`event.SortableEvents` orders by lastTimestamp, or eventTime when that is unset."""
    stamp = event.last_timestamp or event.event_time
    return parse_rfc3339(stamp) if stamp else float("-inf")


def sort_events(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=_event_time)


def describe_events(w: PrefixWriter, events: Sequence[Event], now: float) -> None:
    """`DescribeEvents`: `Events:  <none>`, or the Type/Reason/Age/From/Message table with
    ages as `2m` or `10s (x3 over 2m)` (count > 1: last seen, count, first seen)."""
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for event in sort_events(events):
        first = since(event.event_time or event.first_timestamp, now)
        if event.count > 1:
            interval = f"{since(event.last_timestamp, now)} (x{event.count} over {first})"
        else:
            interval = first
        source = (event.source.component if event.source else "") or event.reporting_component
        message = event.message.strip()
        if event.involved_object.field_path:
            message = f"{event.involved_object.field_path}: {message}"
        w.write(1, f"{event.type}\t{event.reason}\t{interval}\t{source}\t{message}\n")


# -- generic ----------------------------------------------------------------------------------

_ACRONYMS: Final = ("API", "URL", "UID", "GUID")
_CAMEL: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _camel_split(word: str) -> list[str]:
    """`github.com/fatih/camelcase.Split` for letters and digits: `apiVersion` -> api,
    Version; `PDFLoader` -> PDF, Loader."""
    return _CAMEL.findall(word)


def smart_label(field_name: str) -> str:
    """`smartLabelFor`: `creationTimestamp` -> `Creation Timestamp`, `uid` -> `UID`; a name
    with characters other than letters and `-` is kept as is."""
    if any(not (c.isalpha() or c == "-") for c in field_name):
        return field_name
    words = []
    for part in _camel_split(field_name):
        if part.upper() in _ACRONYMS:
            part = part.upper()
        elif part.lower() == part:
            part = part[:1].upper() + part[1:]
        words.append(part)
    return " ".join(words)


def _scalar(value: object) -> str:
    """Go's `%v` of a decoded JSON scalar."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "<nil>"
    return str(value)


def _unstructured(
    w: PrefixWriter, level: int, content: Mapping[str, Any], prefix: str, skip: frozenset[str]
) -> None:
    """`printUnstructuredContent`: fields sorted; maps and lists nest one level deeper."""
    for key in sorted(content):
        value = content[key]
        path = f"{prefix}.{key}"
        if path in skip:
            continue
        if isinstance(value, Mapping):
            w.write(level, f"{smart_label(key)}:\n")
            _unstructured(w, level + 1, value, path, skip)
        elif isinstance(value, list | tuple):
            w.write(level, f"{smart_label(key)}:\n")
            for child in value:
                if isinstance(child, Mapping):
                    _unstructured(w, level + 1, child, path, skip)
                else:
                    w.write(level + 1, f"{_scalar(child)}\n")
        else:
            w.write(level, f"{smart_label(key)}:\t{_scalar(value)}\n")


_GENERIC_SKIP: Final = frozenset(
    {
        ".metadata.managedFields",
        ".metadata.name",
        ".metadata.namespace",
        ".metadata.labels",
        ".metadata.annotations",
    }
)


def describe_generic(obj: ApiStruct, related: Related) -> str:
    """`genericDescriber`: Name, Namespace, Labels, Annotations, then every other field."""
    meta: ObjectMeta = obj.metadata  # type: ignore[attr-defined]
    w = PrefixWriter()
    name_namespace_labels_annotations(w, meta)
    content = msgspec.to_builtins(obj)
    _unstructured(w, 0, content, "", _GENERIC_SKIP)
    if related.events is not None:
        describe_events(w, related.events, related.now)
    return w.text()


# -- dispatch ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Related:
    """What a describer shows besides the object: the virtual time, the Events about the
    object (None: the Events section is left out, as kubectl does for several objects), and
    the objects of the namespace some describers look at (see `NEEDS`)."""

    now: float
    events: Sequence[Event] | None = None
    pods: Sequence[Pod] = ()
    replica_sets: Sequence[ReplicaSet] = ()
    endpoints: Endpoints | None = None


Describer = Callable[[Any, Related], str]
